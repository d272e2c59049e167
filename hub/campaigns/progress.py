"""A campaign's progress: sends over time (drawn as server-side SVG), the recipients that did not
get the message with the reason, and the same list as CSV with spreadsheet formulas neutralized."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from hub.campaigns.campaigns import FAILED
from hub.channels.models import Message, MessageStatus
from hub.core.db import session_scope
from hub.core.formatting import csv_datetime
from hub.crm.customers.models import Contact, Customer

NOT_SENT = (*FAILED, MessageStatus.SUPPRESSED, MessageStatus.SKIPPED, MessageStatus.CANCELLED)
POINTS = 60
EXPORT_PAGE = 1000


def _second(column: sa.ColumnElement[datetime], dialect: str) -> sa.ColumnElement[str]:
    if dialect == "postgresql":
        return sa.func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS')
    return sa.func.strftime("%Y-%m-%dT%H:%M:%S", column)


@dataclass(frozen=True)
class Series:
    """Cumulative sent and failed counts at evenly spaced times."""

    times: list[datetime]
    sent: list[int]
    failed: list[int]
    start: datetime | None = None  # the first second anything was sent or failed


def over_time(db: Session, campaign_id: int) -> Series:
    """Sends and failures per second from the database, folded into at most 60 points."""
    dialect = db.get_bind().dialect.name
    per_second: dict[str, list[int]] = {}
    for column, index, statuses in (
        (Message.sent_at, 0, None),
        (Message.status_at, 1, FAILED),
    ):
        stmt = (
            sa.select(_second(column, dialect).label("s"), sa.func.count())
            .where(Message.campaign_id == campaign_id, column.is_not(None))
            .group_by(sa.text("s"))
        )
        if statuses:
            stmt = stmt.where(Message.status.in_(statuses))
        for second, n in db.execute(stmt):
            per_second.setdefault(second, [0, 0])[index] += n
    if not per_second:
        return Series([], [], [])
    stamps = sorted(per_second)
    start = datetime.fromisoformat(stamps[0])
    end = datetime.fromisoformat(stamps[-1]) + timedelta(seconds=1)
    step = max((end - start) / POINTS, timedelta(seconds=1))
    times = []
    t = start + step
    while t < end + step:
        times.append(t)
        t += step
    sent, failed = [0] * len(times), [0] * len(times)
    for stamp, (s, f) in per_second.items():
        i = min(len(times) - 1, int((datetime.fromisoformat(stamp) - start) / step))
        sent[i] += s
        failed[i] += f
    for i in range(1, len(times)):
        sent[i] += sent[i - 1]
        failed[i] += failed[i - 1]
    return Series(times, sent, failed, start)


def not_sent(campaign_id: int) -> sa.Select[tuple[Message, Contact | None, Customer | None]]:
    """The recipients that did not get the message (failed, suppressed, skipped, cancelled)."""
    return (
        sa.select(Message, Contact, Customer)
        .outerjoin(Contact, Contact.id == Message.contact_id)
        .outerjoin(Customer, Customer.id == Message.customer_id)
        .where(Message.campaign_id == campaign_id, Message.status.in_(NOT_SENT))
        .order_by(Message.id)
    )


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ (or tab/CR) is quoted away."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_rows(app: Flask, campaign_id: int) -> Iterator[str]:
    """The not-sent list as CSV lines, read by keyset pages so a large campaign streams; each
    page in a short session of its own, so a slow download holds no transaction open."""
    zone = ZoneInfo(app.config["SETTINGS"].timezone)  # the stream runs after the request
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["message_id", "contact", "customer", "address", "status", "reason", "when"])
    yield buffer.getvalue()
    after = 0
    while True:
        with session_scope(app) as db:
            rows = db.execute(not_sent(campaign_id).where(Message.id > after).limit(EXPORT_PAGE)).all()
        if not rows:
            return
        buffer.seek(0)
        buffer.truncate()
        for message, contact, customer in rows:
            writer.writerow(
                [
                    message.id,
                    safe_cell(contact.name if contact else ""),
                    safe_cell(customer.name if customer else ""),
                    safe_cell(message.to_address),
                    message.status,
                    safe_cell(message.error or ""),
                    csv_datetime(message.status_at, zone),
                ]
            )
        after = rows[-1][0].id
        yield buffer.getvalue()
