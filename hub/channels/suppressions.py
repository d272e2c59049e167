"""The suppression list: addresses that are not sent to (STOP, unsubscribe, hard bounce, spam)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.channels.models import Suppression
from hub.core.auth import User
from hub.core.clock import utcnow
from hub.crm.labels import CHOICE_LABELS

REASONS = ("stop", "unsubscribe", "bounce", "spamreport", "provider_opt_out", "manual")
REASON_LABELS = CHOICE_LABELS["suppression_reason"]


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


def normalize_address(channel: str, address: str) -> str:
    # Emails compare without case; phones are already E.164.
    return address.strip().lower() if channel == "email" else address.strip()


def find(db: Session, channel: str, address: str) -> Suppression | None:
    return db.scalar(
        sa.select(Suppression).where(
            Suppression.channel == channel,
            Suppression.address == normalize_address(channel, address),
        )
    )


def suppress(
    db: Session,
    channel: str,
    address: str,
    reason: str,
    source: str = "",
    actor: User | None = None,
) -> Suppression:
    """Add the address (idempotent: an existing entry is kept with its first reason)."""
    if reason not in REASONS:
        raise ValueError(f"unknown suppression reason {reason!r}")
    existing = find(db, channel, address)
    if existing is not None:
        return existing
    row = Suppression(
        channel=channel,
        address=normalize_address(channel, address),
        reason=reason,
        source=source[:200],
        created_by=actor.id if actor else None,
    )
    db.add(row)
    db.flush()
    return row


def lift(db: Session, channel: str, address: str) -> bool:
    """Remove the address (START, or an admin's correction); returns whether it was there."""
    row = find(db, channel, address)
    if row is None:
        return False
    db.delete(row)
    db.flush()
    return True


def suppress_many(db: Session, rows: list[tuple[str, str, str, str]]) -> None:
    """(channel, address, reason, source) rows in one statement; addresses already listed keep
    their first reason."""
    unique = {}
    for channel, address, reason, source in rows:
        key = (channel, normalize_address(channel, address))
        unique.setdefault(
            key,
            {
                "channel": key[0],
                "address": key[1],
                "reason": reason,
                "source": source[:200],
                "created_at": utcnow(),
            },
        )
    if not unique:
        return
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.execute(
        insert(Suppression).on_conflict_do_nothing(index_elements=["channel", "address"]),
        list(unique.values()),
    )
