"""/api/v1 for customers, contacts and follow-ups: the same service functions as the pages."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, selectinload

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
from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers import crm_api_bp as bp
from hub.crm.customers import customer_records as records
from hub.crm.customers import lifecycle, list_extras, search
from hub.crm.customers import lookup as svc
from hub.crm.customers.fields import (
    CONTACT_FIELDS,
    CONTACT_READ_ONLY,
    CUSTOMER_FIELDS,
    CUSTOMER_READ_ONLY,
)
from hub.crm.customers.models import Contact, Customer, CustomFieldValue
from hub.crm.customers.views import region


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
MATCHED_OUT = {
    "type": ["object", "null"],
    "description": (
        "With `q`: what the search matched that the customer's own name and phone do not show"
        " (a contact's name, email or phone, or the customer's email); null otherwise"
    ),
    "properties": {
        "field": {"type": "string", "enum": ["name", "email", "phone"]},
        "value": {"type": "string", "description": "As stored (a phone number in E.164)"},
        "contact_id": {"type": ["integer", "null"], "description": "Null: the customer's own"},
        "contact_name": {"type": ["string", "null"]},
    },
}
CUSTOMER_LIST_OUT = {
    **CUSTOMER_OUT,
    "properties": {**CUSTOMER_OUT["properties"], "matched": MATCHED_OUT},
}
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
    ("overdue_amount", "number", "At least this amount overdue (CNY), due before today"),
    ("overdue_days", "integer", "The oldest overdue amount at least this many days past due"),
    (
        "cf_<key>",
        "string",
        "A custom field's value; cf_<key>_min and cf_<key>_max for numbers and dates",
    ),
)


def custom_filters(args: Any) -> dict[str, Any]:
    """`cf_<key>=value` for text and choice fields; `cf_<key>_min` / `cf_<key>_max` for ranges."""
    custom: dict[str, Any] = {}
    for k, v in args.items():
        if not k.startswith("cf_") or v == "":
            continue
        key = k[3:]
        for suffix, index in (("_min", 0), ("_max", 1)):
            if key.endswith(suffix):
                low_high = list(custom.get(key[: -len(suffix)], ("", "")))
                low_high[index] = v
                custom[key[: -len(suffix)]] = tuple(low_high)
                break
        else:
            custom[key] = v
    return custom


def _filters() -> search.CustomerFilters:
    args = request.args
    owner_id = query_int("owner_id")
    custom = custom_filters(args)
    return search.CustomerFilters(
        customer_class=args.get("class"),
        stage=args.get("stage"),
        owner_id=owner_id,
        region=args.get("region"),
        industry=args.get("industry"),
        lead_source=args.get("lead_source"),
        tag=args.get("tag"),
        custom=custom,
        overdue_amount=args.get("overdue_amount"),
        overdue_days=args.get("overdue_days"),
    )


document(
    "get",
    "/customers",
    "List customers the token's user may see",
    "customers",
    response=CUSTOMER_LIST_OUT,
    list_of=True,
    query=LIST_QUERY + CUSTOMER_FILTERS,
)


@bp.get("/customers")
@login_required
def list_customers() -> Response:
    user = require_user()
    s = db.session()
    q = request.args.get("q", "")
    stmt = search.filtered_customers(s, user, q, _filters(), region())
    # Everything customer_json reads, in a few statements rather than several per customer.
    stmt = stmt.options(
        selectinload(Customer.contacts).selectinload(Contact.consents),
        selectinload(Customer.tags),
        selectinload(Customer.custom_values).joinedload(CustomFieldValue.field),
        joinedload(Customer.owner),
    )
    matches: dict[int, list_extras.Matched] = {}

    def item(customer: Customer) -> dict[str, Any]:
        found = matches.get(customer.id)
        return {**customer_json(customer), "matched": found.as_json() if found else None}

    def prepare(rows: list[Customer]) -> None:
        matches.update(list_extras.search_matches(s, rows, q, region()))

    return jsonify(
        keyset_page(s, stmt, Customer.id, "crm_api.list_customers", item, prepare=prepare)
    )


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
    customer = records.create_customer(s, require_user(), json_body(), region())
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
    records.update_customer(s, user, customer, json_body(), region())
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
    records.delete_customer(s, user, svc.load_customer(s, user, customer_id))
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
    ASSIGN_FIELDS,
    customer_ids={"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
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
        isinstance(i, int) and not isinstance(i, bool) and 0 < i <= MAX_ID for i in ids
    ):
        raise ValidationError([FieldError("customer_ids", _("Expected a list of customer ids."))])
    moved = lifecycle.assign_owner(
        s, require_user(), ids, values["owner_id"], values.get("reason") or ""
    )
    s.commit()
    return jsonify({"moved": moved})
