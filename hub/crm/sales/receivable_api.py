"""/api/v1/receivables: amounts owed, their payments, and the aging of what is open."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from hub.core import db
from hub.core.apikit import (
    document,
    fields_schema,
    json_body,
    query_int,
    serialize,
)
from hub.core.auth import login_required, require_user
from hub.core.clock import business_today
from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID, Field, parse
from hub.crm.customers.lookup import load_customer
from hub.crm.record_routes import created, document_list, list_page, query_choice
from hub.crm.sales import aging as aging_svc
from hub.crm.sales import receivable_api_bp as bp
from hub.crm.sales import receivable_queries as q
from hub.crm.sales import receivables as svc
from hub.crm.sales.collection import load_receivable
from hub.crm.sales.models import Order
from hub.crm.sales.receivable_models import Payment

TAG = "receivables"
READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("customer_id", "int", read_only=True),
    Field("order_id", "int", read_only=True),
    Field("paid", "decimal", read_only=True, description="The sum of its payments"),
    Field("outstanding", "decimal", read_only=True, description="amount - paid"),
    Field("status", "choice", read_only=True, choices=q.STATUSES),
    Field("settled_on", "date", read_only=True),
)
PAYMENT_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("receivable_id", "int", read_only=True),
)
PAYMENT_OUT = fields_schema(PAYMENT_READ_ONLY + svc.PAYMENT_FIELDS, output=True)
OUT = fields_schema(
    READ_ONLY + svc.RECEIVABLE_FIELDS,
    output=True,
    customer_name={"type": "string"},
    days_overdue={"type": "integer", "description": "Days past the due date while open; else 0"},
    payments={"type": "array", "items": PAYMENT_OUT},
)
CREATE_EXTRA: tuple[Field, ...] = (
    Field("customer_id", "int", _l("Customer"), required=True, minimum=1, maximum=MAX_ID),
    Field("order_id", "int", _l("Order"), minimum=1, maximum=MAX_ID,
          description="An order of this customer; its currency and what it has left to raise apply"),
)
CREATE = fields_schema(CREATE_EXTRA + svc.RECEIVABLE_FIELDS)
AGING_OUT = {
    "type": "object",
    "properties": {
        "buckets": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "label": {"type": "string", "enum": list(aging_svc.BUCKET_LABELS)},
                    "amount": {"type": "string", "description": "Decimal, two places"},
                    "customers": {"type": "integer"},
                },
                "required": ["label", "amount", "customers"],
            },
        },
        "total": {"type": "string", "description": "The sum of the buckets (overdue only)"},
    },
    "required": ["buckets", "total"],
}


def receivable_json(r: svc.Receivable, with_payments: bool = True) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "customer_name": r.customer.name,
        "days_overdue": q.days_overdue(r, business_today()),
    }
    if with_payments:
        extra["payments"] = [payment_json(p) for p in r.payments]
    return serialize(r, READ_ONLY + svc.RECEIVABLE_FIELDS, **extra)


def payment_json(p: Payment) -> dict[str, Any]:
    return serialize(p, PAYMENT_READ_ONLY + svc.PAYMENT_FIELDS)


def _query_currency() -> str | None:
    raw = request.args.get("currency", "").strip().upper()
    if raw and not (len(raw) == 3 and raw.isalpha()):
        raise ValidationError([FieldError("currency", _("Expected a three-letter currency code."))])
    return raw or None


def _query_overdue() -> bool:
    # Stricter than query_bool (no yes/no) and never None: what this list has always taken.
    raw = request.args.get("overdue", "").strip().lower()
    if raw not in ("", "true", "false", "1", "0"):
        raise ValidationError([FieldError("overdue", _("Expected true or false."))])
    return raw in ("true", "1")


document_list(
    "/receivables", "List receivables of customers the token's user may see", TAG, OUT,
    (
        ("customer_id", "integer", "Only this customer's"),
        ("status", "string", "open, settled or written_off (default: any)"),
        ("overdue", "boolean", "true: only open ones past their due date"),
        ("currency", "string", "Only this currency (ISO 4217)"),
    ),
)


@bp.get("/receivables")
@login_required
def list_receivables() -> Response:
    filters = q.ReceivableFilters(
        customer_id=query_int("customer_id"),
        status=query_choice("status", q.STATUSES),
        overdue=_query_overdue(),
        currency=_query_currency(),
    )
    stmt = q.filtered_receivables(require_user(), filters, business_today()).options(
        selectinload(svc.Receivable.customer))
    return list_page(stmt, svc.Receivable.id, "receivable_api.list_receivables",
                     lambda r: receivable_json(r, with_payments=False))


document(
    "post", "/receivables", "Raise an amount due by hand (for an order of the customer, or not)",
    TAG, body=CREATE, response=OUT, status=201, roles="admin, director, the owning agent",
)


@bp.post("/receivables")
@login_required
def create_receivable() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    user = require_user()
    data = json_body()
    ids = parse(CREATE_EXTRA, {k: data.get(k) for k in ("customer_id", "order_id") if k in data})
    customer = load_customer(s, user, ids["customer_id"], edit=True)
    order = None
    if ids.get("order_id") is not None:
        order = s.get(Order, ids["order_id"])
        if order is None:
            raise ValidationError([FieldError("order_id", _("There is no such order."))])
    rest = {k: v for k, v in data.items() if k not in ("customer_id", "order_id")}
    found = svc.raise_receivable(s, user, customer, rest, order=order)
    return created(found, receivable_json, "receivable_api.get_receivable", "receivable_id")


document("get", "/receivables/{id}", "Read a receivable with its payments", TAG, response=OUT)


@bp.get("/receivables/<int:receivable_id>")
@login_required
def get_receivable(receivable_id: int) -> Response:
    return jsonify(receivable_json(load_receivable(db.session(), require_user(), receivable_id)))


document(
    "post", "/receivables/{id}/payments",
    "Record a payment (partial or whole); the receivable is settled when nothing is left to pay",
    TAG, body=fields_schema(svc.PAYMENT_FIELDS), response=PAYMENT_OUT, status=201,
    roles="admin, director, the owning agent",
)


@bp.post("/receivables/<int:receivable_id>/payments")
@login_required
def create_payment(receivable_id: int) -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    user = require_user()
    found = load_receivable(s, user, receivable_id, edit=True)
    payment = svc.record_payment(s, user, found, json_body())
    return created(payment, payment_json, "receivable_api.get_receivable", "receivable_id", found)


document(
    "get", "/receivables/aging",
    "Outstanding of open receivables past due, in buckets of days (0-30 ... 730+)", TAG,
    response=AGING_OUT,
    query=(
        ("owner_id", "integer", "Only customers of this owner"),
        ("class", "string", "Only customers of this class (A, B or C)"),
        ("currency", "string", "The currency reported (default CNY)"),
    ),
)


@bp.get("/receivables/aging")
@login_required
def receivables_aging() -> Response:
    user = require_user()
    # An agent's figures are their own customers' whatever owner_id says (aging() limits them).
    filters = aging_svc.AgingFilters(
        owner_id=query_int("owner_id"),
        customer_class=query_choice("class", ("A", "B", "C")),
        currency=_query_currency() or "CNY",
    )
    return jsonify(aging_svc.buckets_json(
        aging_svc.aging(db.session(), business_today(), filters, "class", user)))
