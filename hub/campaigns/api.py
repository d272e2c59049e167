"""/api/v1/campaigns: create a draft, launch, pause, resume, cancel, and read state and counts."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _

from hub.campaigns import campaigns as svc
from hub.campaigns import campaigns_api_bp as bp
from hub.campaigns import quiet_forecast
from hub.campaigns.launch import start_work
from hub.campaigns.models import CAMPAIGN_STATES, Campaign
from hub.campaigns.quiet_hours import hhmm
from hub.campaigns.staff import ROLES, STAFF, TAG
from hub.core import db
from hub.core.apikit import LIST_QUERY, document, fields_schema, json_body, keyset_page, to_json
from hub.core.auth import require_user, roles_required
from hub.core.clock import business_zone, utcnow
from hub.core.refusals import FieldError, ValidationError

COUNT_NAMES = (
    "planned", "pending", "sending", "sent", "delivered", "opened", "clicked", "replied",
    "failed", "suppressed", "skipped", "cancelled", "quiet_hours",
)
TIME_PROPS = {
    "send_at": {
        "type": ["string", "null"], "format": "date-time",
        "description": "When to start; empty or null: on launch. Without an offset, in HUB_TIMEZONE",
    },
    "quiet_start": {"type": "string", "description": "Recipient-local time quiet hours begin (default 21:00)"},
    "quiet_end": {"type": "string", "description": "Recipient-local time they end (default 08:00); equal to quiet_start: none"},
}
HELD = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "first": {"type": ["string", "null"], "format": "date-time"},
        "last": {"type": ["string", "null"], "format": "date-time"},
        "local_times": {"type": "array", "items": {"type": "string"},
                        "description": "The recipients' wall-clock times then, like 08:00"},
        "first_in_seconds": {"type": ["integer", "null"]},
        "last_in_seconds": {"type": ["integer", "null"]},
    },
}
IN = fields_schema(svc.CAMPAIGN_FIELDS, **TIME_PROPS)
PATCH = {k: v for k, v in IN.items() if k != "required"}
OUT = fields_schema(
    svc.CAMPAIGN_FIELDS,
    output=True,
    id={"type": "integer"},
    state={"type": "string", "enum": list(CAMPAIGN_STATES)},
    counts={
        "type": "object",
        "properties": {n: {"type": "integer"} for n in COUNT_NAMES},
        "description": "quiet_hours: messages that waited for the recipient's quiet hours to end",
    },
    held={
        "type": "object",
        "description": "Pending messages not due yet: quiet_hours (waiting for the recipient's quiet "
        "hours to end) and retry (waiting to be tried again); first/last: when they go out (UTC)",
        "properties": {k: HELD for k in ("quiet_hours", "retry")},
    },
    launched_at={"type": ["string", "null"], "format": "date-time"},
    finished_at={"type": ["string", "null"], "format": "date-time"},
    **TIME_PROPS,
)


def campaign_json(c: Campaign, with_counts: bool = True) -> dict[str, Any]:
    out = {
        "id": c.id,
        **{f.name: getattr(c, f.name) for f in svc.CAMPAIGN_FIELDS},
        "state": c.state,
        "send_at": to_json(c.send_at),
        "quiet_start": hhmm(c.quiet_start),
        "quiet_end": hhmm(c.quiet_end),
        "launched_at": to_json(c.launched_at),
        "finished_at": to_json(c.finished_at),
    }
    if with_counts:
        out["counts"] = svc.counts(db.session(), c.id)
        now = utcnow()
        quiet, retry = quiet_forecast.held(db.session(), c.id, now)
        out["held"] = {"quiet_hours": quiet.as_json(now), "retry": retry.as_json(now)}
    return out


document(
    "get", "/campaigns", "List campaigns", TAG, response=OUT, list_of=True,
    query=(
        ("q", "string", "Search text: the campaign's name"),
        ("state", "string", "Only this state"),
        *LIST_QUERY[1:],
    ),
    roles=ROLES,
)


@bp.get("/campaigns")
@roles_required(*STAFF)
def list_campaigns() -> Response:
    state = request.args.get("state", "").strip() or None
    if state and state not in CAMPAIGN_STATES:
        raise ValidationError(
            [FieldError("state", _("Choose one of: %(choices)s.", choices=", ".join(CAMPAIGN_STATES)))]
        )
    stmt = svc.list_campaigns(request.args.get("q", ""), state)
    return jsonify(
        keyset_page(
            db.session(), stmt, Campaign.id, "campaigns_api.list_campaigns",
            lambda c: campaign_json(c, with_counts=False),
        )
    )


document(
    "post", "/campaigns", "Create a draft campaign (nothing is sent until it is launched)", TAG,
    body=IN, response=OUT, status=201, roles=ROLES,
)


@bp.post("/campaigns")
@roles_required(*STAFF)
def create_campaign() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    campaign = svc.create_campaign(s, require_user(), json_body(), business_zone())
    s.commit()
    location = url_for("campaigns_api.get_campaign", campaign_id=campaign.id)
    return jsonify(campaign_json(campaign)), 201, {"Location": location}


document("get", "/campaigns/{id}", "A campaign with its state and counts", TAG, response=OUT, roles=ROLES)


@bp.get("/campaigns/<int:campaign_id>")
@roles_required(*STAFF)
def get_campaign(campaign_id: int) -> Response:
    return jsonify(campaign_json(svc.load_campaign(db.session(), campaign_id)))


document(
    "patch", "/campaigns/{id}", "Change a draft (a launched campaign takes only a new rate)", TAG,
    body=PATCH, response=OUT, roles=ROLES,
)


@bp.patch("/campaigns/<int:campaign_id>")
@roles_required(*STAFF)
def update_campaign(campaign_id: int) -> Response:
    s = db.session()
    campaign = svc.update_campaign(s, svc.load_campaign(s, campaign_id), json_body(), business_zone())
    s.commit()
    return jsonify(campaign_json(campaign))


def _transition(campaign_id: int, action: str) -> Response:
    s = db.session()
    campaign = svc.load_campaign(s, campaign_id, lock=True)
    start = False
    if action == "launch":
        start = svc.launch(s, campaign)
    elif action == "pause":
        svc.pause(s, campaign)
    elif action == "resume":
        start = svc.resume(s, campaign)
    else:
        svc.cancel(s, campaign)
    s.commit()
    if start:
        start_work(current_app._get_current_object(), campaign.id)  # type: ignore[attr-defined]
    return jsonify(campaign_json(campaign))


for _action, _summary in (
    ("launch", "Launch a draft: it runs now, or is scheduled for its send_at"),
    ("pause", "Pause: send jobs stop within seconds; messages not sent wait"),
    ("resume", "Resume a paused campaign"),
    ("cancel", "Cancel: messages not yet sent are cancelled"),
):
    document("post", f"/campaigns/{{id}}/{_action}", _summary, TAG, response=OUT, roles=ROLES)


@bp.post("/campaigns/<int:campaign_id>/launch")
@roles_required(*STAFF)
def launch_campaign(campaign_id: int) -> Response:
    return _transition(campaign_id, "launch")


@bp.post("/campaigns/<int:campaign_id>/pause")
@roles_required(*STAFF)
def pause_campaign(campaign_id: int) -> Response:
    return _transition(campaign_id, "pause")


@bp.post("/campaigns/<int:campaign_id>/resume")
@roles_required(*STAFF)
def resume_campaign(campaign_id: int) -> Response:
    return _transition(campaign_id, "resume")


@bp.post("/campaigns/<int:campaign_id>/cancel")
@roles_required(*STAFF)
def cancel_campaign(campaign_id: int) -> Response:
    return _transition(campaign_id, "cancel")
