"""The suppression list: addresses that are not sent to (STOP, unsubscribe, hard bounce, spam)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.auth import User
from hub.channels.models import Suppression

REASONS = ("stop", "unsubscribe", "bounce", "spamreport", "provider_opt_out", "manual")


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
