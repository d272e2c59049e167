"""Orders: light, but real; they feed turnover figures, revenue classes and shipment follow-ups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from hub.core.auth import Role, User
from hub.core.clock import business_today
from hub.core.pagination import Page, paginate
from hub.core.refusals import NotFound
from hub.core.validation import MAX_ID
from hub.crm.customers.lookup import load_customer, text_or_customer
from hub.crm.customers.models import Customer
from hub.crm.labels import CHOICE_LABELS
from hub.crm.sales.models import Order

STATUS_LABELS = CHOICE_LABELS["order_status"]
CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")  # what MONEY (14, 2) holds


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


# --- who may see which --------------------------------------------------------------------------


def visible_orders(user: User) -> sa.Select[Any]:
    """Agents see the orders of their own customers; every other role sees all."""
    stmt = sa.select(Order)
    if user.role == Role.AGENT:
        stmt = stmt.where(
            Order.customer_id.in_(sa.select(Customer.id).where(Customer.owner_id == user.id))
        )
    return stmt


def load_order(db: Session, user: User, order_id: int, edit: bool = False) -> Order:
    """The order, if the user may see its customer (and change it, with `edit`)."""
    order = db.get(Order, order_id) if 0 < order_id <= MAX_ID else None
    if order is None:
        raise NotFound(_("There is no order %(id)s.", id=order_id))
    load_customer(db, user, order.customer_id, edit=edit)
    return order


# --- lists --------------------------------------------------------------------------------------

SORTS = {
    "order_date": Order.order_date,
    "contract_number": Order.contract_number,
    "amount": Order.amount,
    "status": Order.status,
    "ship_date": Order.ship_date,
}


def filtered_orders(
    user: User,
    query: str = "",
    status: str | None = None,
    customer_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> sa.Select[Any]:
    """Orders the user may see, by contract number or customer name, status and order date."""
    stmt = visible_orders(user)
    match = text_or_customer(query, Order.customer_id, Order.contract_number)
    if match is not None:
        stmt = stmt.where(match)
    if status:
        stmt = stmt.where(Order.status == status)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if date_from is not None:
        stmt = stmt.where(Order.order_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Order.order_date <= date_to)
    return stmt


def search_orders(
    db: Session,
    user: User,
    query: str = "",
    status: str | None = None,
    customer_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    sort: str = "-order_date",
    page: int = 1,
    per_page: int = 25,
) -> Page:
    stmt = filtered_orders(user, query, status, customer_id, date_from, date_to)
    column = SORTS.get(sort.lstrip("-"), Order.order_date)
    order = column.desc() if sort.startswith("-") else column.asc()
    stmt = stmt.options(joinedload(Order.customer)).order_by(order.nulls_last(), Order.id)
    return paginate(db, stmt, page, per_page)


def orders_to_ship(db: Session, user: User, page: int = 1, per_page: int = 25) -> Page:
    """Confirmed and not shipped yet, oldest order first: what the warehouse should send."""
    stmt = (
        visible_orders(user)
        .where(Order.status == "confirmed")
        .options(joinedload(Order.customer))
        .order_by(Order.order_date, Order.id)
    )
    return paginate(db, stmt, page, per_page)


def orders_in_transit(db: Session, user: User, page: int = 1, per_page: int = 25) -> Page:
    """Shipped and not delivered yet, longest on the road first: whom to ask about arrival."""
    stmt = (
        visible_orders(user)
        .where(Order.status == "shipped")
        .options(joinedload(Order.customer))
        .order_by(Order.ship_date.nulls_first(), Order.id)
    )
    return paginate(db, stmt, page, per_page)


# --- performance figures ------------------------------------------------------------------------
# Grouped by extract(year/month): the same SQL meaning on SQLite and PostgreSQL, so the figures
# agree to the cent on both.


def _year() -> sa.ColumnElement[int]:
    return sa.cast(sa.extract("year", Order.order_date), sa.Integer)


def _month() -> sa.ColumnElement[int]:
    return sa.cast(sa.extract("month", Order.order_date), sa.Integer)


def _counted(stmt: sa.Select[Any], currency: str | None) -> sa.Select[Any]:
    stmt = stmt.where(Order.status != "cancelled")
    if currency is not None:
        stmt = stmt.where(Order.currency == currency)
    return stmt


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def turnover_by_month(
    db: Session,
    customer_id: int,
    months: int = 12,
    today: date | None = None,
    currency: str | None = None,
) -> list[tuple[str, Decimal]]:
    """[("2025-04", amount), ...]: the last `months` months up to today's, oldest first, every
    month listed (0 when nothing was ordered). Cancelled orders do not count.

    Amounts of all currencies are added as they are unless `currency` picks one.
    """
    today = today or business_today()
    index = today.year * 12 + today.month - 1
    first = index - months + 1
    start = date(first // 12, first % 12 + 1, 1)
    end = date((index + 1) // 12, (index + 1) % 12 + 1, 1)
    year, month = _year().label("y"), _month().label("m")
    stmt = _counted(
        sa.select(year, month, sa.func.sum(Order.amount))
        .where(Order.customer_id == customer_id, Order.order_date >= start, Order.order_date < end)
        .group_by(year, month),
        currency,
    )
    sums = {(int(y), int(m)): _money(total) for y, m, total in db.execute(stmt)}
    out = []
    for i in range(first, index + 1):
        y, m = divmod(i, 12)
        out.append((f"{y:04d}-{m + 1:02d}", sums.get((y, m + 1), Decimal("0.00"))))
    return out


def turnover_by_year(
    db: Session, customer_id: int, currency: str | None = None
) -> list[tuple[str, Decimal]]:
    """[("2024", amount), ...] from the first year with an order to the last, oldest first (0
    for a year without one). Cancelled orders do not count."""
    year = _year().label("y")
    stmt = _counted(
        sa.select(year, sa.func.sum(Order.amount))
        .where(Order.customer_id == customer_id)
        .group_by(year),
        currency,
    )
    sums = {int(y): _money(total) for y, total in db.execute(stmt)}
    if not sums:
        return []
    return [(f"{y:04d}", sums.get(y, Decimal("0.00"))) for y in range(min(sums), max(sums) + 1)]


def revenue_by_customer(db: Session, since: date | None = None) -> dict[int, Decimal]:
    """Non-cancelled order amounts per customer, ordered on or after `since`; customers without
    such orders are left out."""
    stmt = _counted(
        sa.select(Order.customer_id, sa.func.sum(Order.amount)).group_by(Order.customer_id), None
    )
    if since is not None:
        stmt = stmt.where(Order.order_date >= since)
    return {customer_id: _money(total) for customer_id, total in db.execute(stmt)}
