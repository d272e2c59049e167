"""How values people read are written: dates, times, numbers, money and phone numbers.

One style for every page, flash message and e-mail: a date is the locale's medium date
("Dec 5, 2026", "2026年12月5日"), a date-time is that date with the short time ("Dec 5, 2026,
11:03 AM", "2026年12月5日 11:03"), always on the business's clock (BABEL_DEFAULT_TIMEZONE). CSV
files take ISO 8601 instead (`csv_date`, `csv_datetime`), also in the business's zone, so a
spreadsheet parses them.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from decimal import Decimal

import phonenumbers
from babel import dates as babel_dates
from flask import Flask, has_app_context
from flask_babel import format_date, format_decimal, format_time, get_locale, to_user_timezone

from hub.core.clock import business_zone

Number = int | float | Decimal


def _as_temporal(value: object) -> date | datetime | None:
    """A stored date or datetime; an ISO string (a form value, a JSON field) read as one."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
        except ValueError:
            return None
    return None


def date_text(value: date | datetime | str | None) -> str:
    """The day a value falls on, in the business's zone: "Dec 5, 2026" / "2026年12月5日"."""
    when = _as_temporal(value)
    if when is None:
        return "" if value is None else str(value)
    if isinstance(when, datetime):
        when = to_user_timezone(when)
    return format_date(when, "medium", rebase=False)


def datetime_text(value: datetime | str | None) -> str:
    """An instant on the business's clock: "Dec 5, 2026, 11:03 AM" / "2026年12月5日 11:03"."""
    when = _as_temporal(value)
    if when is None:
        return "" if value is None else str(value)
    if not isinstance(when, datetime):
        return date_text(when)
    local = to_user_timezone(when)
    # The locale's own way of joining a date and a time ("{1}, {0}" in English, "{1} {0}" in Chinese).
    pattern = str(get_locale().datetime_formats["medium"])
    return pattern.replace("{1}", format_date(local, "medium", rebase=False)).replace(
        "{0}", format_time(local, "short", rebase=False)
    )


def time_text(value: datetime | str | None) -> str:
    """The wall-clock time of an instant in the business's zone: "11:03 AM" / "11:03"."""
    when = _as_temporal(value)
    if not isinstance(when, datetime):
        return "" if value is None else str(value)
    return format_time(to_user_timezone(when), "short", rebase=False)


def local_time_text(value: datetime | time) -> str:
    """A wall-clock time as given (a contact's own zone, already applied), in the reader's style."""
    # Service code calls this outside a request too (checks run from jobs and tests): English then.
    locale = get_locale() if has_app_context() else None
    return babel_dates.format_time(value, "short", locale=locale or "en")


def number_text(value: Number | None, digits: int | None = None) -> str:
    """A number with the locale's grouping: "12,345" or, with `digits`, "12,345.50"."""
    if value is None:
        return ""
    if digits is None:
        return format_decimal(value)
    return format_decimal(value, "#,##0." + "0" * digits if digits else "#,##0")


def money_text(amount: Number | None, currency: str | None = "CNY") -> str:
    """An amount with its ISO currency code first: "CNY 120,000.00" (unambiguous in any language)."""
    if amount is None:
        return ""
    return f"{currency or ''} {number_text(amount, 2)}".strip()


def csv_date(value: date | datetime | None, tz: tzinfo | None = None) -> str:
    """A date for a CSV cell: ISO 8601 (2026-12-05), the business's day for an instant.

    `tz` for a stream that outlives its request (no app context to read the zone from)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz or business_zone()).date().isoformat()
    return value.isoformat()


def csv_datetime(value: datetime | None, tz: tzinfo | None = None) -> str:
    """An instant for a CSV cell: ISO 8601 with the business's offset (2026-12-05T11:03:00+08:00)."""
    if value is None:
        return ""
    return value.astimezone(tz or business_zone()).isoformat(timespec="seconds")


def phone_display(e164: str | None) -> str:
    """'+8613800138000' as '+86 138 0013 8000'; anything unparsable is shown as stored."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def init_app(app: Flask) -> None:
    app.add_template_filter(phone_display, "phone")
    app.add_template_filter(date_text, "date")
    app.add_template_filter(datetime_text, "datetime")
    app.add_template_filter(time_text, "time")
    app.add_template_filter(number_text, "number")
    app.add_template_filter(money_text, "money")
