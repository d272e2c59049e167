"""Complaints: received on any channel, worked through fixed steps, each step on the timeline."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from hub.core.auth import Role, User
from hub.core.pagination import Page, paginate
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers.lookup import can_edit, load_customer, text_or_customer
from hub.crm.customers.models import Customer
from hub.crm.labels import CHOICE_LABELS
from hub.crm.sales.models import Order
from hub.crm.sales.opportunities import control_characters
from hub.crm.service.models import STEPS, Complaint

# --- declared fields ----------------------------------------------------------------------------

CHANNELS = ("call", "sms", "email", "visit", "web", "wechat", "letter", "other")
STEP_LABELS = CHOICE_LABELS["complaint_step"]
CHANNEL_LABELS = CHOICE_LABELS["complaint_channel"]

COMPLAINT_FIELDS: tuple[Field, ...] = (
    Field("channel", "choice", _l("Received by"), required=True, choices=CHANNELS),
    Field(
        "contact_id",
        "int",
        _l("Contact"),
        minimum=1,
        maximum=MAX_ID,
        description="One of the customer's",
    ),
    Field(
        "order_id",
        "int",
        _l("Order"),
        minimum=1,
        maximum=MAX_ID,
        description="An order of the same customer",
    ),
    Field(
        "owner_id",
        "int",
        _l("Handled by"),
        minimum=1,
        maximum=MAX_ID,
        description="Default: the customer's owner",
    ),
    Field("product", "str", _l("Product"), max_length=200),
    Field("content", "text", _l("What the customer says"), required=True, max_length=20000),
    Field("reason", "str", _l("Cause"), max_length=300),
    Field(
        "ask_compensation",
        "decimal",
        _l("Compensation asked"),
        minimum=0,
        maximum=999_999_999_999,
    ),
    Field("ask_discount_percent", "decimal", _l("Discount asked (%)"), minimum=0, maximum=100),
    Field("ask_return_quantity", "int", _l("Quantity to return"), minimum=0, maximum=10**9),
    Field("ask_other", "text", _l("Other request")),
)
COMPLAINT_CREATE: tuple[Field, ...] = (
    Field("customer_id", "int", _l("Customer"), required=True, minimum=1, maximum=MAX_ID),
    *COMPLAINT_FIELDS,
)
# PATCH only: the next step, and a note for the timeline.
STEP_FIELDS: tuple[Field, ...] = (
    Field(
        "step",
        "choice",
        _l("Step"),
        choices=STEPS,
        description="The next step (one at a time, never back)",
    ),
    Field("note", "text", _l("Note"), max_length=5000),
)
COMPLAINT_READ_ONLY: tuple[Field, ...] = (
    Field("id", "int", read_only=True),
    Field("customer_id", "int", read_only=True),
    Field("step", "str", read_only=True),
    Field("step_due_at", "str", read_only=True),
    Field("received_at", "str", read_only=True),
    Field("resolved_at", "str", read_only=True),
    Field("created_at", "str", read_only=True),
    Field("updated_at", "str", read_only=True),
)


def step_label(step: str) -> str:
    return str(STEP_LABELS.get(step, step))


def channel_label(channel: str) -> str:
    return str(CHANNEL_LABELS.get(channel, channel))


# --- who may see and work which -----------------------------------------------------------------


def can_handle(user: User, customer: Customer) -> bool:
    """Those who may change the customer, and customer specialists, who look after complaints."""
    return can_edit(user, customer) or user.role == Role.SPECIALIST


def can_work(user: User, complaint: Complaint) -> bool:
    return can_handle(user, complaint.customer) or complaint.owner_id == user.id


def visible_complaints(user: User) -> sa.Select[Any]:
    """Agents see the complaints of their own customers; every other role sees all."""
    stmt = sa.select(Complaint)
    if user.role == Role.AGENT:
        stmt = stmt.where(
            Complaint.customer_id.in_(sa.select(Customer.id).where(Customer.owner_id == user.id))
        )
    return stmt


def load_complaint(db: Session, user: User, complaint_id: int, edit: bool = False) -> Complaint:
    """The complaint, if the user may see its customer (and work it, with `edit`)."""
    complaint = db.get(Complaint, complaint_id) if 0 < complaint_id <= MAX_ID else None
    if complaint is None:
        raise NotFound(_("There is no complaint %(id)s.", id=complaint_id))
    load_customer(db, user, complaint.customer_id)
    if edit and not can_work(user, complaint):
        raise Forbidden(_("Your role may look at this complaint but not work on it."))
    return complaint


# --- lists --------------------------------------------------------------------------------------


def filtered_complaints(
    user: User,
    query: str = "",
    step: str | None = None,
    owner_id: int | None = None,
    customer_id: int | None = None,
    overdue_at: datetime | None = None,
) -> sa.Select[Any]:
    """Complaints the user may see: by content, product or customer name, step, owner, and
    (with `overdue_at`) only those whose step was due before then."""
    stmt = visible_complaints(user)
    match = text_or_customer(query, Complaint.customer_id, Complaint.content, Complaint.product)
    if match is not None:
        stmt = stmt.where(match)
    if step:
        stmt = stmt.where(Complaint.step == step)
    if owner_id is not None:
        stmt = stmt.where(Complaint.owner_id == owner_id)
    if customer_id is not None:
        stmt = stmt.where(Complaint.customer_id == customer_id)
    if overdue_at is not None:
        stmt = stmt.where(Complaint.step != "followed_up", Complaint.step_due_at < overdue_at)
    return stmt


def search_complaints(
    db: Session,
    user: User,
    query: str = "",
    step: str | None = None,
    owner_id: int | None = None,
    overdue_at: datetime | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """One page of complaints, the most pressing step first, finished ones last."""
    stmt = filtered_complaints(user, query, step, owner_id, None, overdue_at).options(
        joinedload(Complaint.customer), joinedload(Complaint.owner)
    )
    finished = sa.case((Complaint.step == "followed_up", 1), else_=0)
    stmt = stmt.order_by(finished, Complaint.step_due_at.nulls_last(), Complaint.id.desc())
    return paginate(db, stmt, page, per_page)


# --- recording and changing ---------------------------------------------------------------------


def _references(
    db: Session, actor: User, customer: Customer, values: dict[str, Any], current: int | None
) -> list[FieldError]:
    """Contact and order must be the customer's; the owner someone who can see the complaint."""
    errors = []
    contact_id = values.get("contact_id")
    if contact_id is not None and not any(c.id == contact_id for c in customer.contacts):
        errors.append(FieldError("contact_id", _("This contact is not one of the customer's.")))
    order_id = values.get("order_id")
    if order_id is not None:
        order = db.get(Order, order_id)
        if order is None or order.customer_id != customer.id:
            errors.append(
                FieldError(
                    "order_id", _("Order %(id)s is not an order of this customer.", id=order_id)
                )
            )
    owner_id = values.get("owner_id")
    if owner_id is not None and owner_id != current:
        if actor.role == Role.AGENT and owner_id != actor.id:
            raise Forbidden(
                _("An agent takes complaints on; a director or specialist assigns them.")
            )
        owner = db.get(User, owner_id)
        if owner is None or not owner.active:
            errors.append(FieldError("owner_id", _("No active user has this id.")))
        elif owner.role == Role.AGENT and customer.owner_id != owner.id:
            errors.append(
                FieldError(
                    "owner_id", _("This agent does not own the customer and could not see it.")
                )
            )
    return errors


def parse_complaint(
    data: Mapping[str, Any], partial: bool = False, with_customer: bool = False
) -> dict[str, Any]:
    """Clean values of a complaint body (an update may also carry `step` and `note`)."""
    fields = COMPLAINT_CREATE if with_customer else COMPLAINT_FIELDS
    unknown_keys(fields, data, allowed=[f.name for f in STEP_FIELDS] if partial else ())
    names = {f.name for f in fields}
    values = parse(fields, {k: v for k, v in data.items() if k in names}, partial)
    errors = control_characters(values)
    if errors:
        raise ValidationError(errors)
    return values


