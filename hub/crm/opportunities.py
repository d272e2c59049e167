"""Opportunities: the sales pipeline, and the nurture pool that lost or stalled ones go back to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from hub.auth import Role, User
from hub.crm import audit
from hub.crm.customers import can_edit, load_customer, text_or_customer
from hub.crm.followups import Direction, FollowUpChannel, log_follow_up
from hub.crm.labels import CHOICE_LABELS
from hub.crm.models import MONEY, Customer
from hub.crm.rules import get_rules
from hub.db import Base, utcnow
from hub.pagination import Page, paginate
from hub.validation import (
    MAX_ID,
    Field,
    FieldError,
    Forbidden,
    NotFound,
    ValidationError,
    parse,
    unknown_keys,
)

DEFAULT_STAGES = ("new", "qualified", "proposal", "negotiation", "won", "lost")
CLOSED_STAGES = ("won", "lost")


class Opportunity(Base):
    __tablename__ = "opportunities"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    stage: Mapped[str] = mapped_column(sa.String(30), default="new", index=True)
    amount: Mapped[Decimal | None] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    expected_close: Mapped[date | None] = mapped_column(index=True)
    probability: Mapped[int | None]  # percent
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    lost_reason: Mapped[str | None] = mapped_column(sa.String(300))
    # The nurture pool: marketing works these again.
    nurture_since: Mapped[datetime | None] = mapped_column(index=True)
    nurture_reason: Mapped[str | None] = mapped_column(sa.String(300))
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    owner: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(
            "probability IS NULL OR (probability >= 0 AND probability <= 100)",
            name="probability_percent",
        ),
    )


# --- declared fields ----------------------------------------------------------------------------

STAGE_LABELS = CHOICE_LABELS["opportunity_stage"]
MAX_AMOUNT = 999_999_999_999

OPPORTUNITY_FIELDS: tuple[Field, ...] = (
    Field("title", "str", _l("Title"), required=True, max_length=200),
    Field(
        "stage",
        "str",
        _l("Stage"),
        max_length=30,
        description="One of the pipeline stages in the rules (by default new, qualified, "
        "proposal, negotiation, won, lost); default: the first",
    ),
    Field("amount", "decimal", _l("Amount"), minimum=0, maximum=MAX_AMOUNT),
    Field("currency", "str", _l("Currency"), max_length=3, description="ISO 4217, default CNY"),
    Field("expected_close", "date", _l("Expected close")),
    Field("probability", "int", _l("Probability (%)"), minimum=0, maximum=100),
    Field(
        "owner_id",
        "int",
        _l("Owner"),
        minimum=1,
        maximum=MAX_ID,
        description="Default: the customer's owner",
    ),
    Field(
        "lost_reason",
        "str",
        _l("Why it was lost"),
        max_length=300,
        description="Required when the stage becomes lost",
    ),
)
OPPORTUNITY_CREATE: tuple[Field, ...] = (
    Field("customer_id", "int", _l("Customer"), required=True, minimum=1, maximum=MAX_ID),
    *OPPORTUNITY_FIELDS,
)
OPPORTUNITY_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("customer_id", "int", read_only=True),
    Field("nurture_since", "str", read_only=True),
    Field("nurture_reason", "str", read_only=True),
    Field("closed_at", "str", read_only=True),
    Field("created_at", "str", read_only=True),
    Field("updated_at", "str", read_only=True),
)


def stage_label(stage: str) -> str:
    return str(STAGE_LABELS.get(stage, stage))


# --- who may see and change which ---------------------------------------------------------------


def visible_opportunities(user: User) -> sa.Select[Any]:
    """Agents see the opportunities on their own customers; every other role sees all."""
    stmt = sa.select(Opportunity)
    if user.role == Role.AGENT:
        stmt = stmt.where(
            Opportunity.customer_id.in_(sa.select(Customer.id).where(Customer.owner_id == user.id))
        )
    return stmt


def load_opportunity(
    db: Session, user: User, opportunity_id: int, edit: bool = False
) -> Opportunity:
    """The opportunity, if the user may see its customer (and change it, with `edit`)."""
    opp = db.get(Opportunity, opportunity_id) if 0 < opportunity_id <= MAX_ID else None
    if opp is None:
        raise NotFound(_("There is no opportunity %(id)s.", id=opportunity_id))
    load_customer(db, user, opp.customer_id, edit=edit)
    return opp


# --- listing ------------------------------------------------------------------------------------

SORTS = {
    "title": Opportunity.title,
    "amount": Opportunity.amount,
    "expected_close": Opportunity.expected_close,
    "stage": Opportunity.stage,
    "created": Opportunity.created_at,
}


def filtered_opportunities(
    user: User,
    query: str = "",
    stage: str | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
) -> sa.Select[Any]:
    """The opportunities the user may see whose title or customer's name matches `query`."""
    stmt = visible_opportunities(user)
    match = text_or_customer(query, Opportunity.customer_id, Opportunity.title)
    if match is not None:
        stmt = stmt.where(match)
    if stage:
        stmt = stmt.where(Opportunity.stage == stage)
    if owner_id is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    if customer_id is not None:
        stmt = stmt.where(Opportunity.customer_id == customer_id)
    return stmt


def search_opportunities(
    db: Session,
    user: User,
    query: str = "",
    stage: str | None = None,
    owner_id: int | None = None,
    sort: str = "-created",
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """One page of the list: search, filters, and a sort key (`-` in front for descending)."""
    stmt = filtered_opportunities(user, query, stage, owner_id).options(
        joinedload(Opportunity.customer), joinedload(Opportunity.owner)
    )
    column: Any = SORTS.get(sort.lstrip("-"), Opportunity.created_at)
    if sort.lstrip("-") == "stage":
        # In pipeline order, not alphabetical.
        stages = list(get_rules(db)["pipeline_stages"])
        column = sa.case(
            {s: i for i, s in enumerate(stages)}, value=Opportunity.stage, else_=len(stages)
        )
    order = column.desc() if sort.startswith("-") else column.asc()
    return paginate(db, stmt.order_by(order.nulls_last(), Opportunity.id), page, per_page)


# --- creating and changing ----------------------------------------------------------------------


def _currency(values: dict[str, Any], errors: list[FieldError]) -> None:
    if "currency" not in values:
        return
    code = (values["currency"] or "CNY").upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        errors.append(FieldError("currency", _("Expected a three-letter code such as CNY.")))
    values["currency"] = code


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def control_characters(values: Mapping[str, Any], prefix: str = "") -> list[FieldError]:
    """Errors for text holding control characters: nobody types them, and PostgreSQL cannot
    store a NUL at all, so they are refused by name rather than failing on save."""
    return [
        FieldError(prefix + name, _("Remove the control characters from this text."))
        for name, value in values.items()
        if isinstance(value, str) and _CONTROL.search(value)
    ]


def plain_text(text: str | None) -> str:
    """A free-text note with control characters dropped (newlines and tabs are kept)."""
    return _CONTROL.sub("", text or "").strip()


def check_currency(values: dict[str, Any]) -> None:
    """Upper-case a currency code in `values`, or raise naming the field; blank means CNY."""
    errors: list[FieldError] = []
    _currency(values, errors)
    if errors:
        raise ValidationError(errors)


def _owner_for(db: Session, actor: User, customer: Customer, owner_id: int | None) -> int | None:
    if owner_id is None:
        return customer.owner_id
    if actor.role == Role.AGENT and owner_id != actor.id:
        raise Forbidden(_("An agent keeps opportunities for themselves; a director reassigns."))
    owner = db.get(User, owner_id)
    if owner is None or not owner.active:
        raise ValidationError([FieldError("owner_id", _("No active user has this id."))])
    return owner.id


def parse_opportunity(
    data: Mapping[str, Any], partial: bool = False, with_customer: bool = False
) -> dict[str, Any]:
    """Clean values of an opportunity body, or every problem in it at once."""
    fields = OPPORTUNITY_CREATE if with_customer else OPPORTUNITY_FIELDS
    unknown_keys(fields, data)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    try:
        values = parse(fields, data, partial=partial)
    except ValidationError as exc:
        errors.extend(exc.errors)
    errors.extend(control_characters(values))
    _currency(values, errors)
    if errors:
        raise ValidationError(errors)
    return values


def create_opportunity(
    db: Session, actor: User, customer: Customer, data: Mapping[str, Any]
) -> Opportunity:
    """Add an opportunity to a customer the actor may change; a closed stage takes effect as a move."""
    from hub.crm.opportunity_pipeline import first_stage, move_stage, pipeline_stages

    if not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = parse_opportunity(data)
    stages = pipeline_stages(db)
    stage = values.pop("stage", None) or first_stage(stages)
    lost_reason = values.pop("lost_reason", None)
    _check_stage(stages, stage, lost_reason)
    owner_id = _owner_for(db, actor, customer, values.pop("owner_id", None))
    # A closed stage has effects (after-sale care, the nurture pool): it is reached by a move.
    opp = Opportunity(
        customer=customer,
        customer_id=customer.id,
        owner_id=owner_id,
        stage=first_stage(stages) if stage in CLOSED_STAGES else stage,
        **{k: v for k, v in values.items() if v is not None},
    )
    db.add(opp)
    db.flush()
    snapshot = {k: audit.jsonable(v) for k, v in values.items() if v is not None}
    audit.record(db, actor, "opportunity", opp.id, "create", snapshot, customer.id)
    log_follow_up(
        db,
        actor,
        customer,
        FollowUpChannel.SYSTEM.value,
        summary=_(
            "Opportunity %(title)s opened at stage %(stage)s.",
            title=opp.title,
            stage=stage_label(opp.stage),
        ),
        direction=Direction.INTERNAL.value,
        opportunity_id=opp.id,
        sets_next_contact=False,
    )
    if stage != opp.stage:
        move_stage(db, actor, opp, stage, lost_reason)
    return opp


def _check_stage(stages: list[str], stage: str, lost_reason: str | None) -> None:
    if stage not in stages:
        raise ValidationError(
            [FieldError("stage", _("Choose one of: %(choices)s.", choices=", ".join(stages)))]
        )
    if stage == "lost" and not lost_reason:
        raise ValidationError([FieldError("lost_reason", _("Say why the opportunity was lost."))])
    if stage != "lost" and lost_reason:
        raise ValidationError(
            [FieldError("lost_reason", _("Only a lost opportunity has a reason for it."))]
        )


def update_opportunity(
    db: Session, actor: User, opp: Opportunity, data: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Change the fields present in `data` (a stage change goes through `move_stage`)."""
    from hub.crm.opportunity_pipeline import move_stage, pipeline_stages

    if not can_edit(actor, opp.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = parse_opportunity(data, partial=True)
    stage = values.pop("stage", None)
    lost_reason = values.pop("lost_reason", None)
    if stage is not None and stage != opp.stage:
        _check_stage(pipeline_stages(db), stage, lost_reason)
    elif lost_reason is not None:
        # A lost deal's reason can be corrected; an open one has none to set.
        _check_stage(pipeline_stages(db), opp.stage, lost_reason)
        values["lost_reason"] = lost_reason
    if "owner_id" in values:
        values["owner_id"] = _owner_for(db, actor, opp.customer, values["owner_id"])
    changes = audit.apply_changes(opp, values)
    audit.record(db, actor, "opportunity", opp.id, "update", changes, opp.customer_id)
    if stage is not None and stage != opp.stage:
        before = opp.stage
        move_stage(db, actor, opp, stage, lost_reason)
        changes["stage"] = [before, stage]
    db.flush()
    return changes


def delete_opportunity(db: Session, actor: User, opp: Opportunity) -> None:
    if actor.role not in (Role.ADMIN, Role.DIRECTOR):
        raise Forbidden(_("Only a director or an admin may delete an opportunity."))
    audit.record(db, actor, "opportunity", opp.id, "delete", {"title": opp.title}, opp.customer_id)
    db.delete(opp)
    db.flush()
