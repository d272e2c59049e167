"""/api/v1 for the likely-duplicate queue and merges: list and dismiss pairs, merge two customers
with the surviving value chosen per field, read a merge, undo it (directors and admins)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import LIST_QUERY, document, json_body, keyset_page
from hub.core.auth import Role, require_user, roles_required
from hub.core.refusals import FieldError, NotFound, ValidationError
from hub.core.validation import MAX_ID
from hub.crm.customers import duplicates as svc
from hub.crm.customers import merge_api_bp as bp
from hub.crm.customers.duplicate_models import CandidateStatus, CustomerMerge, DuplicateCandidate
from hub.crm.customers.merge import MERGE_FIELDS, merge_customers
from hub.crm.customers.merge_undo import undo_merge

TAG = "duplicates"
ROLES = "admin, director"
_SIDE = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
PAIR_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "first": _SIDE,
        "second": _SIDE,
        "score": {"type": "integer", "description": "0 to 100"},
        "reason": {"type": "string", "enum": ["company", "person"]},
        "status": {"type": "string", "enum": [s.value for s in CandidateStatus]},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
MERGE_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "survivor_id": {"type": ["integer", "null"]},
        "merged_id": {"type": "integer"},
        "merged_name": {"type": "string"},
        "user_id": {"type": ["integer", "null"]},
        "at": {"type": "string", "format": "date-time"},
        "undone_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
        "moved": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Rows moved to the survivor, by table",
        },
    },
}
MERGE_IN = {
    "type": "object",
    "required": ["survivor_id", "merged_id"],
    "additionalProperties": False,
    "properties": {
        "survivor_id": {"type": "integer", "description": "The customer kept"},
        "merged_id": {"type": "integer", "description": "The customer merged into it"},
        "choices": {
            "type": "object",
            "description": 'Per field, "merged" where the merged customer\'s value should win; '
            'every other field keeps the survivor\'s ("survivor")',
            "properties": {
                name: {"type": "string", "enum": ["survivor", "merged"]} for name in MERGE_FIELDS
            },
            "additionalProperties": False,
        },
    },
}


def pair_json(pair: DuplicateCandidate) -> dict[str, Any]:
    return {
        "id": pair.id,
        "first": {"id": pair.first.id, "name": pair.first.name},
        "second": {"id": pair.second.id, "name": pair.second.name},
        "score": pair.score,
        "reason": pair.reason,
        "status": pair.status,
        "created_at": pair.created_at.isoformat(),
    }


def merge_json(record: CustomerMerge) -> dict[str, Any]:
    return {
        "id": record.id,
        "survivor_id": record.survivor_id,
        "merged_id": record.merged_id,
        "merged_name": record.merged_name,
        "user_id": record.user_id,
        "at": record.at.isoformat(),
        "undone_at": record.undone_at.isoformat() if record.undone_at else None,
        "moved": {k.split(".")[0]: len(v) for k, v in record.snapshot.get("moved", {}).items()},
    }


def _merge(merge_id: int) -> CustomerMerge:
    record = db.session().get(CustomerMerge, merge_id) if 0 < merge_id <= MAX_ID else None
    if record is None:
        raise NotFound(_("There is no merge %(id)s.", id=merge_id))
    return record


document(
    "get",
    "/duplicates",
    "The open likely duplicates waiting for review",
    TAG,
    response=PAIR_OUT,
    list_of=True,
    query=(("q", "string", "A customer's name on either side"), *LIST_QUERY[1:]),
    roles=ROLES,
)


@bp.get("/duplicates")
@roles_required(Role.DIRECTOR)
def list_pairs() -> Response:
    stmt = svc.open_pairs(require_user(), request.args.get("q", ""))
    return jsonify(
        keyset_page(db.session(), stmt, DuplicateCandidate.id, "merge_api.list_pairs", pair_json)
    )


document(
    "post",
    "/duplicates/{id}/dismiss",
    "Reviewed: two different customers; the pair is not queued again (409 once reviewed)",
    TAG,
    response=PAIR_OUT,
    roles=ROLES,
    errors=(409,),
)


@bp.post("/duplicates/<int:candidate_id>/dismiss")
@roles_required(Role.DIRECTOR)
def dismiss(candidate_id: int) -> Response:
    s = db.session()
    user = require_user()
    pair = svc.load_candidate(s, user, candidate_id)
    svc.dismiss(s, user, pair)
    s.commit()
    return jsonify(pair_json(pair))


document(
    "get",
    "/merges",
    "Merges, with the ones undone",
    TAG,
    response=MERGE_OUT,
    list_of=True,
    query=(("q", "string", "The merged customer's name"), *LIST_QUERY[1:]),
    roles=ROLES,
)


@bp.get("/merges")
@roles_required(Role.DIRECTOR)
def list_merges() -> Response:
    stmt = sa.select(CustomerMerge)
    q = request.args.get("q", "").strip().lower()
    if q:
        stmt = stmt.where(sa.func.lower(CustomerMerge.merged_name).contains(q, autoescape=True))
    return jsonify(
        keyset_page(db.session(), stmt, CustomerMerge.id, "merge_api.list_merges", merge_json)
    )


document(
    "post",
    "/merges",
    "Merge one customer into another: every related record moves to the survivor, which keeps "
    "its own values except the fields `choices` gives to the merged customer",
    TAG,
    body=MERGE_IN,
    response=MERGE_OUT,
    status=201,
    roles=ROLES,
)


@bp.post("/merges")
@roles_required(Role.DIRECTOR)
def create_merge() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    data = json_body()
    errors = [
        FieldError(k, _("Unknown field."))
        for k in sorted(data)
        if k not in ("survivor_id", "merged_id", "choices")
    ]
    ids: dict[str, int] = {}
    for name in ("survivor_id", "merged_id"):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            errors.append(FieldError(name, _("Expected a customer's id.")))
        else:
            ids[name] = value
    choices = data.get("choices") or {}
    if not isinstance(choices, dict):
        errors.append(FieldError("choices", _('Send an object such as {"phone": "merged"}.')))
        choices = {}
    if errors:
        raise ValidationError(errors)
    record = merge_customers(s, require_user(), ids["survivor_id"], ids["merged_id"], choices)
    s.commit()
    location = url_for("merge_api.get_merge", merge_id=record.id)
    return jsonify(merge_json(record)), 201, {"Location": location}


document("get", "/merges/{id}", "A merge", TAG, response=MERGE_OUT, roles=ROLES)


@bp.get("/merges/<int:merge_id>")
@roles_required(Role.DIRECTOR)
def get_merge(merge_id: int) -> Response:
    return jsonify(merge_json(_merge(merge_id)))


document(
    "post",
    "/merges/{id}/undo",
    "Undo a merge: both customers back exactly as they were, with their records and their "
    "likely-duplicate pairs (409 when already undone)",
    TAG,
    response=MERGE_OUT,
    roles=ROLES,
    errors=(409,),
)


@bp.post("/merges/<int:merge_id>/undo")
@roles_required(Role.DIRECTOR)
def undo(merge_id: int) -> Response:
    s = db.session()
    record = _merge(merge_id)
    undo_merge(s, require_user(), record.id)
    s.commit()
    return jsonify(merge_json(_merge(merge_id)))
