"""/api/v1/orders: orders with their lines; amounts are computed, never sent."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from hub.core import db
from hub.core.apikit import document, fields_schema, json_body, query_int, serialize
from hub.core.auth import login_required, require_user
from hub.crm.customers.lookup import load_customer
from hub.crm.record_routes import (
    changed,
    created,
    deleted,
    document_list,
    list_page,
    query_choice,
    query_date,
)
from hub.crm.sales import order_changes as changes
from hub.crm.sales import order_fields
from hub.crm.sales import orders as svc
from hub.crm.sales import sales_api_bp as bp
from hub.crm.sales.models import ORDER_STATUSES, Order

TAG = "orders"
LINE_OUT = fields_schema(order_fields.LINE_READ_ONLY + order_fields.LINE_FIELDS, output=True)
OUT = fields_schema(
    order_fields.ORDER_READ_ONLY + order_fields.ORDER_FIELDS,
    output=True,
    lines={"type": "array", "items": LINE_OUT},
    customer_name={"type": "string"},
)
LINES_IN = {"type": "array", "minItems": 1, "items": fields_schema(order_fields.LINE_FIELDS)}
CREATE = fields_schema(
    order_fields.ORDER_CREATE,
    lines=LINES_IN,
    credit_override_reason={
        "type": "string",
        "description": "Directors and admins: why an order the credit check refuses (credit "
        "hold, or the open balance plus this order over the credit limit) is taken anyway",
    },
)
CREATE["required"] = [*CREATE["required"], "lines"]
PATCH = fields_schema(
    order_fields.ORDER_FIELDS,
    lines={**LINES_IN, "description": "Replaces every line; only while pending or confirmed"},
)
PATCH.pop("required", None)
FILTERS = (
    ("status", "string", "Only this status"),
    ("customer_id", "integer", "Only this customer's"),
    ("date_from", "string", "Ordered on or after this date (ISO)"),
    ("date_to", "string", "Ordered on or before this date (ISO)"),
)


def order_json(order: Order) -> dict[str, Any]:
    return serialize(
        order,
        order_fields.ORDER_READ_ONLY + order_fields.ORDER_FIELDS,
        lines=[
            serialize(ln, order_fields.LINE_READ_ONLY + order_fields.LINE_FIELDS)
            for ln in order.lines
        ],
        customer_name=order.customer.name,
    )


document_list(
    "/orders",
    "List orders of customers the token's user may see",
    TAG,
    OUT,
    FILTERS,
    search="Search text: the contract number or the customer's name",
)


@bp.get("/orders")
@login_required
def list_orders() -> Response:
    stmt = svc.filtered_orders(
        require_user(),
        request.args.get("q", ""),
        query_choice("status", ORDER_STATUSES),
        query_int("customer_id"),
        query_date("date_from"),
        query_date("date_to"),
    )
    return list_page(stmt, Order.id, "sales_api.list_orders", order_json)


document(
    "post",
    "/orders",
    "Record an order with its lines (a duplicate contract number is refused by name; a "
    "customer on credit hold or over its credit limit is refused with 409 and the reason, "
    "unless a director gives credit_override_reason)",
    TAG,
    body=CREATE,
    response=OUT,
    status=201,
    roles="admin, director, the owning agent",
)


@bp.post("/orders")
@login_required
def create_order() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    user = require_user()
    data = json_body()
    checked = {k: v for k, v in data.items() if k != "credit_override_reason"}
    customer_id = order_fields.parse_order(checked, with_customer=True)["customer_id"]
    customer = load_customer(s, user, customer_id, edit=True)
    order = changes.create_order(
        s, user, customer, {k: v for k, v in data.items() if k != "customer_id"}
    )
    return created(order, order_json, "sales_api.get_order", "order_id")


document("get", "/orders/{id}", "Read an order with its lines", TAG, response=OUT)


@bp.get("/orders/<int:order_id>")
@login_required
def get_order(order_id: int) -> Response:
    return jsonify(order_json(svc.load_order(db.session(), require_user(), order_id)))


document(
    "patch",
    "/orders/{id}",
    "Change some fields or the lines; a new `status` moves the order forward",
    TAG,
    body=PATCH,
    response=OUT,
    roles="admin, director, the owning agent",
)


@bp.patch("/orders/<int:order_id>")
@login_required
def update_order(order_id: int) -> tuple[Response, int]:
    order = svc.load_order(db.session(), require_user(), order_id, edit=True)
    return changed(order, changes.update_order, order_json)


document(
    "delete",
    "/orders/{id}",
    "Delete an order entered by mistake (only while pending; cancel it otherwise)",
    TAG,
    status=204,
    roles="admin, director, the owning agent",
)


@bp.delete("/orders/<int:order_id>")
@login_required
def delete_order(order_id: int) -> tuple[str, int]:
    order = svc.load_order(db.session(), require_user(), order_id, edit=True)
    return deleted(order, changes.delete_order)
