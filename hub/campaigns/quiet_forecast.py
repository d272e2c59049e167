"""Who quiet hours hold back, said before it happens: before launch, the segment's recipients
inside the window at the start (one count grouped by time zone, so a big segment stays cheap);
after, the pending messages that wait for the window to end, with when they go out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign
from hub.campaigns.quiet_hours import earliest_send, hhmm
from hub.campaigns.segments import saved as segments
from hub.campaigns.segments.models import Segment
from hub.channels.models import Message, MessageStatus, Suppression
from hub.core.clock import contact_zone, utcnow
from hub.crm.customers.models import Consent, Contact


@dataclass
class Hold:
    """Recipients waiting, and when the first and the last of them go out."""

    count: int = 0
    first: datetime | None = None  # UTC
    last: datetime | None = None
    local_times: set[str] = field(default_factory=set)  # their wall clock then: {"08:00"}

    def add(self, n: int, first: datetime, last: datetime, zone_name: str | None) -> None:
        zone = contact_zone(zone_name)
        self.count += n
        self.first = min(self.first or first, first)
        self.last = max(self.last or last, last)
        self.local_times |= {first.astimezone(zone).strftime("%H:%M"), last.astimezone(zone).strftime("%H:%M")}

    def as_json(self, now: datetime) -> dict[str, object]:
        return {
            "count": self.count,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "local_times": sorted(self.local_times),
            "first_in_seconds": max(0, int((self.first - now).total_seconds())) if self.first else None,
            "last_in_seconds": max(0, int((self.last - now).total_seconds())) if self.last else None,
        }


@dataclass(frozen=True)
class Preview:
    """Before launch: how many of the recipients quiet hours will hold at the start."""

    at: datetime  # the start: now, or the scheduled send_at
    scheduled: bool  # the start is later than now
    total: int
    window: str  # "21:00–08:00", or "" when the campaign keeps no quiet hours
    hold: Hold


def recipients_by_zone(db: Session, definition: dict, channel: str) -> list[tuple[str | None, int]]:
    """The recipients a launch would send to (an address, not suppressed, consent not refused),
    counted per time zone name."""
    address = segments.address_column(channel)
    normalized = sa.func.lower(sa.func.trim(address)) if channel == "email" else sa.func.trim(address)
    suppressed = sa.exists().where(Suppression.channel == channel, Suppression.address == normalized)
    refused = sa.exists().where(
        Consent.contact_id == Contact.id, Consent.channel == channel, Consent.granted.is_(False)
    )
    stmt = (
        segments.members(db, definition, channel)
        .with_only_columns(Contact.timezone, sa.func.count())
        .where(~suppressed, ~refused)
        .group_by(Contact.timezone)
    )
    return [(zone_name, n) for zone_name, n in db.execute(stmt)]


def window(campaign: Campaign) -> str:
    if campaign.quiet_start == campaign.quiet_end:
        return ""
    return f"{hhmm(campaign.quiet_start)}–{hhmm(campaign.quiet_end)}"


def preview(db: Session, campaign: Campaign, now: datetime | None = None) -> Preview:
    """Of the recipients the campaign would plan, those inside quiet hours at its start."""
    now = now or utcnow()
    at = campaign.send_at if campaign.send_at and campaign.send_at > now else now
    definition = db.get(Segment, campaign.segment_id).definition
    hold = Hold()
    total = 0
    for zone_name, n in recipients_by_zone(db, definition, campaign.channel):
        total += n
        due = earliest_send(at, contact_zone(zone_name), campaign.quiet_start, campaign.quiet_end)
        if due > at:
            hold.add(n, due, due, zone_name)
    return Preview(at=at, scheduled=at > now, total=total, window=window(campaign), hold=hold)


def held(db: Session, campaign_id: int, now: datetime | None = None) -> tuple[Hold, Hold]:
    """Pending messages not due yet: (held by quiet hours, waiting to retry)."""
    now = now or utcnow()
    stmt = (
        sa.select(
            Message.quiet_wait, Contact.timezone, sa.func.count(), sa.func.min(Message.due_at),
            sa.func.max(Message.due_at),
        )
        .outerjoin(Contact, Contact.id == Message.contact_id)
        .where(Message.campaign_id == campaign_id, Message.status == MessageStatus.PENDING.value, Message.due_at > now)
        .group_by(Message.quiet_wait, Contact.timezone)
    )
    quiet, retry = Hold(), Hold()
    for quiet_wait, zone_name, n, first, last in db.execute(stmt):
        (quiet if quiet_wait else retry).add(n, first, last, zone_name)
    return quiet, retry


def wait_text(delta: timedelta) -> str:
    """A wait as people say it: "4 h 50 min", "2 d 3 h", "less than a minute"."""
    minutes = round(delta.total_seconds() / 60)
    if minutes < 1:
        return _("less than a minute")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours and not minutes:
        return _("%(hours)d h", hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def _times(local_times: Iterable[str]) -> str:
    ordered = sorted(local_times)
    return ordered[0] if len(ordered) == 1 else f"{ordered[0]}–{ordered[-1]}"


def _spread(hold: Hold, now: datetime) -> tuple[str, str, bool]:
    """The waits to the first and the last, and whether they are about the same."""
    first, last = wait_text(hold.first - now), wait_text(hold.last - now)
    return first, last, hold.last - hold.first < timedelta(minutes=1)


def preview_sentence(p: Preview, now: datetime | None = None) -> str:
    """The line next to the Launch button."""
    now = now or utcnow()
    if p.total == 0:
        return _("The segment has no recipients on this channel now.")
    if not p.window:
        return _("No quiet hours: all %(total)d recipients get it as soon as the campaign runs.", total=p.total)
    if not p.hold.count:
        if p.scheduled:
            return _("None of the %(total)d recipients will be in quiet hours (%(window)s their time) at the start.",
                     total=p.total, window=p.window)
        return _("None of the %(total)d recipients is in quiet hours (%(window)s their time) now; all get it on launch.",
                 total=p.total, window=p.window)
    first, last, same = _spread(p.hold, now)
    # ngettext fills in num itself, from the count it chooses the plural by.
    values = {"total": p.total, "window": p.window, "time": _times(p.hold.local_times),
              "wait": first, "first": first, "last": last}
    if p.scheduled and same:
        return _(
            "%(num)d of %(total)d recipients will be in quiet hours at the start (%(window)s their time); "
            "they will get it from %(time)s their time, in about %(wait)s.",
            num=p.hold.count, **values)
    if p.scheduled:
        return _(
            "%(num)d of %(total)d recipients will be in quiet hours at the start (%(window)s their time); "
            "they will get it from %(time)s their time, the first in about %(first)s, the last in about %(last)s.",
            num=p.hold.count, **values)
    if same:
        return ngettext(
            "%(num)d of %(total)d recipients is in quiet hours now (%(window)s their time); "
            "they will get it from %(time)s their time, in about %(wait)s.",
            "%(num)d of %(total)d recipients are in quiet hours now (%(window)s their time); "
            "they will get it from %(time)s their time, in about %(wait)s.",
            p.hold.count, **values)
    return ngettext(
        "%(num)d of %(total)d recipients is in quiet hours now (%(window)s their time); "
        "they will get it from %(time)s their time, the first in about %(first)s, the last in about %(last)s.",
        "%(num)d of %(total)d recipients are in quiet hours now (%(window)s their time); "
        "they will get it from %(time)s their time, the first in about %(first)s, the last in about %(last)s.",
        p.hold.count, **values)


def held_sentence(hold: Hold, now: datetime | None = None) -> str:
    """The progress page's line for messages waiting on quiet hours ("" when none wait)."""
    if not hold.count:
        return ""
    now = now or utcnow()
    first, last, same = _spread(hold, now)
    time = _times(hold.local_times)
    if same:
        return _("%(num)d held until %(time)s their time (about %(wait)s).", num=hold.count, time=time, wait=first)
    return _("%(num)d held until %(time)s their time (the first in about %(first)s, the last in about %(last)s).",
             num=hold.count, time=time, first=first, last=last)


def retry_sentence(hold: Hold, now: datetime | None = None) -> str:
    """The line for messages waiting to be tried again after a provider error ("" when none)."""
    if not hold.count or hold.first is None:
        return ""
    return _("%(num)d waiting to be tried again, the next in about %(wait)s.",
             num=hold.count, wait=wait_text(hold.first - (now or utcnow())))
