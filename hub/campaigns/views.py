"""Campaign pages: the list, the draft form, and the live progress page with its actions, chart,
not-sent recipients and CSV export."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from hub.campaigns import campaigns as svc
from hub.campaigns import campaigns_bp as bp
from hub.campaigns import progress, progress_chart, quiet_forecast
from hub.campaigns.launch import start_work
from hub.campaigns.models import CAMPAIGN_STATES, Campaign, CampaignState
from hub.campaigns.quiet_hours import hhmm
from hub.campaigns.segments.models import Segment
from hub.campaigns.staff import STAFF
from hub.campaigns.surveys import answers as surveys
from hub.campaigns.templates.models import MessageTemplate
from hub.core import db
from hub.core.auth import require_user, roles_required
from hub.core.clock import business_zone, utcnow
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import Conflict, ValidationError

ACTIONS = ("launch", "pause", "resume", "cancel")
FORM_KEYS = ("name", "channel", "survey", "segment_id", "template_id", "rate", "send_at", "quiet_start", "quiet_end")


@bp.get("/")
@roles_required(*STAFF)
def campaign_list() -> str:
    q = request.args.get("q", "").strip()[:120]
    state = request.args.get("state") if request.args.get("state") in CAMPAIGN_STATES else None
    stmt = svc.list_campaigns(q, state).order_by(Campaign.id.desc())
    return render_template(
        "campaigns.html",
        page=paginate(db.session(), stmt, page_arg()),
        q=q,
        state=state,
        states=svc.STATE_LABELS,
    )


def _form(values: dict[str, Any], errors: dict[str, str]) -> tuple[str, int]:
    s = db.session()
    return render_template(
        "campaign_form.html",
        values=values,
        errors=errors,
        segments=s.execute(sa.select(Segment.id, Segment.name).order_by(Segment.name)).all(),
        templates=s.execute(
            sa.select(MessageTemplate.id, MessageTemplate.name, MessageTemplate.channel).order_by(
                MessageTemplate.name
            )
        ).all(),
    ), 422 if errors else 200


@bp.get("/new")
@roles_required(*STAFF)
def campaign_new() -> tuple[str, int]:
    return _form({"channel": "email", "rate": 10, "quiet_start": "21:00", "quiet_end": "08:00"}, {})


@bp.post("/new")
@roles_required(*STAFF)
def campaign_create() -> WerkzeugResponse | tuple[str, int]:
    s = db.session()
    values = {k: request.form.get(k, "") for k in FORM_KEYS}
    data = {k: v for k, v in values.items() if v != "" or k in ("name", "segment_id", "template_id")}
    try:
        campaign = svc.create_campaign(s, require_user(), data, business_zone())
    except ValidationError as exc:
        s.rollback()
        return _form(values, exc.as_dict())
    s.commit()
    flash(_("Campaign %(name)s saved as a draft.", name=campaign.name), "success")
    return redirect(url_for("campaigns.campaign_page", campaign_id=campaign.id))


def _progress_context(campaign: Campaign) -> dict[str, Any]:
    s = db.session()
    series = progress.over_time(s, campaign.id)
    now = utcnow()
    quiet, retry = quiet_forecast.held(s, campaign.id, now)
    scores = surveys.distribution(s, campaign.id)
    return {
        "campaign": campaign,
        "counts": svc.counts(s, campaign.id),
        "series": series,
        "chart": progress_chart.svg(series, campaign.launched_at or campaign.created_at, business_zone()),
        "held": quiet_forecast.held_sentence(quiet, now),
        "retrying": quiet_forecast.retry_sentence(retry, now),
        "states": svc.STATE_LABELS,
        "live": svc.counts_may_change(s, campaign, now),
        "scores": scores,
        "scores_chart": progress_chart.scores_chart(scores, campaign.survey or ""),
        "nps": surveys.nps(scores) if campaign.survey == "nps" else None,
    }


@bp.get("/<int:campaign_id>")
@roles_required(*STAFF)
def campaign_page(campaign_id: int) -> str:
    s = db.session()
    campaign = svc.load_campaign(s, campaign_id)
    failed = paginate(s, progress.not_sent(campaign_id), page_arg(), 20)
    rows = list(s.execute(progress.not_sent(campaign_id).limit(20).offset((failed.number - 1) * 20)))
    return render_template(
        "campaign.html",
        failed=failed,
        failed_rows=rows,
        segment=s.get(Segment, campaign.segment_id),
        template=s.get(MessageTemplate, campaign.template_id),
        quiet=svc.quiet_hours_label(campaign),
        # Said before Launch is pressed: who quiet hours will hold, and until when.
        launch_note=quiet_forecast.preview_sentence(quiet_forecast.preview(s, campaign))
        if campaign.state == CampaignState.DRAFT else "",
        hhmm=hhmm,
        **_progress_context(campaign),
    )


@bp.get("/<int:campaign_id>/progress")
@roles_required(*STAFF)
def campaign_progress(campaign_id: int) -> str:
    """The counts and chart alone, which the page's script fetches every few seconds."""
    return render_template("campaign_progress.html", **_progress_context(svc.load_campaign(db.session(), campaign_id)))


@bp.post("/<int:campaign_id>/<action>")
@roles_required(*STAFF)
def campaign_action(campaign_id: int, action: str) -> WerkzeugResponse:
    if action not in ACTIONS:
        abort(404)
    s = db.session()
    campaign = svc.load_campaign(s, campaign_id, lock=True)
    start = False
    try:
        if action == "launch":
            start = svc.launch(s, campaign)
        elif action == "pause":
            svc.pause(s, campaign)
        elif action == "resume":
            start = svc.resume(s, campaign)
        else:
            svc.cancel(s, campaign)
    except Conflict as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("campaigns.campaign_page", campaign_id=campaign_id))
    s.commit()
    if start:
        start_work(current_app._get_current_object(), campaign_id)  # type: ignore[attr-defined]
    flash(_("Campaign %(name)s: %(state)s.", name=campaign.name, state=svc.STATE_LABELS[campaign.state]), "success")
    return redirect(url_for("campaigns.campaign_page", campaign_id=campaign_id))


@bp.get("/<int:campaign_id>/not-sent.csv")
@roles_required(*STAFF)
def campaign_export(campaign_id: int) -> Response:
    s = db.session()
    campaign = svc.load_campaign(s, campaign_id)
    return Response(
        progress.export_rows(current_app._get_current_object(), campaign.id),  # type: ignore[attr-defined]
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="campaign-{campaign.id}-not-sent.csv"'},
    )
