"""Undoing a merge: both customers back exactly as they were, from the merge's snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base
from hub.core.refusals import Conflict, Forbidden, NotFound
from hub.crm.customers import audit
from hub.crm.customers.duplicate_models import CandidateStatus, CustomerMerge, DuplicateCandidate
from hub.crm.customers.merge import CUSTOMERS, can_merge, keep_stamps, restore_row, timeline_note
from hub.crm.customers.models import Customer, CustomFieldValue, Tag, customer_tags


def undo_merge(db: Session, actor: User, merge_id: int) -> Customer:
    """Put both customers back as they were before the merge; returns the restored one."""
    record = _undoable(db, actor, merge_id)
    snap = record.snapshot
    survivor_id, merged_id = record.survivor_id, record.merged_id
    assert survivor_id is not None  # _undoable refuses a merge whose survivor has gone
    db.flush()
    db.execute(CUSTOMERS.insert().values(restore_row(CUSTOMERS, snap["merged"])))
    _move_references_back(db, snap["moved"], merged_id)
    _restore_tags(db, snap["tags"], snap["added_tags"], survivor_id, merged_id)
    _restore_custom_values(db, snap["custom"], snap["moved_custom"], survivor_id, merged_id)
    if snap["candidate"]:
        _dismiss_pair(db, actor, survivor_id, merged_id, snap["candidate"])
    _restore_pairs(db, snap.get("pairs", []))
    db.flush()
    # The survivor's own values last, with its stamps, so it reads exactly as before the merge.
    restored = restore_row(CUSTOMERS, snap["survivor"])
    db.execute(CUSTOMERS.update().where(CUSTOMERS.c.id == survivor_id).values(restored))
    record.undone_at = utcnow()
    record.undone_by_id = actor.id
    db.flush()
    db.expunge_all()
    actor = db.get(User, actor.id) or actor
    kept = db.get(Customer, survivor_id)
    back = db.get(Customer, merged_id)
    assert kept is not None and back is not None
    summary = _("Merge with %(name)s (customer %(id)d) undone.", name=back.name, id=merged_id)
    # The note goes on the timeline without touching the restored fields (system records do not).
    timeline_note(db, actor, kept, summary)
    audit.record(
        db, actor, "customer", survivor_id, "unmerge", {"merged_id": merged_id}, survivor_id
    )
    audit.record(
        db, actor, "customer", merged_id, "unmerge", {"survivor_id": survivor_id}, merged_id
    )
    db.flush()
    return back


def _undoable(db: Session, actor: User, merge_id: int) -> CustomerMerge:
    if not can_merge(actor):
        raise Forbidden(_("Only a director or an admin may merge customers."))
    record = db.get(CustomerMerge, merge_id)
    if record is None:
        raise NotFound(_("There is no merge %(id)s.", id=merge_id))
    if record.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    if record.survivor_id is None:
        raise Conflict(_("The surviving customer has been deleted since; the merge stays."))
    return record


def _move_references_back(db: Session, moved: Mapping[str, list[Any]], merged_id: int) -> None:
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    for key, ids in moved.items():
        table_name, column_name = key.split(".")
        table = tables[table_name]
        (pk,) = table.primary_key.columns
        for start in range(0, len(ids), 500):
            db.execute(
                table.update()
                .where(pk.in_(ids[start : start + 500]))
                .values({column_name: merged_id, **keep_stamps(table)})
            )


def _restore_tags(
    db: Session, tags: list[int], added_tags: list[int], survivor_id: int, merged_id: int
) -> None:
    """The merged customer's tags back (those still existing); the survivor loses the ones the
    merge gave it."""
    if tags:
        existing = set(db.scalars(sa.select(Tag.id).where(Tag.id.in_(tags))))
        rows = [{"customer_id": merged_id, "tag_id": t} for t in tags if t in existing]
        if rows:
            db.execute(customer_tags.insert(), rows)
    if added_tags:
        db.execute(
            customer_tags.delete().where(
                customer_tags.c.customer_id == survivor_id,
                customer_tags.c.tag_id.in_(added_tags),
            )
        )


def _restore_custom_values(
    db: Session,
    custom: list[dict[str, Any]],
    moved_custom: list[int],
    survivor_id: int,
    merged_id: int,
) -> None:
    """Moved values go back; those deleted with the merged customer (the survivor had its own)
    are inserted again."""
    values = CustomFieldValue.__table__
    if moved_custom:
        db.execute(
            values.update()
            .where(values.c.customer_id == survivor_id, values.c.field_id.in_(moved_custom))
            .values(customer_id=merged_id)
        )
    deleted = [c for c in custom if c["field_id"] not in moved_custom]
    if deleted:
        db.execute(values.insert(), [restore_row(values, c) for c in deleted])


def _dismiss_pair(
    db: Session, actor: User, survivor_id: int, merged_id: int, candidate: Mapping[str, Any]
) -> None:
    # The pair was reviewed and found to be two customers after all.
    db.add(
        DuplicateCandidate(
            first_id=min(survivor_id, merged_id),
            second_id=max(survivor_id, merged_id),
            score=candidate["score"],
            reason=candidate["reason"],
            status=CandidateStatus.DISMISSED.value,
            reviewed_by_id=actor.id,
            reviewed_at=utcnow(),
        )
    )


def _restore_pairs(db: Session, rows: list[dict[str, Any]]) -> None:
    """The merged customer's likely-duplicate pairs, back as they were (open ones in the queue
    again), except those whose other customer has gone since or that were found again."""
    if not rows:
        return
    pairs = DuplicateCandidate.__table__
    others = {r["first_id"] for r in rows} | {r["second_id"] for r in rows}
    alive = set(db.scalars(sa.select(CUSTOMERS.c.id).where(CUSTOMERS.c.id.in_(others))))
    taken = {
        (r.first_id, r.second_id)
        for r in db.execute(
            sa.select(pairs.c.first_id, pairs.c.second_id).where(
                pairs.c.first_id.in_(others), pairs.c.second_id.in_(others)
            )
        )
    }
    used_ids = set(db.scalars(sa.select(pairs.c.id).where(pairs.c.id.in_([r["id"] for r in rows]))))
    back = []
    for r in rows:
        if {r["first_id"], r["second_id"]} <= alive and (
            r["first_id"],
            r["second_id"],
        ) not in taken:
            row = restore_row(pairs, r)
            if row["id"] in used_ids:
                del row["id"]
            back.append(row)
    for row in back:
        db.execute(pairs.insert().values(row))
