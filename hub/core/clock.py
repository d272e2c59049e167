"""The business clock: the one place the hub learns what "now" and "today" are.

The hub stores instants in UTC, but people count days where the business is (HUB_TIMEZONE):
a follow-up recorded at 07:00 in Shanghai belongs to that Shanghai day, although UTC is still on
the day before. Every "today", "now", day boundary and contact-local time comes from here, so a
test can freeze one instant (time-machine) and every entry point sees the same day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    """Now, as an aware UTC instant: the only call to the system clock in the hub."""
    return datetime.now(UTC)


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def business_zone() -> ZoneInfo:
    """The time zone the business keeps its days in (HUB_TIMEZONE, checked at start-up)."""
    # Outside an app (a helper script, a module-level default) there is no setting to read:
    # HUB_TIMEZONE's own default is the only answer that matches an unconfigured hub.
    name = current_app.config["SETTINGS"].timezone if has_app_context() else DEFAULT_ZONE
    return _zone(name)


def business_now(at: datetime | None = None) -> datetime:
    """`at` (default: now) as a wall-clock time in the business's zone."""
    return (at or utcnow()).astimezone(business_zone())


def business_today(at: datetime | None = None) -> date:
    """The business day `at` (default: now) falls on."""
    return business_now(at).date()


def business_date_of(instant: datetime, tz: ZoneInfo | None = None) -> date:
    """The business day a stored instant falls on (not its UTC date)."""
    return instant.astimezone(tz or business_zone()).date()


def day_start(day: date, tz: ZoneInfo | None = None) -> datetime:
    """The first instant of `day` in the business's zone (or `tz`), in UTC."""
    local = datetime.combine(day, time(0), tzinfo=tz or business_zone())
    return local.astimezone(UTC)


def day_end(day: date, tz: ZoneInfo | None = None) -> datetime:
    """The first instant after `day`: a deadline before it falls on that day or earlier."""
    return day_start(day + timedelta(days=1), tz)


def day_bounds(day: date, tz: ZoneInfo | None = None) -> tuple[datetime, datetime]:
    """[start, end) of `day` in the business's zone (or `tz`), as UTC instants."""
    return day_start(day, tz), day_end(day, tz)


def contact_zone(name: str | None, default: str | None = None) -> ZoneInfo:
    """A contact's zone; an unknown or empty name falls back to the business's zone, then UTC."""
    fallback = default if default is not None else business_zone().key
    for candidate in (name, fallback):
        if candidate:
            try:
                return _zone(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return _zone("UTC")


def local_now(zone_name: str | None, at: datetime | None = None) -> datetime:
    """`at` (default: now) on the wall clock of a contact in `zone_name`."""
    return (at or utcnow()).astimezone(contact_zone(zone_name))


def stamp(at: datetime | None = None) -> str:
    """The business date for file names (customers-2026-12-07.csv): the day the reader is on."""
    return business_today(at).isoformat()
