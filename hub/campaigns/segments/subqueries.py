"""Segment rules answered by a subquery rather than a column of the joined row: tags and consent
(EXISTS), orders and turnover in a period (a correlated count or sum), the latest survey answer
and overdue receivables."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from hub.campaigns.segments.values import (
    NO_VALUE_OPS,
    _day,
    _decimal,
    _number,
    _pair,
    _text,
    _text_list,
)
from hub.core.refusals import FieldError
from hub.crm.customers.models import Consent, Contact, Customer, Tag, customer_tags
from hub.crm.sales.models import Order


def survey_rule(kind: str, op: str, value: Any, where: str) -> Any:
    """The contact's latest answer to a survey of `kind`, compared (or absent: never answered)."""
    from hub.campaigns.surveys.answers import SCALES
    from hub.campaigns.surveys.models import SurveyResponse

    latest = (
        sa.select(SurveyResponse.score)
        .where(SurveyResponse.contact_id == Contact.id, SurveyResponse.kind == kind)
        .order_by(SurveyResponse.answered_at.desc(), SurveyResponse.id.desc())
        .limit(1)
        .correlate(Contact)
        .scalar_subquery()
    )
    if op in NO_VALUE_OPS:
        return latest.is_(None) if op == "is_empty" else latest.is_not(None)
    low, high = SCALES[kind]
    numbers = _pair(value, where, _decimal) if op == "between" else (_decimal(value, where),)
    if any(not low <= n <= high for n in numbers):
        raise FieldError(
            where,
            _(
                "%(survey)s scores run from %(low)d to %(high)d.",
                survey=kind.upper(),
                low=low,
                high=high,
            ),
        )
    return _number(latest, op, value, where)


def overdue_rule(what: str, op: str, value: Any, where: str) -> Any:
    """A customer's overdue CNY amount, or the days since its oldest overdue due date (0 when
    nothing is overdue), compared as numbers."""
    from hub.core.clock import business_today
    from hub.crm.sales.receivables import oldest_overdue_due_expr, overdue_amount_expr

    today = business_today()
    if what == "amount":
        return _number(overdue_amount_expr(today), op, value, where)
    # Days as due dates (day arithmetic differs between SQLite and PostgreSQL): "at least N
    # days" is "due on or before today - N"; nothing overdue counts as 0 days, due today.
    due = sa.func.coalesce(oldest_overdue_due_expr(today), today)
    flipped = {"gt": "lt", "gte": "lte", "lt": "gt", "lte": "gte"}.get(op, op)

    def day(days: Decimal) -> date:
        if days != days.to_integral_value() or abs(days) > 100_000:
            raise FieldError(where, _("Expected a whole number of days."))
        return today - timedelta(days=int(days))

    if op == "between":
        low, high = _pair(value, where, _decimal)
        return due.between(day(high), day(low))
    target = day(_decimal(value, where))
    return {
        "eq": due == target,
        "ne": due != target,
        "gt": due > target,
        "gte": due >= target,
        "lt": due < target,
        "lte": due <= target,
    }[flipped]


def tags_rule(op: str, value: Any, where: str) -> Any:
    """The customer has the tag (`contains`), one of the tags, or not the tag."""
    names = _text_list(value, where) if op == "contains_any" else [_text(value, where)]
    has = sa.exists().where(
        customer_tags.c.customer_id == Customer.id,
        customer_tags.c.tag_id == Tag.id,
        Tag.name.in_(names),
    )
    return ~has if op == "not_contains" else has


def consent_rule(op: str, value: Any, where: str) -> Any:
    """The contact's recorded consent on the channel named by `value`."""
    if value not in ("email", "sms", "call"):
        raise FieldError(where, _("Choose one of: %(choices)s.", choices="email, sms, call"))

    def recorded(granted: bool) -> Any:
        return sa.exists().where(
            Consent.contact_id == Contact.id, Consent.channel == value, Consent.granted == granted
        )

    if op == "granted":
        return recorded(True)
    if op == "refused":
        return recorded(False)
    return ~recorded(False)


def rule_period(rule: dict[str, Any], at: str) -> tuple[date | None, date | None]:
    """The rule's `from` and `to` dates, either open."""
    start = _day(rule["from"], f"{at}.from") if rule.get("from") is not None else None
    end = _day(rule["to"], f"{at}.to") if rule.get("to") is not None else None
    if start and end and end < start:
        raise FieldError(f"{at}.to", _("The end comes before the start."))
    return start, end


def orders_rule(kind: str, op: str, value: Any, where: str, period: tuple[Any, Any]) -> Any:
    """Orders (count) or turnover (sum of amounts) in a period, cancelled orders left out."""
    measure = (
        sa.func.count(Order.id)
        if kind == "orders"
        else sa.func.coalesce(sa.func.sum(Order.amount), 0)
    )
    sub = sa.select(measure).where(Order.customer_id == Customer.id, Order.status != "cancelled")
    start, end = period
    if start:
        sub = sub.where(Order.order_date >= start)
    if end:
        sub = sub.where(Order.order_date <= end)
    return _number(sub.scalar_subquery(), op, value, where)
