"""Saved segments: validated on save, compiled on use, counted, sampled and streamed by keyset."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.segments.rules import compile_definition
from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.refusals import Conflict, FieldError, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field, parse
from hub.crm.customers.models import Contact, Customer

SEGMENT_FIELDS = (
    Field("name", "str", label=_l("Name"), required=True, max_length=120),
    Field("match", "choice", label=_l("Match"), choices=("all", "any")),
)
SAMPLE_SIZE = 10


def parse_segment(db: Session, data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Name and definition from a request body; every problem (a rule's too) reported at once."""
    errors: list[FieldError] = []
    unknown = sorted(set(data) - {"name", "match", "rules"})
    errors += [FieldError(k, _("Unknown field.")) for k in unknown]
    try:
        clean = parse(SEGMENT_FIELDS, data, partial=partial)
    except ValidationError as exc:
        errors += exc.errors
        clean = {}
    definition = None
    if not partial or "rules" in data or "match" in data:
        definition = {"match": data.get("match") or "all", "rules": data.get("rules")}
        try:
            compile_definition(db, definition)
        except ValidationError as exc:
            errors += exc.errors
    if errors:
        raise ValidationError(errors)
    if definition is not None:
        clean["definition"] = definition
    clean.pop("match", None)
    return clean


def _name_free(db: Session, name: str, segment_id: int | None = None) -> None:
    clash = db.scalar(sa.select(Segment.id).where(Segment.name == name))
    if clash is not None and clash != segment_id:
        raise ValidationError([FieldError("name", _("A segment with this name exists already."))])


def create_segment(db: Session, actor: User, data: dict[str, Any]) -> Segment:
    """Save a new segment after checking every rule."""
    clean = parse_segment(db, data)
    _name_free(db, clean["name"])
    segment = Segment(name=clean["name"], definition=clean["definition"], created_by=actor.id)
    db.add(segment)
    db.flush()
    return segment


def update_segment(db: Session, segment: Segment, data: dict[str, Any]) -> Segment:
    """Change the name or the rules; a change applies to campaigns not yet planned."""
    clean = parse_segment(db, data, partial=True)
    if "name" in clean:
        _name_free(db, clean["name"], segment.id)
        segment.name = clean["name"]
    if "definition" in clean:
        if "rules" not in data:
            clean["definition"]["rules"] = segment.definition["rules"]
        segment.definition = clean["definition"]
    segment.updated_at = utcnow()
    return segment


def delete_segment(db: Session, segment: Segment) -> None:
    """Delete a segment no campaign uses."""
    used = db.scalar(sa.select(sa.func.count()).where(Campaign.segment_id == segment.id))
    if used:
        raise Conflict(
            _("%(count)d campaign(s) use this segment; it cannot be deleted.", count=used)
        )
    db.delete(segment)


def load_segment(db: Session, segment_id: int) -> Segment:
    segment = db.get(Segment, segment_id) if 0 < segment_id <= MAX_ID else None
    if segment is None:
        raise NotFound(_("There is no segment %(id)s.", id=segment_id))
    return segment


def list_segments(query: str = "") -> sa.Select[tuple[Segment]]:
    stmt = sa.select(Segment)
    if query.strip():
        stmt = stmt.where(Segment.name.contains(query.strip(), autoescape=True))
    return stmt


def address_column(channel: str | None) -> Any:
    return {"sms": Contact.phone, "email": Contact.email}.get(channel or "")


def members(
    db: Session, definition: dict[str, Any], channel: str | None = None
) -> sa.Select[Any]:
    """Contacts (with their customer) in the segment; with a channel, only those with its address."""
    stmt = (
        sa.select(Contact.id)
        .join(Customer, Customer.id == Contact.customer_id)
        .where(compile_definition(db, definition))
    )
    column = address_column(channel)
    if column is not None:
        stmt = stmt.where(column.is_not(None), column != "")
    return stmt


def count(db: Session, definition: dict[str, Any], channel: str | None = None) -> int:
    """How many contacts the segment holds now."""
    return db.scalar(sa.select(sa.func.count()).select_from(members(db, definition, channel).subquery())) or 0


def sample(
    db: Session, definition: dict[str, Any], limit: int = SAMPLE_SIZE
) -> list[tuple[Contact, Customer]]:
    """The first members by id, to show who the segment catches."""
    ids = members(db, definition).order_by(Contact.id).limit(limit)
    rows = db.execute(
        sa.select(Contact, Customer)
        .join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.id.in_(ids))
        .order_by(Contact.id)
    )
    return [(contact, customer) for contact, customer in rows]


def stream_page(
    db: Session, definition: dict[str, Any], channel: str, after: int, limit: int
) -> list[Any]:
    """One keyset page of members after contact id `after`: rows of the contact's send fields."""
    column = address_column(channel)
    condition = compile_definition(db, definition)
    stmt = (
        sa.select(Contact.id, Contact.customer_id, column.label("address"), Contact.timezone)
        .join(Customer, Customer.id == Contact.customer_id)
        .where(condition, Contact.id > after, column.is_not(None), column != "")
        .order_by(Contact.id)
        .limit(limit)
    )
    return list(db.execute(stmt))
