"""A customer's life: owner changes, the lead-to-customer conversion, and its A/B/C class."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.clock import business_today, utcnow
from hub.core.refusals import Conflict, FieldError, Forbidden, NotFound, ValidationError
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_assign, can_edit
from hub.crm.customers.models import Assignment, Customer, CustomerClass, Stage
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.followups.reminders import next_credit_review_on
from hub.crm.labels import choice_label
from hub.crm.rules import get_rules


def assign_owner(
    db: Session, actor: User, customer_ids: Sequence[int], to_user_id: int, reason: str = ""
) -> int:
    """Give customers to a rep (a director's action); every move is kept. Returns how many moved."""
    if not can_assign(actor):
        raise Forbidden(_("Only a director or an admin assigns customers."))
    to_user = db.get(User, to_user_id)
    if to_user is None or not to_user.active:
        raise ValidationError([FieldError("owner_id", _("No active user has this id."))])
    if to_user.role not in (Role.AGENT, Role.DIRECTOR, Role.ADMIN):
        raise ValidationError(
            [FieldError("owner_id", _("A customer specialist cannot own customers."))]
        )
    ids = sorted(set(customer_ids))
    if not ids:
        raise ValidationError([FieldError("customer_ids", _("Choose at least one customer."))])
    customers = list(db.scalars(sa.select(Customer).where(Customer.id.in_(ids))))
    missing = set(ids) - {c.id for c in customers}
    if missing:
        raise NotFound(_("There is no customer %(id)s.", id=", ".join(map(str, sorted(missing)))))
    moved = 0
    for customer in customers:
        if customer.owner_id == to_user.id:
            continue
        db.add(
            Assignment(
                customer_id=customer.id,
                from_user_id=customer.owner_id,
                to_user_id=to_user.id,
                by_user_id=actor.id,
                reason=reason.strip()[:300],
            )
        )
        audit.record(
            db,
            actor,
            "customer",
            customer.id,
            "assign",
            {"owner_id": [customer.owner_id, to_user.id], "reason": reason.strip()[:300]},
            customer.id,
        )
        customer.owner_id = to_user.id
        moved += 1
    db.flush()
    return moved


def assignment_history(db: Session, customer_id: int) -> list[Assignment]:
    return list(
        db.scalars(
            sa.select(Assignment)
            .where(Assignment.customer_id == customer_id)
            .order_by(Assignment.at.desc(), Assignment.id.desc())
        )
    )


def convert_lead(db: Session, actor: User, customer: Customer) -> Customer:
    """Make a lead or prospect a customer: same record, history kept, a follow-up written."""
    if not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    if customer.stage not in (Stage.LEAD, Stage.PROSPECT):
        raise Conflict(
            _(
                "Only a lead or a prospect can be converted; this one is %(stage)s.",
                stage=customer.stage,
            )
        )
    before = customer.stage
    customer.stage = Stage.CUSTOMER.value
    customer.converted_at = utcnow()
    audit.record(
        db,
        actor,
        "customer",
        customer.id,
        "convert",
        {"stage": [before, customer.stage]},
        customer.id,
    )
    log_follow_up(
        db,
        actor,
        customer,
        FollowUpChannel.SYSTEM.value,
        summary=_("Converted from %(stage)s to customer.", stage=choice_label("stage", before)),
        direction=Direction.INTERNAL.value,
        sets_next_contact=False,
    )
    return customer


def set_class(
    db: Session,
    actor: User,
    customer: Customer,
    customer_class: str,
    reason: str,
    today: date | None = None,
) -> bool:
    """Set the A/B/C class by hand; a reason is required. Returns whether it changed.

    The class sets the credit review cadence, so the next review moves with it.
    """
    if actor.role not in (Role.ADMIN, Role.DIRECTOR) and not (
        actor.role == Role.AGENT and customer.owner_id == actor.id
    ):
        raise Forbidden(_("Your role may not classify this customer."))
    errors = []
    if customer_class not in [c.value for c in CustomerClass]:
        errors.append(
            FieldError("customer_class", _("Choose one of: %(choices)s.", choices="A, B, C"))
        )
    if not reason.strip():
        errors.append(FieldError("reason", _("Say why the class changes.")))
    if errors:
        raise ValidationError(errors)
    if customer.customer_class == customer_class:
        return False
    audit.record(
        db,
        actor,
        "customer",
        customer.id,
        "classify",
        {
            "customer_class": [customer.customer_class, customer_class],
            "reason": reason.strip()[:300],
        },
        customer.id,
    )
    customer.customer_class = customer_class
    customer.class_reason = reason.strip()[:300]
    customer.class_set_at = utcnow()
    customer.next_credit_review = next_credit_review_on(
        get_rules(db), customer_class, customer.last_credit_review, today or business_today()
    )
    db.flush()
    return True
