"""/api/v1/complaints: recording complaints and moving them through their steps."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import document, fields_schema, json_body, query_int, serialize
from hub.core.auth import login_required, require_user
from hub.core.clock import utcnow
from hub.core.refusals import Forbidden
from hub.crm.customers.lookup import load_customer
from hub.crm.record_routes import (
    changed,
    created,
    document_list,
    list_page,
    query_bool,
    query_choice,
)
from hub.crm.service import complaint_changes as recording
from hub.crm.service import complaints as svc
from hub.crm.service import service_api_bp as bp
from hub.crm.service.models import Complaint

TAG = "complaints"
ATTACHMENT_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "filename": {"type": "string"},
        "content_type": {"type": "string"},
        "size": {"type": "integer"},
        "uploaded_at": {"type": "string", "format": "date-time"},
    },
}
OUT = fields_schema(
    svc.COMPLAINT_READ_ONLY + svc.COMPLAINT_FIELDS,
    output=True,
    overdue={"type": "boolean"},
    attachments={
        "type": "array",
        "items": ATTACHMENT_OUT,
        "description": "Read-only here: files are uploaded and downloaded on the complaint's page",
    },
)
CREATE = fields_schema(svc.COMPLAINT_CREATE)
PATCH = fields_schema(svc.COMPLAINT_FIELDS + svc.STEP_FIELDS)
PATCH.pop("required", None)
FILTERS = (
    ("step", "string", "Only this step"),
    ("owner_id", "integer", "Only those this user handles"),
    ("customer_id", "integer", "Only this customer's"),
    ("overdue", "boolean", "true: only those whose step is past due"),
)


def complaint_json(c: Complaint) -> dict[str, Any]:
    return serialize(
        c,
        svc.COMPLAINT_READ_ONLY + svc.COMPLAINT_FIELDS,
        overdue=bool(c.step_due_at and c.step != "followed_up" and c.step_due_at < utcnow()),
        attachments=[
            serialize(
                a,
                (),
                id=a.id,
                filename=a.filename,
                content_type=a.content_type,
                size=a.size,
                uploaded_at=a.uploaded_at.isoformat(),
            )
            for a in c.attachments
        ],
    )


document_list(
    "/complaints",
    "List complaints on customers the token's user may see",
    TAG,
    OUT,
    FILTERS,
    search="Search text: the content, the product or the customer's name",
)


@bp.get("/complaints")
@login_required
def list_complaints() -> Response:
    stmt = svc.filtered_complaints(
        require_user(),
        request.args.get("q", ""),
        query_choice("step", svc.STEPS),
        query_int("owner_id"),
        query_int("customer_id"),
        utcnow() if query_bool("overdue") else None,
    )
    return list_page(stmt, Complaint.id, "service_api.list_complaints", complaint_json)


document(
    "post",
    "/complaints",
    "Record a complaint as received (attachments are added on the page only)",
    TAG,
    body=CREATE,
    response=OUT,
    status=201,
    roles="admin, director, specialist, the owning agent",
)


@bp.post("/complaints")
@login_required
def create_complaint() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    user = require_user()
    data = json_body()
    customer_id = svc.parse_complaint(data, with_customer=True)["customer_id"]
    customer = load_customer(s, user, customer_id)
    if not svc.can_handle(user, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    complaint = recording.create_complaint(
        s, user, customer, {k: v for k, v in data.items() if k != "customer_id"}
    )
    return created(complaint, complaint_json, "service_api.get_complaint", "complaint_id")


document(
    "get",
    "/complaints/{id}",
    "Read a complaint (its attachments are listed; download them on the page)",
    TAG,
    response=OUT,
)


@bp.get("/complaints/<int:complaint_id>")
@login_required
def get_complaint(complaint_id: int) -> Response:
    return jsonify(complaint_json(svc.load_complaint(db.session(), require_user(), complaint_id)))


document(
    "patch",
    "/complaints/{id}",
    "Change some fields; `step` advances to the next step (one at a time, never back: 409), "
    "with an optional `note` (attachments are page-only)",
    TAG,
    body=PATCH,
    response=OUT,
    roles="admin, director, specialist, the owning agent, the complaint's handler",
)


@bp.patch("/complaints/<int:complaint_id>")
@login_required
def update_complaint(complaint_id: int) -> tuple[Response, int]:
    complaint = svc.load_complaint(db.session(), require_user(), complaint_id, edit=True)
    return changed(complaint, recording.update_complaint, complaint_json)
