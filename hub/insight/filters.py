"""The dashboards' filters: a date range, owner, class, region and channel, parsed from a query
string with every bad value named by its field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from hub.core.clock import day_end, day_start
from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID

DEFAULT_DAYS = 90
MAX_DAYS = 3 * 366
CLASSES = ("A", "B", "C")
# Channels as the follow-ups, messages and calls know them.
CHANNELS = ("call", "sms", "email")
FILTER_KEYS = ("start", "end", "owner", "class", "region", "channel")


@dataclass(frozen=True)
class Filters:
    """What every chart of a dashboard is cut by; None is "all"."""

    start: date
    end: date  # inclusive
    now: datetime
    tz: ZoneInfo
    owner_id: int | None = None
    customer_class: str | None = None
    region: str | None = None
    channel: str | None = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()

    @property
    def since(self) -> datetime:
        """The range's first instant (midnight of `start` in the business time zone)."""
        return day_start(self.start, self.tz)

    @property
    def until(self) -> datetime:
        """The first instant after the range."""
        return day_end(self.end, self.tz)

    def scoped_to(self, owner_id: int | None) -> Filters:
        """The same filters for one user's own work (the agent dashboard)."""
        return replace(self, owner_id=owner_id)

    def query_args(self) -> dict[str, str]:
        """The filters as the form sends them, for links (CSV downloads) that keep them."""
        args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        for key, value in (
            ("owner", self.owner_id),
            ("class", self.customer_class),
            ("region", self.region),
            ("channel", self.channel),
        ):
            if value is not None:
                args[key] = str(value)
        return args


def _date(args: Mapping[str, str], key: str, errors: list[FieldError]) -> date | None:
    raw = (args.get(key) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(key, _("Expected a date as YYYY-MM-DD.")))
        return None


def parse_filters(args: Mapping[str, str], now: datetime, tz: ZoneInfo) -> Filters:
    """Filters from a query string; the default range is the last 90 days up to today."""
    today = now.astimezone(tz).date()
    errors: list[FieldError] = []
    start = _date(args, "start", errors)
    end = _date(args, "end", errors)
    owner_id = None
    raw_owner = (args.get("owner") or "").strip()
    if raw_owner:
        if not raw_owner.isdigit() or not 1 <= int(raw_owner) <= MAX_ID:
            errors.append(FieldError("owner", _("Expected a user's number.")))
        else:
            owner_id = int(raw_owner)
    customer_class = (args.get("class") or "").strip().upper() or None
    if customer_class is not None and customer_class not in CLASSES:
        errors.append(
            FieldError("class", _("Choose one of: %(choices)s.", choices=", ".join(CLASSES)))
        )
    region = (args.get("region") or "").strip() or None
    if region is not None and len(region) > 80:
        errors.append(FieldError("region", _("At most %(count)d characters.", count=80)))
    channel = (args.get("channel") or "").strip().lower() or None
    if channel is not None and channel not in CHANNELS:
        errors.append(
            FieldError("channel", _("Choose one of: %(choices)s.", choices=", ".join(CHANNELS)))
        )
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if not errors and start > end:
        errors.append(FieldError("start", _("The start date is after the end date.")))
    if not errors and (end - start).days >= MAX_DAYS:
        errors.append(FieldError("start", _("At most %(count)d days at once.", count=MAX_DAYS)))
    if errors:
        raise ValidationError(errors)
    return Filters(start, end, now, tz, owner_id, customer_class, region, channel)
