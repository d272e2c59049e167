"""/api/v1/templates: message templates, checked in the sandbox on save, previewed per contact."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for

from hub.campaigns import campaigns_api_bp as bp
from hub.campaigns.segments.api import channel_arg
from hub.campaigns.staff import ROLES, STAFF, TAG
from hub.campaigns.templates import saved as svc
from hub.campaigns.templates.models import MessageTemplate
from hub.campaigns.templates.rendering import FILTERS, VARIABLES, sms_size
from hub.core import db
from hub.core.apikit import LIST_QUERY, document, fields_schema, json_body, keyset_page, to_json
from hub.core.auth import require_user, roles_required
from hub.core.validation import Field, parse

OUT = fields_schema(
    svc.TEMPLATE_FIELDS,
    output=True,
    id={"type": "integer"},
    sms={
        "type": ["object", "null"],
        "description": "SMS only: encoding and segments of the text as written",
        "properties": {"encoding": {"type": "string"}, "segments": {"type": "integer"}},
    },
)
IN = fields_schema(svc.TEMPLATE_FIELDS)
IN["description"] = (
    f"Jinja2, rendered in a sandbox. Variables: {', '.join(VARIABLES)}. Filters: {', '.join(FILTERS)}."
)
PATCH = {k: v for k, v in IN.items() if k != "required"}
PREVIEW_FIELDS = (Field("contact_id", "int", required=True, minimum=1),)
PREVIEW_OUT = {
    "type": "object",
    "properties": {
        "contact_id": {"type": "integer"},
        "subject": {"type": ["string", "null"]},
        "body": {"type": ["string", "null"]},
        "html": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"], "description": "Why it cannot render for this contact"},
        "encoding": {"type": "string"},
        "segments": {"type": "integer"},
    },
}


def template_json(t: MessageTemplate) -> dict[str, Any]:
    size = sms_size(t.body) if t.channel == "sms" else None
    return {
        "id": t.id,
        **{f.name: to_json(getattr(t, f.name)) for f in svc.TEMPLATE_FIELDS},
        "sms": {"encoding": size.encoding, "segments": size.segments} if size else None,
    }


document(
    "get", "/templates", "List message templates", TAG, response=OUT, list_of=True,
    query=(
        ("q", "string", "Search text: the template's name"),
        ("channel", "string", "email or sms"),
        *LIST_QUERY[1:],
    ),
    roles=ROLES,
)


@bp.get("/templates")
@roles_required(*STAFF)
def list_templates() -> Response:
    stmt = svc.list_templates(request.args.get("q", ""), channel_arg())
    return jsonify(
        keyset_page(
            db.session(), stmt, MessageTemplate.id, "campaigns_api.list_templates", template_json
        )
    )


document(
    "post", "/templates", "Save a template (a syntax error or unknown variable is refused by line)",
    TAG, body=IN, response=OUT, status=201, roles=ROLES,
)


@bp.post("/templates")
@roles_required(*STAFF)
def create_template() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    template = svc.create_template(s, require_user(), json_body())
    s.commit()
    location = url_for("campaigns_api.get_template", template_id=template.id)
    return jsonify(template_json(template)), 201, {"Location": location}


document("get", "/templates/{id}", "Read a template", TAG, response=OUT, roles=ROLES)


@bp.get("/templates/<int:template_id>")
@roles_required(*STAFF)
def get_template(template_id: int) -> Response:
    return jsonify(template_json(svc.load_template(db.session(), template_id)))


document(
    "patch", "/templates/{id}", "Change a template", TAG, body=PATCH, response=OUT, roles=ROLES
)


@bp.patch("/templates/<int:template_id>")
@roles_required(*STAFF)
def update_template(template_id: int) -> Response:
    s = db.session()
    template = svc.update_template(s, svc.load_template(s, template_id), json_body())
    s.commit()
    return jsonify(template_json(template))


document(
    "delete", "/templates/{id}", "Delete a template no campaign uses", TAG, status=204, roles=ROLES
)


@bp.delete("/templates/<int:template_id>")
@roles_required(*STAFF)
def delete_template(template_id: int) -> tuple[str, int]:
    s = db.session()
    svc.delete_template(s, svc.load_template(s, template_id))
    s.commit()
    return "", 204


document(
    "post", "/templates/{id}/preview",
    "Render the template for one contact (a failure is returned as `error`, not raised)", TAG,
    body=fields_schema(PREVIEW_FIELDS), response=PREVIEW_OUT, roles=ROLES,
)


@bp.post("/templates/<int:template_id>/preview")
@roles_required(*STAFF)
def preview_template(template_id: int) -> Response:
    s = db.session()
    template = svc.load_template(s, template_id)
    contact_id = parse(PREVIEW_FIELDS, json_body())["contact_id"]
    return jsonify(svc.preview(s, template, contact_id, request.host_url.rstrip("/")))
