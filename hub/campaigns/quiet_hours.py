"""Quiet hours in the recipient's time zone: when a message may go, at the earliest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def in_quiet_hours(minute: int, start: int, end: int) -> bool:
    """Whether a local minute of the day falls in [start, end), which may wrap past midnight."""
    if start == end:
        return False  # no quiet hours
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def earliest_send(now: datetime, tz: ZoneInfo, start: int, end: int) -> datetime:
    """`now`, or when the quiet window that `now` falls in opens again (in UTC)."""
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    if not in_quiet_hours(minute, start, end):
        return now
    opening = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if opening <= local:
        opening += timedelta(days=1)
    # Rebuild through the zone so a daylight-saving change between now and then is honoured.
    opening = datetime(
        opening.year, opening.month, opening.day, opening.hour, opening.minute, tzinfo=tz
    )
    return opening.astimezone(UTC)


def parse_hhmm(value: str) -> int | None:
    """Minutes after midnight from "21:00", or None when it is not a time of day."""
    try:
        hours, minutes = value.strip().split(":")
        h, m = int(hours), int(minutes)
    except (ValueError, AttributeError):
        return None
    return h * 60 + m if 0 <= h < 24 and 0 <= m < 60 else None


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
