"""What every dashboard query shares: the customer filters as conditions, and time buckets that
group the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, has_request_context

from hub.core.clock import day_start
from hub.crm.customers.models import Customer
from hub.insight.filters import Filters

T = TypeVar("T")
WEEKLY_UP_TO_DAYS = 182  # longer ranges are grouped by month


def customer_conditions(f: Filters, owner_column: Any = Customer.owner_id) -> list[Any]:
    """Owner (on the record's own owner column), class and region of the customer."""
    conditions: list[Any] = []
    if f.owner_id is not None:
        conditions.append(owner_column == f.owner_id)
    if f.customer_class is not None:
        conditions.append(Customer.customer_class == f.customer_class)
    if f.region is not None:
        conditions.append(Customer.region == f.region)
    return conditions


def needs_customer(f: Filters) -> bool:
    """Whether class or region filters need the customers table joined."""
    return f.customer_class is not None or f.region is not None


def with_customer_filters(
    stmt: sa.Select[Any], f: Filters, customer_id: Any, owner_column: Any = Customer.owner_id
) -> sa.Select[Any]:
    """`stmt` cut by the filters; the customers table is joined only when class or region ask."""
    if needs_customer(f) or owner_column is Customer.owner_id and f.owner_id is not None:
        stmt = stmt.join(Customer, Customer.id == customer_id)
    return stmt.where(*customer_conditions(f, owner_column))


@dataclass(frozen=True)
class Buckets:
    """Consecutive periods covering the range: weeks from its first day, or calendar months."""

    starts: list[date]
    end: date  # the day after the last period
    monthly: bool

    def labels(self) -> list[str]:
        if self.monthly:
            return [d.strftime("%Y-%m") for d in self.starts]
        return [d.isoformat() for d in self.starts]

    def index_days(self, column: Any) -> Any:
        """The period number of a date column (the summary tables' days)."""
        if len(self.starts) < 2:
            return sa.literal(0)
        return sa.case(
            *((column < d, i) for i, d in enumerate(self.starts[1:])), else_=len(self.starts) - 1
        )

    def index(self, column: Any, f: Filters) -> Any:
        """A CASE giving each row's period number (rows outside the range are filtered apart)."""
        bounds = [day_start(d, f.tz) for d in self.starts[1:]]
        if not bounds:
            return sa.literal(0)
        return sa.case(*((column < b, i) for i, b in enumerate(bounds)), else_=len(bounds))


def buckets(f: Filters) -> Buckets:
    if (f.end - f.start).days < WEEKLY_UP_TO_DAYS:
        starts = []
        day = f.start
        while day <= f.end:
            starts.append(day)
            day += timedelta(days=7)
        return Buckets(starts, f.end + timedelta(days=1), False)
    starts = [f.start.replace(day=1)]
    while True:
        y, m = divmod(starts[-1].year * 12 + starts[-1].month, 12)
        following = date(y, m + 1, 1)
        if following > f.end:
            break
        starts.append(following)
    return Buckets(starts, f.end + timedelta(days=1), True)


def once_per_request(name: str, f: Filters, compute: Callable[[], T]) -> T:
    """`compute()` once per request for these filters: two charts of a page share a query."""
    if not has_request_context():
        return compute()
    cache = g.setdefault("insight_cache", {})
    key = (name, f)
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def summary_conditions(table: Any, f: Filters, owner_column: Any = None) -> list[Any]:
    """The filters on a summary table's owner, class and region columns."""
    owner = table.owner_id if owner_column is None else owner_column
    conditions: list[Any] = []
    if f.owner_id is not None:
        conditions.append(owner == f.owner_id)
    if f.customer_class is not None:
        conditions.append(table.customer_class == f.customer_class)
    if f.region is not None:
        conditions.append(table.region == f.region)
    return conditions


def in_days(table: Any, f: Filters) -> Any:
    return sa.and_(table.day >= f.start, table.day <= f.end)


def in_range(column: Any, f: Filters) -> Any:
    return sa.and_(column >= f.since, column < f.until)
