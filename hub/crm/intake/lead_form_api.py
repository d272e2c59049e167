"""/api/v1/lead-forms: the website forms whose keys post leads, created and revoked (admins)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify, request
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import LIST_QUERY, document, json_body, keyset_page
from hub.core.auth import Role, require_user, roles_required
from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID
from hub.crm.intake import lead_form_api_bp as bp
from hub.crm.intake.lead_forms import LeadForm, create_form, forms_query, load_form, revoke_form

TAG = "lead forms"
FORM_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "key": {"type": "string"},
        "url": {"type": "string", "format": "uri", "description": "Where the website posts"},
        "owner_ids": {"type": "array", "items": {"type": "integer"}},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "value": {"type": "string"},
                    "owner_id": {"type": "integer"},
                },
            },
        },
        "active": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "revoked_at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
    },
}
FORM_IN = {
    "type": "object",
    "required": ["name", "owner_ids"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "owner_ids": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "Active users who take leads in turn",
        },
        "rules": {
            "type": "string",
            "description": "One rule a line, e.g. `region: 华南 = li@example.com` (region, "
            "industry or city); the first that matches picks the owner",
        },
    },
}


def form_json(form: LeadForm) -> dict[str, Any]:
    base = current_app.config["SETTINGS"].public_url or request.host_url.rstrip("/")
    return {
        "id": form.id,
        "name": form.name,
        "key": form.key,
        "url": f"{base}/webhooks/leads/{form.key}",
        "owner_ids": list(form.owner_ids),
        "rules": list(form.rules),
        "active": form.active,
        "created_at": form.created_at.isoformat(),
        "revoked_at": form.revoked_at.isoformat() if form.revoked_at else None,
    }


document(
    "get",
    "/lead-forms",
    "The website lead forms, revoked ones included",
    TAG,
    response=FORM_OUT,
    list_of=True,
    query=(("q", "string", "Part of the form's name"), *LIST_QUERY[1:]),
    roles="admin",
)


@bp.get("/lead-forms")
@roles_required(Role.ADMIN)
def list_forms() -> Response:
    stmt = forms_query(request.args.get("q", ""))
    return jsonify(
        keyset_page(db.session(), stmt, LeadForm.id, "lead_form_api.list_forms", form_json)
    )


document(
    "post",
    "/lead-forms",
    "Create a form with its own key; leads go to the owners in turn unless a rule picks one",
    TAG,
    body=FORM_IN,
    response=FORM_OUT,
    status=201,
    roles="admin",
)


@bp.post("/lead-forms")
@roles_required(Role.ADMIN)
def create() -> tuple[Response, int]:
    s = db.session()
    data = json_body()
    errors = [
        FieldError(k, _("Unknown field."))
        for k in sorted(data)
        if k not in ("name", "owner_ids", "rules")
    ]
    name, owner_ids, rules = data.get("name", ""), data.get("owner_ids"), data.get("rules", "")
    if not isinstance(name, str):
        errors.append(FieldError("name", _("Give the form a name.")))
    if not isinstance(owner_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID for i in owner_ids
    ):
        errors.append(FieldError("owner_ids", _("Choose at least one active owner.")))
    if not isinstance(rules, str | None):
        errors.append(FieldError("rules", _("Send the rules as text, one a line.")))
    if errors:
        raise ValidationError(errors)
    assert isinstance(owner_ids, list)
    form = create_form(s, require_user(), name, owner_ids, rules or "")
    s.commit()
    return jsonify(form_json(form)), 201


document(
    "post",
    "/lead-forms/{id}/revoke",
    "Revoke a form's key: posts with it are refused at once; leads already captured stay",
    TAG,
    response=FORM_OUT,
    roles="admin",
)


@bp.post("/lead-forms/<int:form_id>/revoke")
@roles_required(Role.ADMIN)
def revoke(form_id: int) -> Response:
    s = db.session()
    form = load_form(s, form_id)
    revoke_form(s, form)
    s.commit()
    return jsonify(form_json(form))
