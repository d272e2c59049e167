"""The audit trail: who changed what on customers, contacts, classes and owners, and when."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.crm.customers.models import AuditEntry


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def apply_changes(obj: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set attributes on `obj`; return {field: [before, after]} for those that really changed."""
    changes: dict[str, list[Any]] = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changes[name] = [jsonable(old), jsonable(new)]
            setattr(obj, name, new)
    return changes


def record(
    db: Session,
    actor: User | None,
    entity: str,
    entity_id: int,
    action: str,
    changes: dict[str, Any],
    customer_id: int | None = None,
) -> AuditEntry | None:
    """Write one audit entry; an update that changed nothing writes none."""
    if action == "update" and not changes:
        return None
    entry = AuditEntry(
        entity=entity,
        entity_id=entity_id,
        customer_id=customer_id,
        user_id=actor.id if actor else None,
        action=action,
        changes=changes,
    )
    db.add(entry)
    return entry


def customer_trail(db: Session, customer_id: int, limit: int = 200) -> list[AuditEntry]:
    return list(
        db.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.customer_id == customer_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
