"""Recording complaints: received (and written on the timeline), then changed; a step in a change advances the complaint."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.refusals import FieldError, Forbidden, ValidationError
from hub.core.validation import parse
from hub.crm.customers import audit
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.rules import get_rules
from hub.crm.service.complaint_steps import advance_step
from hub.crm.service.complaints import (
    STEP_FIELDS,
    _references,
    can_handle,
    can_work,
    parse_complaint,
)
from hub.crm.service.models import STEPS, Complaint


def create_complaint(
    db: Session, actor: User, customer: Customer, data: Mapping[str, Any]
) -> Complaint:
    """Record a complaint as received; its first step is due in `complaint_step_days`."""
    if not can_handle(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = parse_complaint(data)
    errors = _references(db, actor, customer, values, None)
    if errors:
        raise ValidationError(errors)
    now = utcnow()
    owner_id = values.pop("owner_id", None) or customer.owner_id
    complaint = Complaint(
        customer=customer,
        customer_id=customer.id,
        owner_id=owner_id,
        step=STEPS[0],
        step_due_at=now + timedelta(days=int(get_rules(db)["complaint_step_days"])),
        received_at=now,
        **{k: v for k, v in values.items() if v is not None},
    )
    db.add(complaint)
    db.flush()
    snapshot = {k: audit.jsonable(v) for k, v in values.items() if v is not None}
    audit.record(db, actor, "complaint", complaint.id, "create", snapshot, customer.id)
    # The complaint is itself a contact from the customer, on its channel when the timeline has one.
    inbound = complaint.channel in ("call", "sms", "email", "visit")
    log_follow_up(
        db,
        actor,
        customer,
        complaint.channel if inbound else FollowUpChannel.SYSTEM.value,
        summary=_("Complaint received: %(content)s", content=complaint.content[:500]),
        direction=Direction.INBOUND.value if inbound else Direction.INTERNAL.value,
        contact_id=complaint.contact_id,
        status=complaint.step,
        complaint_id=complaint.id,
        occurred_at=now,
        sets_next_contact=False,
    )
    return complaint


def update_complaint(
    db: Session, actor: User, complaint: Complaint, data: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Change the fields present in `data`; a `step` in it advances the complaint (with `note`)."""
    if not can_work(actor, complaint):
        raise Forbidden(_("Your role may look at this complaint but not work on it."))
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    steps: dict[str, Any] = {}
    try:
        values = parse_complaint(data, partial=True)
    except ValidationError as exc:
        errors.extend(exc.errors)
    try:
        steps = parse(STEP_FIELDS, {k: v for k, v in data.items() if k in ("step", "note")}, True)
    except ValidationError as exc:
        errors.extend(exc.errors)
    if not errors:
        errors = _references(db, actor, complaint.customer, values, complaint.owner_id)
    if errors:
        raise ValidationError(errors)
    changes = audit.apply_changes(complaint, values)
    if changes:
        complaint.updated_at = utcnow()
    audit.record(db, actor, "complaint", complaint.id, "update", changes, complaint.customer_id)
    if steps.get("step") and steps["step"] != complaint.step:
        before = complaint.step
        advance_step(db, actor, complaint, steps["step"], steps.get("note") or "")
        changes["step"] = [before, complaint.step]
    db.flush()
    return changes
