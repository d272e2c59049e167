"""Opportunities: the sales pipeline, and the nurture pool that lost or stalled ones go back to."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from hub.core.auth import Role, User
from hub.core.pagination import Page, paginate
from hub.core.refusals import FieldError, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field
from hub.crm.customers.lookup import load_customer, text_or_customer
from hub.crm.customers.models import Customer
from hub.crm.labels import CHOICE_LABELS
from hub.crm.rules import get_rules
from hub.crm.sales.models import Opportunity

DEFAULT_STAGES = ("new", "qualified", "proposal", "negotiation", "won", "lost")
CLOSED_STAGES = ("won", "lost")


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


