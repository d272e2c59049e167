"""Merging two customers into one, with the surviving value picked per field, every related
record moved, the merge audited and on the timeline; and undoing it, restoring both exactly."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.db import Base, utcnow
from hub.core.refusals import Conflict, FieldError, Forbidden, NotFound, ValidationError
from hub.crm.customers import audit
from hub.crm.customers.duplicate_models import CandidateStatus, CustomerMerge, DuplicateCandidate
from hub.crm.customers.fields import CUSTOMER_FIELDS
from hub.crm.customers.models import Customer, CustomFieldValue, Tag, customer_tags
from hub.crm.followups.records import Direction, FollowUpChannel, log_follow_up
from hub.crm.intake.cleaning import company_key, match_block

# The fields a person picks a surviving value for, in the order the form shows them.
MERGE_FIELDS = tuple(f.name for f in CUSTOMER_FIELDS if f.kind != "tags")
CUSTOMERS = Customer.__table__
# Tables that hang off a customer but are not moved row by row: links and values keyed by the
# customer (handled below), and the merge bookkeeping itself.
_SPECIAL = {"customer_tags", "custom_field_values", "duplicate_candidates", "customer_merges"}


def can_merge(user: User) -> bool:
    """Merging reaches across owners, so it is for directors and admins."""
    return user.role in (Role.ADMIN, Role.DIRECTOR)


def customer_references() -> Iterator[tuple[sa.Table, sa.Column[Any]]]:
    """Every (table, column) that points at a customer, found in the metadata, so a table added
    later (campaign recipients, calls) is moved too without this module knowing it."""
    for table in Base.metadata.sorted_tables:
        if table.name in _SPECIAL:
            continue
        for fk in table.foreign_keys:
            if fk.column is CUSTOMERS.c.id:
                yield table, fk.parent


def _row(table: sa.Table, where: sa.ColumnElement[bool], db: Session) -> dict[str, Any]:
    row = db.execute(sa.select(table).where(where)).mappings().one()
    return {k: audit.jsonable(v) for k, v in row.items()}


def _restore(table: sa.Table, data: Mapping[str, Any]) -> dict[str, Any]:
    """Values read back from their JSON form, typed as the columns want them."""
    out: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in data:
            continue
        value = data[column.name]
        kind = _python_type(column.type)
        if value is not None and kind is datetime:
            value = datetime.fromisoformat(value)
        elif value is not None and kind is date:
            value = date.fromisoformat(value)
        elif value is not None and kind is Decimal:
            value = Decimal(value)
        out[column.name] = value
    return out


def _python_type(type_: Any) -> type | None:
    # A TypeDecorator (UTCDateTime) answers through the type it wraps.
    for candidate in (getattr(type_, "impl_instance", None), type_):
        try:
            return candidate.python_type  # type: ignore[no-any-return, union-attr]
        except (NotImplementedError, AttributeError):
            continue
    return None


def _keep_stamps(table: sa.Table) -> dict[str, Any]:
    # Moving a row is not editing it: its onupdate stamps (updated_at) keep their values.
    return {c.name: c for c in table.columns if c.onupdate is not None}


def merge_customers(
    db: Session,
    actor: User,
    survivor_id: int,
    merged_id: int,
    choices: Mapping[str, str] | None = None,
) -> CustomerMerge:
    """Merge `merged_id` into `survivor_id`. `choices` maps a field to "merged" where the merged
    customer's value should win; every other field keeps the survivor's value."""
    if not can_merge(actor):
        raise Forbidden(_("Only a director or an admin may merge customers."))
    if survivor_id == merged_id:
        raise ValidationError([FieldError("merged_id", _("A customer cannot merge with itself."))])
    for cid in (survivor_id, merged_id):
        if db.get(Customer, cid) is None:
            raise NotFound(_("There is no customer %(id)s.", id=cid))
    errors = [
        FieldError(f"choice.{name}", _("Choose the survivor's or the merged customer's value."))
        for name, side in (choices or {}).items()
        if name not in MERGE_FIELDS or side not in ("survivor", "merged")
    ]
    if errors:
        raise ValidationError(errors)
    db.flush()
    survivor = _row(CUSTOMERS, CUSTOMERS.c.id == survivor_id, db)
    merged = _row(CUSTOMERS, CUSTOMERS.c.id == merged_id, db)
    taken = {n: merged[n] for n, side in (choices or {}).items() if side == "merged"}
    changes = {n: [survivor[n], v] for n, v in taken.items() if survivor[n] != v}

    moved: dict[str, list[Any]] = {}
    for table, column in customer_references():
        (pk,) = table.primary_key.columns  # every moved table has a single-column key
        ids = list(db.scalars(sa.select(pk).where(column == merged_id).order_by(pk)))
        if ids:
            db.execute(
                table.update()
                .where(column == merged_id)
                .values({column.name: survivor_id, **_keep_stamps(table)})
            )
            moved[f"{table.name}.{column.name}"] = ids
    tags = list(
        db.scalars(
            sa.select(customer_tags.c.tag_id).where(customer_tags.c.customer_id == merged_id)
        )
    )
    have = set(
        db.scalars(
            sa.select(customer_tags.c.tag_id).where(customer_tags.c.customer_id == survivor_id)
        )
    )
    added_tags = [t for t in tags if t not in have]
    if added_tags:
        db.execute(
            customer_tags.insert(), [{"customer_id": survivor_id, "tag_id": t} for t in added_tags]
        )
    values = CustomFieldValue.__table__
    custom = [
        {k: audit.jsonable(v) for k, v in r.items()}
        for r in db.execute(sa.select(values).where(values.c.customer_id == merged_id)).mappings()
    ]
    own_fields = set(
        db.scalars(sa.select(values.c.field_id).where(values.c.customer_id == survivor_id))
    )
    moved_custom = [c["field_id"] for c in custom if c["field_id"] not in own_fields]
    if moved_custom:
        db.execute(
            values.update()
            .where(values.c.customer_id == merged_id, values.c.field_id.in_(moved_custom))
            .values(customer_id=survivor_id)
        )
    candidate = db.scalar(
        sa.select(DuplicateCandidate).where(
            DuplicateCandidate.first_id == min(survivor_id, merged_id),
            DuplicateCandidate.second_id == max(survivor_id, merged_id),
        )
    )
    candidate_snapshot = (
        {"score": candidate.score, "reason": candidate.reason} if candidate is not None else None
    )
    # The merged customer's other pairs go with it (ON DELETE CASCADE); kept for the undo.
    pairs = DuplicateCandidate.__table__
    other_pairs = [
        {k: audit.jsonable(v) for k, v in r.items()}
        for r in db.execute(
            sa.select(pairs).where(
                sa.or_(pairs.c.first_id == merged_id, pairs.c.second_id == merged_id),
                pairs.c.id != (candidate.id if candidate is not None else -1),
            )
        ).mappings()
    ]
    db.expunge_all()  # the ORM's copies are stale after the moves; reload below
    db.execute(CUSTOMERS.delete().where(CUSTOMERS.c.id == merged_id))
    if taken:
        update = _restore(CUSTOMERS, taken)
        # The keys follow the name and city, as the ORM's listener keeps them elsewhere.
        key = company_key(update.get("name", survivor["name"]))
        update["company_key"] = key
        update["match_block"] = match_block(key, update.get("city", survivor["city"]))
        db.execute(CUSTOMERS.update().where(CUSTOMERS.c.id == survivor_id).values(update))

    record = CustomerMerge(
        survivor_id=survivor_id,
        merged_id=merged_id,
        merged_name=str(merged["name"])[:200],
        user_id=actor.id,
        snapshot={
            "survivor": survivor,
            "merged": merged,
            "moved": moved,
            "tags": tags,
            "added_tags": added_tags,
            "custom": custom,
            "moved_custom": moved_custom,
            "candidate": candidate_snapshot,
            "pairs": other_pairs,
        },
    )
    db.add(record)
    actor = db.get(User, actor.id) or actor
    kept = db.get(Customer, survivor_id)
    assert kept is not None
    summary = _("Merged with %(name)s (customer %(id)d).", name=merged["name"], id=merged_id)
    _timeline(db, actor, kept, summary)
    audit.record(
        db,
        actor,
        "customer",
        survivor_id,
        "merge",
        {"merged_id": merged_id, "merged_name": merged["name"], **changes},
        survivor_id,
    )
    db.flush()
    return record


def _timeline(db: Session, actor: User, customer: Customer, summary: str) -> None:
    log_follow_up(
        db,
        actor,
        customer,
        FollowUpChannel.SYSTEM.value,
        summary,
        direction=Direction.INTERNAL.value,
        sets_next_contact=False,
    )


def undo_merge(db: Session, actor: User, merge_id: int) -> Customer:
    """Put both customers back as they were before the merge; returns the restored one."""
    if not can_merge(actor):
        raise Forbidden(_("Only a director or an admin may merge customers."))
    record = db.get(CustomerMerge, merge_id)
    if record is None:
        raise NotFound(_("There is no merge %(id)s.", id=merge_id))
    if record.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    if record.survivor_id is None:
        raise Conflict(_("The surviving customer has been deleted since; the merge stays."))
    snap = record.snapshot
    survivor_id, merged_id = record.survivor_id, record.merged_id
    db.flush()
    db.execute(CUSTOMERS.insert().values(_restore(CUSTOMERS, snap["merged"])))
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    for key, ids in snap["moved"].items():
        table_name, column_name = key.split(".")
        table = tables[table_name]
        (pk,) = table.primary_key.columns
        for start in range(0, len(ids), 500):
            db.execute(
                table.update()
                .where(pk.in_(ids[start : start + 500]))
                .values({column_name: merged_id, **_keep_stamps(table)})
            )
    if snap["tags"]:
        existing = set(db.scalars(sa.select(Tag.id).where(Tag.id.in_(snap["tags"]))))
        rows = [{"customer_id": merged_id, "tag_id": t} for t in snap["tags"] if t in existing]
        if rows:
            db.execute(customer_tags.insert(), rows)
    if snap["added_tags"]:
        db.execute(
            customer_tags.delete().where(
                customer_tags.c.customer_id == survivor_id,
                customer_tags.c.tag_id.in_(snap["added_tags"]),
            )
        )
    values = CustomFieldValue.__table__
    if snap["moved_custom"]:
        db.execute(
            values.update()
            .where(values.c.customer_id == survivor_id, values.c.field_id.in_(snap["moved_custom"]))
            .values(customer_id=merged_id)
        )
    deleted = [c for c in snap["custom"] if c["field_id"] not in snap["moved_custom"]]
    if deleted:
        db.execute(values.insert(), [_restore(values, c) for c in deleted])
    if snap["candidate"]:
        # The pair was reviewed and found to be two customers after all.
        db.add(
            DuplicateCandidate(
                first_id=min(survivor_id, merged_id),
                second_id=max(survivor_id, merged_id),
                score=snap["candidate"]["score"],
                reason=snap["candidate"]["reason"],
                status=CandidateStatus.DISMISSED.value,
                reviewed_by_id=actor.id,
                reviewed_at=utcnow(),
            )
        )
    _restore_pairs(db, snap.get("pairs", []))
    db.flush()
    # The survivor's own values last, with its stamps, so it reads exactly as before the merge.
    restored = _restore(CUSTOMERS, snap["survivor"])
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
    _timeline(db, actor, kept, summary)
    audit.record(
        db, actor, "customer", survivor_id, "unmerge", {"merged_id": merged_id}, survivor_id
    )
    audit.record(
        db, actor, "customer", merged_id, "unmerge", {"survivor_id": survivor_id}, merged_id
    )
    db.flush()
    return back


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
            row = _restore(pairs, r)
            if row["id"] in used_ids:
                del row["id"]
            back.append(row)
    for row in back:
        db.execute(pairs.insert().values(row))


def merge_history(db: Session, customer_id: int) -> list[CustomerMerge]:
    """Merges into this customer, newest first (the customer page offers their undo)."""
    return list(
        db.scalars(
            sa.select(CustomerMerge)
            .where(CustomerMerge.survivor_id == customer_id)
            .order_by(CustomerMerge.id.desc())
        )
    )
