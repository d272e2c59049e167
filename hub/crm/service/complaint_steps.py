"""A complaint's steps: one at a time and never back, each due within the configured days."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.refusals import Conflict, FieldError, Forbidden, ValidationError
from hub.crm.customers import audit
from hub.crm.followups.models import Direction, FollowUp, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.rules import get_rules
from hub.crm.sales.opportunities import plain_text
from hub.crm.service.complaints import can_work, step_label, visible_complaints
from hub.crm.service.models import STEPS, Complaint

LAST_STEP = STEPS[-1]


def next_step(step: str) -> str | None:
    i = STEPS.index(step)
    return STEPS[i + 1] if i + 1 < len(STEPS) else None


def advance_step(db: Session, actor: User, complaint: Complaint, step: str, note: str = "") -> None:
    """Move the complaint to `step`, which must be the next one; the timeline records it.

    The new step is due `complaint_step_days` from now; resolved sets `resolved_at`, and after
    the follow-up step nothing is due any more.
    """
    if not can_work(actor, complaint):
        raise Forbidden(_("Your role may look at this complaint but not work on it."))
    if step not in STEPS:
        raise ValidationError(
            [FieldError("step", _("Choose one of: %(choices)s.", choices=", ".join(STEPS)))]
        )
    expected = next_step(complaint.step)
    if step != expected:
        if expected is None:
            raise Conflict(_("This complaint is followed up; it has no further step."))
        if STEPS.index(step) <= STEPS.index(complaint.step):
            raise Conflict(
                _(
                    "A complaint does not go back: it is %(current)s; the next step is "
                    "%(expected)s.",
                    current=step_label(complaint.step),
                    expected=step_label(expected),
                )
            )
        raise Conflict(
            _(
                "A step cannot be skipped: after %(current)s comes %(expected)s.",
                current=step_label(complaint.step),
                expected=step_label(expected),
            )
        )
    now = utcnow()
    before = complaint.step
    complaint.step = step
    complaint.updated_at = now
    if step == LAST_STEP:
        complaint.step_due_at = None
    else:
        complaint.step_due_at = now + timedelta(days=int(get_rules(db)["complaint_step_days"]))
    if step == "resolved":
        complaint.resolved_at = now
    summary = _(
        "Complaint %(id)s: %(before)s to %(after)s.",
        id=complaint.id,
        before=step_label(before),
        after=step_label(step),
    )
    if plain_text(note):
        summary += " " + plain_text(note)
    audit.record(
        db,
        actor,
        "complaint",
        complaint.id,
        "step",
        {"step": [before, step]},
        complaint.customer_id,
    )
    log_follow_up(
        db,
        actor,
        complaint.customer,
        FollowUpChannel.SYSTEM.value,
        summary=summary,
        direction=Direction.INTERNAL.value,
        status=step,
        complaint_id=complaint.id,
        occurred_at=now,
        sets_next_contact=False,
    )


def overdue_complaints(db: Session, user: User, now: datetime) -> list[Complaint]:
    """Complaints whose current step was due before `now` and are not followed up yet, most
    overdue first; agents get those of their own customers, other roles all."""
    stmt = (
        visible_complaints(user)
        .where(Complaint.step != LAST_STEP, Complaint.step_due_at < now)
        .options(joinedload(Complaint.customer), joinedload(Complaint.owner))
        .order_by(Complaint.step_due_at, Complaint.id)
    )
    return list(db.scalars(stmt))


def overdue_count(db: Session, user: User, now: datetime) -> int:
    """How many of `overdue_complaints` there are (for a count in the navigation)."""
    sub = (
        visible_complaints(user)
        .where(Complaint.step != LAST_STEP, Complaint.step_due_at < now)
        .subquery()
    )
    return db.scalar(sa.select(sa.func.count()).select_from(sub)) or 0


def step_history(db: Session, complaint: Complaint) -> list[FollowUp]:
    """The follow-ups on the complaint, oldest first: received, then each step with who and when."""
    return list(
        db.scalars(
            sa.select(FollowUp)
            .where(FollowUp.complaint_id == complaint.id)
            .options(joinedload(FollowUp.user))
            .order_by(FollowUp.occurred_at, FollowUp.id)
        )
    )


REOPEN_STEP = "negotiated"  # a resolution the customer is unhappy with is negotiated again


def reopen_complaint(db: Session, complaint: Complaint, reason: str, now: datetime | None = None) -> bool:
    """Take a resolved (or followed-up) complaint back to negotiation, by the system: the one way a
    complaint goes back. Recorded in the audit log and on the timeline; its owner has the step due
    again. Returns False when the complaint was not resolved yet (nothing to reopen)."""
    if complaint.step not in ("resolved", LAST_STEP):
        return False
    now = now or utcnow()
    before = complaint.step
    complaint.step = REOPEN_STEP
    complaint.resolved_at = None
    complaint.updated_at = now
    complaint.step_due_at = now + timedelta(days=int(get_rules(db)["complaint_step_days"]))
    audit.record(db, None, "complaint", complaint.id, "reopen", {"step": [before, REOPEN_STEP]},
                 complaint.customer_id)
    log_follow_up(
        db,
        None,
        complaint.customer,
        FollowUpChannel.SYSTEM.value,
        summary=_("Complaint %(id)s reopened: %(reason)s", id=complaint.id, reason=reason),
        direction=Direction.INTERNAL.value,
        status=REOPEN_STEP,
        complaint_id=complaint.id,
        occurred_at=now,
        sets_next_contact=False,
    )
    return True
