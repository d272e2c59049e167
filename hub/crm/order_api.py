"""/api/v1/orders: orders with their lines; amounts are computed, never sent."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request, url_for

from hub import db
from hub.apikit import document, fields_schema, json_body, keyset_page, query_int, serialize
from hub.auth import login_required, require_user
from hub.crm import order_changes as changes
from hub.crm import order_fields
from hub.crm import orders as svc
from hub.crm.customers import load_customer
from hub.crm.sales_api import bp, list_query, query_choice, query_date

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


def order_json(order: svc.Order) -> dict[str, Any]:
    return serialize(
        order,
        order_fields.ORDER_READ_ONLY + order_fields.ORDER_FIELDS,
        lines=[
            serialize(ln, order_fields.LINE_READ_ONLY + order_fields.LINE_FIELDS)
            for ln in order.lines
        ],
        customer_name=order.customer.name,
    )


document(
    "get",
    "/orders",
    "List orders of customers the token's user may see",
    TAG,
    response=OUT,
    list_of=True,
    query=list_query("Search text: the contract number or the customer's name") + FILTERS,
)


@bp.get("/orders")
@login_required
def list_orders() -> Response:
    stmt = svc.filtered_orders(
        require_user(),
        request.args.get("q", ""),
        query_choice("status", svc.ORDER_STATUSES),
        query_int("customer_id"),
        query_date("date_from"),
        query_date("date_to"),
    )
    return jsonify(
        keyset_page(db.session(), stmt, svc.Order.id, "sales_api.list_orders", order_json)
    )


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
    s.commit()
    location = url_for("sales_api.get_order", order_id=order.id)
    return jsonify(order_json(order)), 201, {"Location": location}


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
def update_order(order_id: int) -> Response:
    s = db.session()
    user = require_user()
    order = svc.load_order(s, user, order_id, edit=True)
    changes.update_order(s, user, order, json_body())
    s.commit()
    return jsonify(order_json(order))


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
    s = db.session()
    user = require_user()
    changes.delete_order(s, user, svc.load_order(s, user, order_id, edit=True))
    s.commit()
    return "", 204
