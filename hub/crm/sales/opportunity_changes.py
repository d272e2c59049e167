"""Recording opportunities: created, changed (a stage move goes through the pipeline) and deleted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.refusals import FieldError, Forbidden, ValidationError
from hub.core.validation import parse, unknown_keys
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Opportunity
from hub.crm.sales.opportunities import (
    CLOSED_STAGES,
    OPPORTUNITY_CREATE,
    OPPORTUNITY_FIELDS,
    _currency,
    control_characters,
    stage_label,
)
from hub.crm.sales.opportunity_pipeline import first_stage, move_stage, pipeline_stages


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
