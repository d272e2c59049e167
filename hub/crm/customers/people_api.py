"""/api/v1 for contacts and follow-up records."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, request
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import (
    LIST_QUERY,
    document,
    fields_schema,
    json_body,
    keyset_page,
    query_int,
    serialize,
)
from hub.core.auth import login_required, require_user
from hub.core.refusals import FieldError, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers import customer_records as records
from hub.crm.customers import lookup as svc
from hub.crm.customers import people_api_bp as bp
from hub.crm.customers.api import CONTACT_OUT, contact_json, region
from hub.crm.customers.fields import CONTACT_FIELDS
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.followups.records import log_follow_up

# --- contacts -----------------------------------------------------------------------------------

CONTACT_IN = fields_schema(CONTACT_FIELDS, customer_id={"type": "integer"})
CONTACT_IN["required"] = [*CONTACT_IN.get("required", []), "customer_id"]
CONTACT_PATCH = fields_schema(CONTACT_FIELDS)
CONTACT_PATCH.pop("required", None)

document(
    "get",
    "/contacts",
    "List contacts of customers the user may see",
    "contacts",
    response=CONTACT_OUT,
    list_of=True,
    query=LIST_QUERY + (("customer_id", "integer", "Only this customer's contacts"),),
)


@bp.get("/contacts")
@login_required
def list_contacts() -> Response:
    s = db.session()
    user = require_user()
    visible = svc.visible_customers(user).with_only_columns(Customer.id)
    stmt = sa.select(Contact).where(Contact.customer_id.in_(visible))
    q = request.args.get("q", "")
    match = svc.contact_condition(q, region())
    if match is not None:
        # The company's name finds its people too.
        by_company = sa.select(Customer.id).where(
            sa.func.lower(Customer.name).contains(q.strip().lower(), autoescape=True)
        )
        stmt = stmt.where(sa.or_(match, Contact.customer_id.in_(by_company)))
    customer_id = query_int("customer_id")
    if customer_id is not None:
        stmt = stmt.where(Contact.customer_id == customer_id)
    return jsonify(keyset_page(s, stmt, Contact.id, "people_api.list_contacts", contact_json))


document(
    "post",
    "/contacts",
    "Add a contact to a customer",
    "contacts",
    body=CONTACT_IN,
    response=CONTACT_OUT,
    status=201,
    roles="admin, director, the owning agent",
)


@bp.post("/contacts")
@login_required
def create_contact() -> tuple[Response, int]:
    s = db.session()
    user = require_user()
    data = json_body()
    customer_id = data.pop("customer_id", None)
    if not isinstance(customer_id, int) or isinstance(customer_id, bool):
        raise ValidationError([FieldError("customer_id", _("This field is required."))])
    customer = svc.load_customer(s, user, customer_id, edit=True)
    contact = records.add_contact(s, user, customer, data, region())
    s.commit()
    return jsonify(contact_json(contact)), 201


document("get", "/contacts/{id}", "Read a contact", "contacts", response=CONTACT_OUT)


@bp.get("/contacts/<int:contact_id>")
@login_required
def get_contact(contact_id: int) -> Response:
    return jsonify(contact_json(svc.load_contact(db.session(), require_user(), contact_id)))


document(
    "patch",
    "/contacts/{id}",
    "Change some fields of a contact",
    "contacts",
    body=CONTACT_PATCH,
    response=CONTACT_OUT,
    roles="admin, director, the owning agent",
)


@bp.patch("/contacts/<int:contact_id>")
@login_required
def update_contact(contact_id: int) -> Response:
    s = db.session()
    user = require_user()
    contact = svc.load_contact(s, user, contact_id, edit=True)
    records.update_contact(s, user, contact, json_body(), region())
    s.commit()
    return jsonify(contact_json(contact))


document(
    "delete",
    "/contacts/{id}",
    "Delete a contact",
    "contacts",
    status=204,
    roles="admin, director, the owning agent",
)


@bp.delete("/contacts/<int:contact_id>")
@login_required
def delete_contact(contact_id: int) -> tuple[str, int]:
    s = db.session()
    user = require_user()
    records.delete_contact(s, user, svc.load_contact(s, user, contact_id, edit=True))
    s.commit()
    return "", 204


CONSENT_FIELDS = (Field("granted", "bool", required=True), Field("source", "str", max_length=100))
document(
    "put",
    "/contacts/{id}/consent/{channel}",
    "Record consent for email, sms or call",
    "contacts",
    body=fields_schema(CONSENT_FIELDS),
    response=CONTACT_OUT,
    roles="admin, director, the owning agent",
)


@bp.put("/contacts/<int:contact_id>/consent/<channel>")
@login_required
def put_consent(contact_id: int, channel: str) -> Response:
    s = db.session()
    user = require_user()
    data = json_body()
    unknown_keys(CONSENT_FIELDS, data)
    values = parse(CONSENT_FIELDS, data)
    contact = svc.load_contact(s, user, contact_id, edit=True)
    records.set_consent(s, user, contact, channel, values["granted"], values.get("source") or "api")
    s.commit()
    return jsonify(contact_json(contact))


# --- follow-ups ---------------------------------------------------------------------------------

FOLLOW_UP_FIELDS = (
    Field("customer_id", "int", required=True, minimum=1),
    Field(
        "channel",
        "choice",
        required=True,
        choices=("call", "sms", "email", "visit", "meeting", "note", "survey", "system"),
    ),
    Field("direction", "choice", choices=("inbound", "outbound", "internal")),
    Field("summary", "text", max_length=20000),
    Field("outcome", "str", max_length=200),
    Field("next_contact_on", "date", description="Default: today plus the class cadence"),
    Field("contact_id", "int", minimum=1),
    Field("opportunity_id", "int", minimum=1),
    Field("complaint_id", "int", minimum=1),
    Field("order_id", "int", minimum=1),
)
FOLLOW_UP_OUT_FIELDS = (
    Field("id", "int", read_only=True),
    *FOLLOW_UP_FIELDS,
    Field("user_id", "int", read_only=True),
    Field("occurred_at", "str", read_only=True),
    Field("status", "str", read_only=True),
)


def follow_up_json(f: FollowUp) -> dict[str, Any]:
    return serialize(f, FOLLOW_UP_OUT_FIELDS)


document(
    "get",
    "/follow-ups",
    "List follow-up records on customers the user may see",
    "follow-ups",
    response=fields_schema(FOLLOW_UP_OUT_FIELDS, output=True),
    list_of=True,
    query=LIST_QUERY
    + (
        ("customer_id", "integer", "Only this customer's"),
        ("channel", "string", "Only this channel"),
    ),
)


@bp.get("/follow-ups")
@login_required
def list_follow_ups() -> Response:
    s = db.session()
    user = require_user()
    visible = svc.visible_customers(user).with_only_columns(Customer.id)
    stmt = sa.select(FollowUp).where(FollowUp.customer_id.in_(visible))
    args = request.args
    customer_id = query_int("customer_id")
    if customer_id is not None:
        stmt = stmt.where(FollowUp.customer_id == customer_id)
    if args.get("channel"):
        stmt = stmt.where(FollowUp.channel == args["channel"])
    if args.get("q", "").strip():
        stmt = stmt.where(
            sa.func.lower(FollowUp.summary).contains(args["q"].strip().lower(), autoescape=True)
        )
    return jsonify(keyset_page(s, stmt, FollowUp.id, "people_api.list_follow_ups", follow_up_json))


document(
    "post",
    "/follow-ups",
    "Record a follow-up",
    "follow-ups",
    body=fields_schema(FOLLOW_UP_FIELDS),
    response=fields_schema(FOLLOW_UP_OUT_FIELDS, output=True),
    status=201,
    roles="admin, director, the owning agent",
)


@bp.post("/follow-ups")
@login_required
def create_follow_up() -> tuple[Response, int]:
    s = db.session()
    user = require_user()
    data = json_body()
    unknown_keys(FOLLOW_UP_FIELDS, data)
    values = parse(FOLLOW_UP_FIELDS, data)
    customer = svc.load_customer(s, user, values.pop("customer_id"), edit=True)
    record = log_follow_up(
        s,
        user,
        customer,
        values.pop("channel"),
        summary=values.pop("summary", None) or "",
        direction=values.pop("direction", None) or "outbound",
        **{k: v for k, v in values.items() if v is not None},
    )
    s.commit()
    return jsonify(follow_up_json(record)), 201


document(
    "get",
    "/follow-ups/{id}",
    "Read a follow-up record",
    "follow-ups",
    response=fields_schema(FOLLOW_UP_OUT_FIELDS, output=True),
)


@bp.get("/follow-ups/<int:follow_up_id>")
@login_required
def get_follow_up(follow_up_id: int) -> Response:
    s = db.session()
    record = s.get(FollowUp, follow_up_id) if 0 < follow_up_id <= MAX_ID else None
    if record is None:
        raise NotFound(_("There is no follow-up %(id)s.", id=follow_up_id))
    svc.load_customer(s, require_user(), record.customer_id)
    return jsonify(follow_up_json(record))
