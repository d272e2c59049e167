"""Order pages: the list and its two follow-up lists, the order page, forms with line rows."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import login_required, require_user
from hub.core.clock import business_today
from hub.core.pagination import page_arg
from hub.core.refusals import Conflict, FieldError, ValidationError
from hub.crm.customers.lookup import can_edit, load_customer
from hub.crm.customers.models import Customer
from hub.crm.customers.views import form_values
from hub.crm.followups.models import FollowUp
from hub.crm.sales import order_changes as changes
from hub.crm.sales import order_fields
from hub.crm.sales import orders as svc
from hub.crm.sales import sales_bp as bp
from hub.crm.sales.models import ORDER_STATUSES, Order
from hub.crm.sales.view_helpers import customer_choices, date_arg, int_arg, kept_args

Page = str | tuple[str, int] | Response
LINE_KEY = re.compile(r"^lines-(\d{1,3})-(product|quantity|unit_price)$")
SPARE_ROWS = 3
NEW_FIELDS = ("contract_number", "order_date", "currency", "status", "ship_date", "notes")
EDIT_FIELDS = ("contract_number", "order_date", "currency", "ship_date", "notes")


def _list_page(mode: str) -> str:
    user = require_user()
    s = db.session()
    q = request.args.get("q", "")
    status = request.args.get("status") or None
    sort = request.args.get("sort", "-order_date")
    if mode == "to_ship":
        page = svc.orders_to_ship(s, user, page_arg())
    elif mode == "in_transit":
        page = svc.orders_in_transit(s, user, page_arg())
    else:
        page = svc.search_orders(
            s,
            user,
            q,
            status if status in ORDER_STATUSES else None,
            int_arg("customer_id"),
            date_arg("from"),
            date_arg("to"),
            sort,
            page_arg(),
        )
    customer_id = int_arg("customer_id")
    pick = request.args.get("pick", "")
    return render_template(
        "orders.html",
        mode=mode,
        page=page,
        q=q,
        status=status,
        sort=sort,
        date_from=request.args.get("from", ""),
        date_to=request.args.get("to", ""),
        customer=s.get(Customer, customer_id) if customer_id else None,
        statuses=ORDER_STATUSES,
        kept=kept_args("page"),
        sort_args=kept_args("page", "sort"),
        pick=pick,
        choices=customer_choices(s, user, pick) if mode == "all" else [],
    )


@bp.get("/orders")
@login_required
def orders() -> str:
    return _list_page("all")


@bp.get("/orders/to-ship")
@login_required
def orders_to_ship() -> str:
    return _list_page("to_ship")


@bp.get("/orders/in-transit")
@login_required
def orders_in_transit() -> str:
    return _list_page("in_transit")


# --- the form -----------------------------------------------------------------------------------


def _rows_from_form() -> tuple[list[dict[str, str]], list[dict[str, str]], list[int]]:
    """The line rows as typed, the filled ones (an empty row is ignored), and their row numbers."""
    count = 0
    for key in request.form:
        match = LINE_KEY.match(key)
        if match:
            count = max(count, int(match.group(1)) + 1)
    rows = [
        {k: request.form.get(f"lines-{i}-{k}", "") for k in ("product", "quantity", "unit_price")}
        for i in range(count)
    ]
    filled = [(i, row) for i, row in enumerate(rows) if any(v.strip() for v in row.values())]
    return rows, [row for _, row in filled], [i for i, _ in filled]


def _row_errors(exc: ValidationError, numbers: list[int]) -> dict[str, str]:
    """Errors keyed by form row (`lines.3.quantity` is the fourth row on the page)."""
    out = {}
    for e in exc.errors:
        match = re.match(r"^lines\.(\d+)(\..*)?$", e.field)
        if match and int(match.group(1)) < len(numbers):
            row = numbers[int(match.group(1))]
            out[f"lines.{row}{match.group(2) or ''}"] = e.message
        else:
            out[e.field] = e.message
    return out


def _form_page(
    order: Order | None,
    customer: Customer,
    values: dict[str, Any],
    rows: list[dict[str, Any]],
    errors: dict[str, str],
    credit_refused: str | None = None,
) -> tuple[str, int]:
    rows = rows + [{} for _ in range(SPARE_ROWS)]
    return render_template(
        "orders_form.html",
        order=order,
        customer=customer,
        values=values,
        rows=rows,
        errors=errors,
        fields={f.name: f for f in order_fields.ORDER_FIELDS},
        shown=NEW_FIELDS if order is None else EDIT_FIELDS,
        line_fields={f.name: f for f in order_fields.LINE_FIELDS},
        statuses=[(st, svc.status_label(st)) for st in ORDER_STATUSES],
        lines_editable=order is None or order.status in changes.EDITABLE_LINES,
        credit_refused=credit_refused,
        override_reason=request.form.get("credit_override_reason", ""),
    ), 409 if credit_refused else 422 if errors else 200


def _save(order: Order | None, customer: Customer) -> Page:
    user = require_user()
    s = db.session()
    # Once recorded, the status moves on the order page, where each move is written down.
    shown = NEW_FIELDS if order is None else EDIT_FIELDS
    values = form_values([f for f in order_fields.ORDER_FIELDS if f.name in shown])
    rows, filled, numbers = _rows_from_form()
    data: dict[str, Any] = dict(values)
    if order is None or order.status in changes.EDITABLE_LINES:
        data["lines"] = filled
    if order is None and request.form.get("credit_override_reason", "").strip():
        data["credit_override_reason"] = request.form["credit_override_reason"]
    try:
        if order is None:
            order = changes.create_order(s, user, customer, data)
            message = _("Order %(number)s recorded.", number=order.contract_number)
        else:
            changes.update_order(s, user, order, data)
            message = _("Order %(number)s saved.", number=order.contract_number)
    except ValidationError as exc:
        s.rollback()
        return _form_page(order, customer, values, rows, _row_errors(exc, numbers))
    except Conflict as exc:
        if order is not None:
            raise
        s.rollback()  # the credit check refused it: nothing is stored, the form keeps its values
        return _form_page(order, customer, values, rows, {}, credit_refused=str(exc))
    s.commit()
    flash(message, "success")
    return redirect(url_for("sales.order", order_id=order.id))


@bp.route("/customers/<int:customer_id>/orders/new", methods=["GET", "POST"])
@login_required
def new_order(customer_id: int) -> Page:
    customer = load_customer(db.session(), require_user(), customer_id, edit=True)
    if request.method == "POST":
        return _save(None, customer)
    values = {"currency": "CNY", "order_date": business_today().isoformat(), "status": "pending"}
    return _form_page(None, customer, values, [], {})


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@login_required
def edit_order(order_id: int) -> Page:
    order = svc.load_order(db.session(), require_user(), order_id, edit=True)
    if request.method == "POST":
        return _save(order, order.customer)
    values = {f.name: getattr(order, f.name) for f in order_fields.ORDER_FIELDS}
    rows = [
        {"product": ln.product, "quantity": ln.quantity.normalize(), "unit_price": ln.unit_price}
        for ln in order.lines
    ]
    return _form_page(order, order.customer, values, rows, {})


# --- the order page -----------------------------------------------------------------------------


def _order_page(order: Order, errors: dict[str, str], values: dict[str, Any]) -> Page:
    user = require_user()
    s = db.session()
    history = s.scalars(
        sa.select(FollowUp)
        .where(FollowUp.order_id == order.id)
        .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
    ).all()
    if order.status in ("delivered", "cancelled"):
        moves: list[str] = []
    else:
        later = changes.FLOW[changes.FLOW.index(order.status) + 1 :]
        moves = list(later) + (["cancelled"] if order.status in changes.EDITABLE_LINES else [])
    return render_template(
        "orders_detail.html",
        order=order,
        history=history,
        moves=moves,
        errors=errors,
        values=values,
        can_edit=can_edit(user, order.customer),
    ), 422 if errors else 200


@bp.get("/orders/<int:order_id>")
@login_required
def order(order_id: int) -> Page:
    return _order_page(svc.load_order(db.session(), require_user(), order_id), {}, {})


@bp.post("/orders/<int:order_id>/status")
@login_required
def order_status(order_id: int) -> Page:
    user = require_user()
    s = db.session()
    order = svc.load_order(s, user, order_id, edit=True)
    values = {k: request.form.get(k, "") for k in ("status", "ship_date", "delivered_on", "note")}
    try:
        dates = {}
        errors = []
        for key in ("ship_date", "delivered_on"):
            try:
                dates[key] = date.fromisoformat(values[key]) if values[key].strip() else None
            except ValueError:
                errors.append(FieldError(key, _("Expected a date like 2026-03-31.")))
        if errors:
            raise ValidationError(errors)
        changes.set_status(s, user, order, values["status"], note=values["note"], **dates)
    except ValidationError as exc:
        s.rollback()
        return _order_page(order, exc.as_dict(), values)
    s.commit()
    flash(
        _(
            "Order %(number)s is now %(status)s.",
            number=order.contract_number,
            status=svc.status_label(order.status),
        ),
        "success",
    )
    return redirect(url_for("sales.order", order_id=order.id))


@bp.post("/orders/<int:order_id>/delete")
@login_required
def delete_order(order_id: int) -> Response:
    user = require_user()
    s = db.session()
    order = svc.load_order(s, user, order_id, edit=True)
    number = order.contract_number
    changes.delete_order(s, user, order)
    s.commit()
    flash(_("Order %(number)s deleted.", number=number), "success")
    return redirect(url_for("sales.orders"))
