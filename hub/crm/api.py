"""/api/v1 for customers, contacts and follow-ups: the same service functions as the pages."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

from hub import db
from hub.apikit import LIST_QUERY, document, fields_schema, json_body, keyset_page, serialize
from hub.auth import login_required, require_user
from hub.crm import customers as svc
from hub.crm import lifecycle
from hub.crm.fields import CONTACT_FIELDS, CONTACT_READ_ONLY, CUSTOMER_FIELDS, CUSTOMER_READ_ONLY
from hub.crm.followups import FollowUp, log_follow_up
from hub.crm.models import Contact, Customer, CustomFieldValue
from hub.validation import MAX_ID, Field, FieldError, NotFound, ValidationError, parse, unknown_keys

bp = Blueprint("crm_api", __name__, url_prefix="/api/v1")


def _region() -> str:
    return current_app.config["SETTINGS"].default_region


def contact_json(contact: Contact) -> dict[str, Any]:
    consent = {
        ch: (
            None
            if c is None
            else {
                "granted": c.granted,
                "source": c.source,
                "recorded_at": c.recorded_at.isoformat(),
            }
        )
        for ch, c in svc.consent_state(contact).items()
    }
    return serialize(contact, CONTACT_READ_ONLY + CONTACT_FIELDS, consent=consent)


def customer_json(customer: Customer) -> dict[str, Any]:
    return serialize(
        customer,
        CUSTOMER_READ_ONLY + CUSTOMER_FIELDS,
        contacts=[contact_json(c) for c in customer.contacts],
        custom={
            v.field.key: serialize(v, (Field("value", "str"),))["value"]
            for v in customer.custom_values
        },
        owner_email=customer.owner.email if customer.owner else None,
    )


CONTACT_OUT = fields_schema(
    CONTACT_READ_ONLY + CONTACT_FIELDS, output=True, consent={"type": "object"}
)
CUSTOMER_OUT = fields_schema(
    CUSTOMER_READ_ONLY + CUSTOMER_FIELDS,
    output=True,
    contacts={"type": "array", "items": CONTACT_OUT},
    custom={"type": "object"},
    owner_email={"type": ["string", "null"]},
)
CUSTOMER_IN = fields_schema(
    CUSTOMER_FIELDS,
    contacts={"type": "array", "items": fields_schema(CONTACT_FIELDS)},
    custom={"type": "object", "description": "Custom field values by key"},
    owner_id={"type": "integer", "description": "Default: the creating user (directors only)"},
    customer_class={"type": "string", "enum": ["A", "B", "C"]},
)
CUSTOMER_PATCH = fields_schema(CUSTOMER_FIELDS, custom={"type": "object"})
CUSTOMER_PATCH.pop("required", None)
CUSTOMER_FILTERS = (
    ("class", "string", "A, B or C"),
    ("stage", "string", "lead, prospect, customer or inactive"),
    ("owner_id", "integer", "Owner's user id"),
    ("region", "string", "Region"),
    ("industry", "string", "Industry"),
    ("lead_source", "string", "Lead source"),
    ("tag", "string", "Tag"),
)


def _filters() -> svc.CustomerFilters:
    args = request.args
    owner = args.get("owner_id")
    if owner not in (None, "") and not owner.isdigit():
        raise ValidationError([FieldError("owner_id", _("Expected a whole number."))])
    custom = {k[3:]: v for k, v in args.items() if k.startswith("cf_")}
    return svc.CustomerFilters(
        customer_class=args.get("class"),
        stage=args.get("stage"),
        owner_id=int(owner) if owner else None,
        region=args.get("region"),
        industry=args.get("industry"),
        lead_source=args.get("lead_source"),
        tag=args.get("tag"),
        custom=custom,
    )


document(
    "get",
    "/customers",
    "List customers the token's user may see",
    "customers",
    response=CUSTOMER_OUT,
    list_of=True,
    query=LIST_QUERY + CUSTOMER_FILTERS,
)


@bp.get("/customers")
@login_required
def list_customers() -> Response:
    user = require_user()
    s = db.session()
    stmt = svc.filtered_customers(s, user, request.args.get("q", ""), _filters(), _region())
    # Everything customer_json reads, in a few statements rather than several per customer.
    stmt = stmt.options(
        selectinload(Customer.contacts).selectinload(Contact.consents),
        selectinload(Customer.tags),
        selectinload(Customer.custom_values).joinedload(CustomFieldValue.field),
        joinedload(Customer.owner),
    )
    return jsonify(keyset_page(s, stmt, Customer.id, "crm_api.list_customers", customer_json))


document(
    "post",
    "/customers",
    "Create a customer with its contacts",
    "customers",
    body=CUSTOMER_IN,
    response=CUSTOMER_OUT,
    status=201,
    roles="admin, director, agent",
)


@bp.post("/customers")
@login_required
def create_customer() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    customer = svc.create_customer(s, require_user(), json_body(), _region())
    s.commit()
    return (
        jsonify(customer_json(customer)),
        201,
        {"Location": url_for("crm_api.get_customer", customer_id=customer.id)},
    )


document("get", "/customers/{id}", "Read a customer", "customers", response=CUSTOMER_OUT)


@bp.get("/customers/<int:customer_id>")
@login_required
def get_customer(customer_id: int) -> Response:
    return jsonify(customer_json(svc.load_customer(db.session(), require_user(), customer_id)))


document(
    "patch",
    "/customers/{id}",
    "Change some fields of a customer",
    "customers",
    body=CUSTOMER_PATCH,
    response=CUSTOMER_OUT,
    roles="admin, director, the owning agent",
)


@bp.patch("/customers/<int:customer_id>")
@login_required
def update_customer(customer_id: int) -> Response:
    s = db.session()
    user = require_user()
    customer = svc.load_customer(s, user, customer_id, edit=True)
    svc.update_customer(s, user, customer, json_body(), _region())
    s.commit()
    return jsonify(customer_json(customer))


document(
    "delete",
    "/customers/{id}",
    "Delete a customer and everything on it",
    "customers",
    status=204,
    roles="admin, director",
)


@bp.delete("/customers/<int:customer_id>")
@login_required
def delete_customer(customer_id: int) -> tuple[str, int]:
    s = db.session()
    user = require_user()
    svc.delete_customer(s, user, svc.load_customer(s, user, customer_id))
    s.commit()
    return "", 204


document(
    "post",
    "/customers/{id}/convert",
    "Convert a lead or prospect into a customer",
    "customers",
    body={"type": "object", "additionalProperties": False},
    response=CUSTOMER_OUT,
    roles="admin, director, the owning agent",
)


@bp.post("/customers/<int:customer_id>/convert")
@login_required
def convert(customer_id: int) -> Response:
    s = db.session()
    user = require_user()
    customer = lifecycle.convert_lead(s, user, svc.load_customer(s, user, customer_id, edit=True))
    s.commit()
    return jsonify(customer_json(customer))


CLASS_FIELDS = (
    Field("customer_class", "choice", choices=("A", "B", "C"), required=True),
    Field("reason", "str", required=True, max_length=300),
)
document(
    "post",
    "/customers/{id}/class",
    "Set the A/B/C class by hand, with a reason",
    "customers",
    body=fields_schema(CLASS_FIELDS),
    response=CUSTOMER_OUT,
    roles="admin, director, the owning agent",
)


@bp.post("/customers/<int:customer_id>/class")
@login_required
def classify(customer_id: int) -> Response:
    s = db.session()
    user = require_user()
    data = json_body()
    unknown_keys(CLASS_FIELDS, data)
    values = parse(CLASS_FIELDS, data)
    customer = svc.load_customer(s, user, customer_id)
    lifecycle.set_class(s, user, customer, values["customer_class"], values["reason"])
    s.commit()
    return jsonify(customer_json(customer))


ASSIGN_FIELDS = (
    Field("owner_id", "int", required=True, minimum=1),
    Field("reason", "str", max_length=300),
)
ASSIGN_IN = fields_schema(
    ASSIGN_FIELDS, customer_ids={"type": "array", "items": {"type": "integer"}}
)
ASSIGN_IN["required"] = ["owner_id", "customer_ids"]
document(
    "post",
    "/customers/assign",
    "Give customers to a rep (bulk reassignment)",
    "customers",
    body=ASSIGN_IN,
    response={"type": "object", "properties": {"moved": {"type": "integer"}}},
    roles="admin, director",
)


@bp.post("/customers/assign")
@login_required
def assign() -> Response:
    s = db.session()
    data = json_body()
    unknown_keys(ASSIGN_FIELDS, data, allowed=("customer_ids",))
    values = parse(ASSIGN_FIELDS, data)
    ids = data.get("customer_ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ValidationError([FieldError("customer_ids", _("Expected a list of customer ids."))])
    moved = lifecycle.assign_owner(
        s, require_user(), ids, values["owner_id"], values.get("reason") or ""
    )
    s.commit()
    return jsonify({"moved": moved})


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
    match = svc.contact_condition(q, _region())
    if match is not None:
        # The company's name finds its people too.
        by_company = sa.select(Customer.id).where(
            sa.func.lower(Customer.name).contains(q.strip().lower(), autoescape=True)
        )
        stmt = stmt.where(sa.or_(match, Contact.customer_id.in_(by_company)))
    customer_id = request.args.get("customer_id")
    if customer_id:
        if not customer_id.isdigit():
            raise ValidationError([FieldError("customer_id", _("Expected a whole number."))])
        stmt = stmt.where(Contact.customer_id == int(customer_id))
    return jsonify(keyset_page(s, stmt, Contact.id, "crm_api.list_contacts", contact_json))


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
    contact = svc.add_contact(s, user, customer, data, _region())
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
    svc.update_contact(s, user, contact, json_body(), _region())
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
    svc.delete_contact(s, user, svc.load_contact(s, user, contact_id, edit=True))
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
    svc.set_consent(s, user, contact, channel, values["granted"], values.get("source") or "api")
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
    if args.get("customer_id"):
        if not args["customer_id"].isdigit():
            raise ValidationError([FieldError("customer_id", _("Expected a whole number."))])
        stmt = stmt.where(FollowUp.customer_id == int(args["customer_id"]))
    if args.get("channel"):
        stmt = stmt.where(FollowUp.channel == args["channel"])
    if args.get("q", "").strip():
        stmt = stmt.where(
            sa.func.lower(FollowUp.summary).contains(args["q"].strip().lower(), autoescape=True)
        )
    return jsonify(keyset_page(s, stmt, FollowUp.id, "crm_api.list_follow_ups", follow_up_json))


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
