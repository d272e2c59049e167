"""/api/v1/segments: saved filters over contacts, counted live. Templates and campaigns hang their
routes on the same blueprint (`template_api`, `campaign_api`)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _

from hub.campaigns import campaigns_api_bp as bp
from hub.campaigns.segments import saved as svc
from hub.campaigns.segments.models import Segment
from hub.campaigns.segments.rules import FIELD_NAMES
from hub.campaigns.staff import ROLES, STAFF, TAG
from hub.core import db
from hub.core.apikit import LIST_QUERY, document, json_body, keyset_page, to_json
from hub.core.auth import require_user, roles_required
from hub.core.refusals import FieldError, ValidationError

RULE = {
    "type": "object",
    "description": "A rule {field, op, value} (period fields also take from/to dates), or a "
    "group {match, rules}. Fields: " + ", ".join(FIELD_NAMES),
    "properties": {
        "field": {"type": "string"},
        "op": {"type": "string"},
        "value": {},
        "from": {"type": "string", "format": "date"},
        "to": {"type": "string", "format": "date"},
        "match": {"type": "string", "enum": ["all", "any"]},
        "rules": {"type": "array", "items": {"type": "object"}},
    },
}
SEGMENT_IN = {
    "type": "object",
    "required": ["name", "rules"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 120},
        "match": {"type": "string", "enum": ["all", "any"]},
        "rules": {"type": "array", "items": RULE, "minItems": 1},
    },
}
SEGMENT_PATCH = {k: v for k, v in SEGMENT_IN.items() if k != "required"}
SEGMENT_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "match": {"type": "string"},
        "rules": {"type": "array", "items": RULE},
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}
COUNT_OUT = {
    "type": "object",
    "properties": {
        "count": {"type": "integer"},
        "channel": {"type": ["string", "null"]},
        "sample": {"type": "array", "items": {"type": "object"}},
    },
}


def channel_arg() -> str | None:
    raw = request.args.get("channel", "").strip()
    if raw and raw not in ("email", "sms"):
        raise ValidationError(
            [FieldError("channel", _("Choose one of: %(choices)s.", choices="email, sms"))]
        )
    return raw or None


def segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "match": segment.definition.get("match", "all"),
        "rules": segment.definition.get("rules", []),
        "created_at": to_json(segment.created_at),
        "updated_at": to_json(segment.updated_at),
    }


document(
    "get", "/segments", "List saved segments", TAG, response=SEGMENT_OUT, list_of=True,
    query=(("q", "string", "Search text: the segment's name"), *LIST_QUERY[1:]), roles=ROLES,
)


@bp.get("/segments")
@roles_required(*STAFF)
def list_segments() -> Response:
    stmt = svc.list_segments(request.args.get("q", ""))
    return jsonify(
        keyset_page(db.session(), stmt, Segment.id, "campaigns_api.list_segments", segment_json)
    )


document(
    "post", "/segments", "Save a segment (an unknown field or operator is refused by name)", TAG,
    body=SEGMENT_IN, response=SEGMENT_OUT, status=201, roles=ROLES,
)


@bp.post("/segments")
@roles_required(*STAFF)
def create_segment() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    segment = svc.create_segment(s, require_user(), json_body())
    s.commit()
    location = url_for("campaigns_api.get_segment", segment_id=segment.id)
    return jsonify(segment_json(segment)), 201, {"Location": location}


document("get", "/segments/{id}", "Read a segment", TAG, response=SEGMENT_OUT, roles=ROLES)


@bp.get("/segments/<int:segment_id>")
@roles_required(*STAFF)
def get_segment(segment_id: int) -> Response:
    return jsonify(segment_json(svc.load_segment(db.session(), segment_id)))


document(
    "patch", "/segments/{id}", "Rename a segment or replace its rules", TAG,
    body=SEGMENT_PATCH, response=SEGMENT_OUT, roles=ROLES,
)


@bp.patch("/segments/<int:segment_id>")
@roles_required(*STAFF)
def update_segment(segment_id: int) -> Response:
    s = db.session()
    segment = svc.update_segment(s, svc.load_segment(s, segment_id), json_body())
    s.commit()
    return jsonify(segment_json(segment))


document(
    "delete", "/segments/{id}", "Delete a segment no campaign uses", TAG, status=204, roles=ROLES
)


@bp.delete("/segments/<int:segment_id>")
@roles_required(*STAFF)
def delete_segment(segment_id: int) -> tuple[str, int]:
    s = db.session()
    svc.delete_segment(s, svc.load_segment(s, segment_id))
    s.commit()
    return "", 204


def sample_json(pairs: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": contact.id,
            "name": contact.name,
            "customer_id": customer.id,
            "customer_name": customer.name,
            "class": customer.customer_class,
            "region": customer.region,
        }
        for contact, customer in pairs
    ]


document(
    "get", "/segments/{id}/count",
    "How many contacts the segment holds now, and the first few of them", TAG,
    response=COUNT_OUT,
    query=(("channel", "string", "email or sms: only contacts with that address"),),
    roles=ROLES,
)


@bp.get("/segments/<int:segment_id>/count")
@roles_required(*STAFF)
def count_segment(segment_id: int) -> Response:
    s = db.session()
    segment = svc.load_segment(s, segment_id)
    channel = channel_arg()
    return jsonify(
        {
            "count": svc.count(s, segment.definition, channel),
            "channel": channel,
            "sample": sample_json(svc.sample(s, segment.definition)),
        }
    )


