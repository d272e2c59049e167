"""The pipeline: stage moves, the board, and the nurture pool that lost and stalled deals go to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from redis import Redis
from sqlalchemy.orm import Session, joinedload

from hub.core import services
from hub.core.auth import Role, User
from hub.core.clock import business_today, day_start, utcnow
from hub.core.db import session_scope
from hub.core.pagination import Page, paginate
from hub.core.refusals import Conflict, FieldError, Forbidden, ValidationError
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit
from hub.crm.customers.models import Customer, Stage
from hub.crm.followups.models import Direction, FollowUp, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.rules import get_rules
from hub.crm.sales.models import Opportunity
from hub.crm.sales.opportunities import (
    CLOSED_STAGES,
    plain_text,
    stage_label,
    visible_opportunities,
)

BOARD_CARDS = 50  # per column; the list page has the rest


def pipeline_stages(db: Session) -> list[str]:
    return list(get_rules(db)["pipeline_stages"])


def first_stage(stages: list[str]) -> str:
    return next((s for s in stages if s not in CLOSED_STAGES), stages[0])


def ladder(stages: list[str]) -> list[str]:
    """The stages a deal climbs one by one: the open ones in order, then won (lost is a side exit)."""
    return [s for s in stages if s not in CLOSED_STAGES] + ["won"]


def neighbours(stages: list[str], stage: str) -> tuple[str | None, str | None]:
    """The previous and next stage on the board; a closed deal has neither."""
    steps = ladder(stages)
    if stage not in steps or stage == "won":
        return None, None
    i = steps.index(stage)
    return (steps[i - 1] if i > 0 else None), steps[i + 1]


def can_work_pool(user: User) -> bool:
    """Specialists work the nurture pool; directors and admins may too."""
    return user.role in (Role.SPECIALIST, Role.DIRECTOR, Role.ADMIN)


# --- moving a deal ------------------------------------------------------------------------------


def _start_after_sale(db: Session, actor: User | None, customer: Customer, now: datetime) -> None:
    changes: dict[str, list[object]] = {}
    if customer.stage != Stage.CUSTOMER.value:
        changes["stage"] = [customer.stage, Stage.CUSTOMER.value]
        if customer.stage in (Stage.LEAD.value, Stage.PROSPECT.value) and not customer.converted_at:
            customer.converted_at = now
        customer.stage = Stage.CUSTOMER.value
    if customer.after_sale_since is None:
        customer.after_sale_since = now
        changes["after_sale_since"] = [None, now.isoformat()]
    audit.record(db, actor, "customer", customer.id, "update", changes, customer.id)


def move_stage(
    db: Session,
    actor: User,
    opp: Opportunity,
    stage: str,
    lost_reason: str | None = None,
    note: str = "",
) -> bool:
    """Move a deal to `stage` and write it on the customer's timeline. Returns whether it moved.

    Lost needs a reason and puts the deal in the nurture pool; won closes it and starts the
    customer's after-sale care. A closed deal does not move again: a won one is done, a lost one
    comes back only through the nurture pool.
    """
    if not can_edit(actor, opp.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    stages = pipeline_stages(db)
    if stage not in stages:
        raise ValidationError(
            [FieldError("stage", _("Choose one of: %(choices)s.", choices=", ".join(stages)))]
        )
    if stage == opp.stage:
        return False
    if opp.stage == "won":
        raise Conflict(_("This opportunity is won and closed; open a new one for new business."))
    if opp.stage == "lost":
        raise Conflict(
            _("This opportunity is lost and in the nurture pool; a specialist re-engages it there.")
        )
    lost_reason = plain_text(lost_reason)
    if stage == "lost" and not lost_reason:
        raise ValidationError([FieldError("lost_reason", _("Say why the opportunity was lost."))])
    now = utcnow()
    before = opp.stage
    opp.stage = stage
    if stage == "lost":
        opp.lost_reason = lost_reason[:300]
        opp.closed_at = now
        opp.nurture_since = now
        opp.nurture_reason = _("Lost: %(reason)s", reason=lost_reason)[:300]
    elif stage == "won":
        opp.closed_at = now
        opp.nurture_since = opp.nurture_reason = None
        _start_after_sale(db, actor, opp.customer, now)
    else:
        # Someone is working it again, so it is no longer stalled.
        opp.nurture_since = opp.nurture_reason = None
    summary = _(
        "Opportunity %(title)s moved from %(before)s to %(after)s.",
        title=opp.title,
        before=stage_label(before),
        after=stage_label(stage),
    )
    if stage == "lost":
        summary += " " + _("Reason: %(reason)s", reason=lost_reason)
    if plain_text(note):
        summary += " " + plain_text(note)
    audit.record(
        db, actor, "opportunity", opp.id, "stage", {"stage": [before, stage]}, opp.customer_id
    )
    log_follow_up(
        db,
        actor,
        opp.customer,
        FollowUpChannel.SYSTEM.value,
        summary=summary,
        direction=Direction.INTERNAL.value,
        status=stage,
        opportunity_id=opp.id,
        sets_next_contact=False,
    )
    return True


# --- the board ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardColumn:
    stage: str
    total: int
    cards: list[Opportunity]
    previous: str | None
    next: str | None


def board(db: Session, user: User) -> list[BoardColumn]:
    """A column per pipeline stage with the deals the user may see; open ones by close date."""
    known = pipeline_stages(db)
    sub = visible_opportunities(user).subquery()
    totals = dict(db.execute(sa.select(sub.c.stage, sa.func.count()).group_by(sub.c.stage)).all())
    # A stage dropped from the rules still has its deals shown, after the others.
    columns = []
    for stage in known + sorted(s for s in totals if s not in known):
        order = (
            (Opportunity.closed_at.desc(),)
            if stage in CLOSED_STAGES
            else (Opportunity.expected_close.asc().nulls_last(),)
        )
        cards = list(
            db.scalars(
                visible_opportunities(user)
                .where(Opportunity.stage == stage)
                .options(joinedload(Opportunity.customer), joinedload(Opportunity.owner))
                .order_by(*order, Opportunity.id)
                .limit(BOARD_CARDS)
            )
        )
        previous, following = neighbours(known, stage)
        columns.append(BoardColumn(stage, totals.get(stage, 0), cards, previous, following))
    return columns


# --- the nurture pool ---------------------------------------------------------------------------


def return_stalled_to_nurture(db: Session, today: date) -> int:
    """Put open deals nobody has followed up for `nurture_after_days` into the nurture pool.

    A deal is worked when a follow-up concerns it (a stage move counts) or its customer was
    contacted on a real channel; system records on the customer (a campaign message, a class
    change) are machines talking and do not count. Returns how many went to the pool.
    """
    days = int(get_rules(db)["nurture_after_days"])
    # Stalled when the last sign of work is `days` or more business days before today.
    cutoff = day_start(today - timedelta(days=days - 1))
    on_deal = sa.exists().where(
        FollowUp.opportunity_id == Opportunity.id, FollowUp.occurred_at >= cutoff
    )
    on_customer = sa.exists().where(
        FollowUp.customer_id == Opportunity.customer_id,
        FollowUp.channel != FollowUpChannel.SYSTEM.value,
        FollowUp.occurred_at >= cutoff,
    )
    stalled = list(
        db.scalars(
            sa.select(Opportunity)
            .where(
                Opportunity.stage.not_in(CLOSED_STAGES),
                Opportunity.nurture_since.is_(None),
                Opportunity.created_at < cutoff,
                ~on_deal,
                ~on_customer,
            )
            .order_by(Opportunity.id)
        )
    )
    now = utcnow()
    reason = _("No follow-up for %(days)d days", days=days)
    for opp in stalled:
        opp.nurture_since = now
        opp.nurture_reason = reason
        log_follow_up(
            db,
            None,
            opp.customer,
            FollowUpChannel.SYSTEM.value,
            summary=_(
                "Opportunity %(title)s went back to the nurture pool: %(reason)s.",
                title=opp.title,
                reason=reason,
            ),
            direction=Direction.INTERNAL.value,
            opportunity_id=opp.id,
            occurred_at=now,
            sets_next_contact=False,
        )
    db.flush()
    return len(stalled)


def nurture_job(today: str | None = None) -> int:
    """RQ job: `return_stalled_to_nurture` for `today` (ISO date; default the UTC date now)."""
    # No request, so no user's language: the stored reason is in the hub's default language
    # (and the locale selector, which reads the request, must not be asked).
    default = current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
    with force_locale(default), session_scope() as s:
        return return_stalled_to_nurture(s, date.fromisoformat(today) if today else business_today())


def enqueue_nurture_job(connection: Redis) -> list[str]:
    """Queue `nurture_job` (for the periodic schedule, once a day is enough)."""
    job = services.queue("default", connection).enqueue(nurture_job, result_ttl=86400)
    return [job.id]


def nurture_pool(db: Session, user: User, page: int = 1, per_page: int = 25) -> Page:
    """Deals in the nurture pool, longest there first."""
    if not can_work_pool(user):
        raise Forbidden(_("The nurture pool is worked by customer specialists and directors."))
    stmt = (
        sa.select(Opportunity)
        .where(Opportunity.nurture_since.is_not(None))
        .options(joinedload(Opportunity.customer), joinedload(Opportunity.owner))
        .order_by(Opportunity.nurture_since, Opportunity.id)
    )
    return paginate(db, stmt, page, per_page)


def nurture_count(db: Session) -> int:
    """How many deals wait in the nurture pool (for a count in the navigation)."""
    return db.scalar(sa.select(sa.func.count()).where(Opportunity.nurture_since.is_not(None))) or 0


def re_engage(db: Session, actor: User, opp: Opportunity, note: str = "") -> None:
    """Take a deal out of the nurture pool; a lost one reopens at the first stage."""
    if not can_work_pool(actor):
        raise Forbidden(_("The nurture pool is worked by customer specialists and directors."))
    if opp.nurture_since is None:
        raise Conflict(_("This opportunity is not in the nurture pool."))
    days = max(0, (utcnow() - opp.nurture_since).days)
    before = opp.stage
    changes: dict[str, list[object]] = {"nurture_since": [opp.nurture_since.isoformat(), None]}
    opp.nurture_since = opp.nurture_reason = None
    if opp.stage == "lost":
        opp.stage = first_stage(pipeline_stages(db))
        opp.closed_at = None
        opp.lost_reason = None
        changes["stage"] = [before, opp.stage]
    summary = _(
        "Opportunity %(title)s re-engaged after %(days)d days in the nurture pool.",
        title=opp.title,
        days=days,
    )
    if before != opp.stage:
        summary += " " + _("Reopened at %(stage)s.", stage=stage_label(opp.stage))
    if plain_text(note):
        summary += " " + plain_text(note)
    audit.record(db, actor, "opportunity", opp.id, "re-engage", changes, opp.customer_id)
    log_follow_up(
        db,
        actor,
        opp.customer,
        FollowUpChannel.SYSTEM.value,
        summary=summary,
        direction=Direction.INTERNAL.value,
        status=opp.stage,
        opportunity_id=opp.id,
        sets_next_contact=False,
    )
