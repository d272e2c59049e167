"""The values a segment rule compares with: text, lists, numbers, owners and days, each checked
(an error names its place) and compiled to a condition on one column."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from hub.core.clock import business_today, day_end, day_start
from hub.core.db import UTCDateTime
from hub.core.refusals import FieldError

NO_VALUE_OPS = ("is_empty", "not_empty")
# Relative days count in business days from today, so a saved segment keeps moving with time.
RELATIVE_DATE_OPS = ("in_last_days", "more_than_days_ago", "in_next_days")
MAX_DAYS = 36500


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(where, _("Expected text."))
    text = str(value).strip()
    if not text or len(text) > 200:
        raise FieldError(where, _("Expected text of 1 to %(count)d characters.", count=200))
    return text


def _text_list(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or len(value) > 500:
        raise FieldError(where, _("Expected a list of values."))
    return [_text(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldError(where, _("Expected a number."))
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FieldError(where, _("Expected a number.")) from None
    if not number.is_finite():
        raise FieldError(where, _("Expected a number."))
    return number


def _pair(value: Any, where: str, convert: Callable[[Any, str], Any]) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2:
        raise FieldError(where, _("Expected two values: [from, to]."))
    return convert(value[0], f"{where}[0]"), convert(value[1], f"{where}[1]")


def _number(column: Any, op: str, value: Any, where: str) -> Any:
    if op == "between":
        low, high = _pair(value, where, _decimal)
        return column.between(low, high)
    number = _decimal(value, where)
    return {
        "eq": column == number,
        "ne": column != number,
        "gt": column > number,
        "gte": column >= number,
        "lt": column < number,
        "lte": column <= number,
    }[op]


def _owner(column: Any, op: str, value: Any, where: str) -> Any:
    """A user's id (or ids); "is not" and "none of" keep the customers nobody owns."""
    if op in NO_VALUE_OPS:
        return column.is_(None) if op == "is_empty" else column.is_not(None)
    if op not in ("eq", "ne", "in", "not_in"):
        return _number(column, op, value, where)
    raw = value if op in ("in", "not_in") else [value]
    if not isinstance(raw, list) or not raw or len(raw) > 500:
        raise FieldError(where, _("Expected a list of values."))
    ids = []
    for i, v in enumerate(raw):
        at = f"{where}[{i}]" if op in ("in", "not_in") else where
        number = _decimal(v, at)
        if number != number.to_integral_value() or not 0 < number <= 2**31 - 1:
            raise FieldError(at, _("Expected a user's number."))
        ids.append(int(number))
    if op in ("eq", "in"):
        return column.in_(ids)
    return sa.or_(column.is_(None), column.not_in(ids))


def _days(value: Any, where: str) -> int:
    number = _decimal(value, where)
    if number != number.to_integral_value() or not 0 <= number <= MAX_DAYS:
        raise FieldError(where, _("Expected a whole number of days from 0 to %(max)d.", max=MAX_DAYS))
    return int(number)


def _day(value: Any, where: str) -> date:
    if not isinstance(value, str):
        raise FieldError(where, _("Expected a date like 2026-03-31."))
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(where, _("Expected a date like 2026-03-31.")) from None


def _date_rule(column: Any, op: str, value: Any, where: str) -> Any:
    if op in NO_VALUE_OPS:
        return column.is_(None) if op == "is_empty" else column.is_not(None)
    # Timestamps compare against the start of a business day; plain dates compare as dates.
    timestamp = isinstance(column.type, UTCDateTime | sa.DateTime)

    def start(d: date) -> Any:
        return day_start(d) if timestamp else d

    def after_day(d: date) -> Any:
        return day_end(d) if timestamp else d

    if op in RELATIVE_DATE_OPS:
        days, today = _days(value, where), business_today()
        if op == "more_than_days_ago":
            return column < start(today - timedelta(days=days))
        low, high = (today - timedelta(days=days), today) if op == "in_last_days" else (
            today, today + timedelta(days=days)
        )
        return sa.and_(column >= start(low), column < after_day(high)) if timestamp else (
            column.between(low, high)
        )
    if op == "between":
        low, high = _pair(value, where, _day)
        if timestamp:
            return sa.and_(column >= start(low), column < after_day(high))
        return column.between(low, high)
    day = _day(value, where)
    if op == "before":
        return column < start(day)
    if op == "after":
        return column >= after_day(day) if timestamp else column > day
    return sa.and_(column >= start(day), column < after_day(day)) if timestamp else column == day
