"""The director's figures: pipeline, won and lost, classes and the revenue Pareto, follow-up work
per rep, open complaints, leads by source, credit reviews due.

Each function takes a session and the filters and returns one `Chart`. Figures marked "today"
are the state now; the others count what happened in the date range.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.charts import Chart, number, percent
from hub.crm.labels import choice_label
from hub.crm.rules import get_rules
from hub.crm.sales.models import Opportunity
from hub.crm.sales.opportunities import CLOSED_STAGES, stage_label
from hub.crm.service.complaints import step_label
from hub.crm.service.models import STEPS, Complaint
from hub.insight import receivable_charts
from hub.insight.filters import Filters
from hub.insight.pareto import revenue_pareto
from hub.insight.slicing import (
    in_days,
    in_range,
    once_per_request,
    summary_conditions,
    with_customer_filters,
)
from hub.insight.summaries import InsightCustomerFacts as Facts
from hub.insight.summaries import InsightDaily as Daily

TOP_REASONS = 8
AGE_BUCKETS = ((2, "0–2"), (7, "3–7"), (30, "8–30"), (None, "> 30"))


def open_pipeline(db: Session, f: Filters) -> dict[tuple[str, date | None], tuple[Decimal, int]]:
    """{(stage, expected close): (value, count)} of the open opportunities today, once a request.

    One scan serves both pipeline charts; months are folded here from the dates (a few hundred
    groups), which costs the database less than taking the year and month of every row.
    """
    return once_per_request("pipeline", f, lambda: _open_pipeline(db, f))


def _open_pipeline(db: Session, f: Filters) -> dict[tuple[str, date | None], tuple[Decimal, int]]:
    stmt = with_customer_filters(
        sa.select(
            Opportunity.stage, Opportunity.expected_close, sa.func.sum(Opportunity.amount),
            sa.func.count(),
        )
        .where(Opportunity.stage.not_in(CLOSED_STAGES))
        .group_by(Opportunity.stage, Opportunity.expected_close),
        f,
        Opportunity.customer_id,
        Opportunity.owner_id,
    )
    return {
        (stage, closes): (Decimal(total or 0), count)
        for stage, closes, total, count in db.execute(stmt)
    }


def pipeline_by_stage(db: Session, f: Filters) -> Chart:
    """Open opportunities today: their value by stage."""
    stages = [s for s in get_rules(db)["pipeline_stages"] if s not in CLOSED_STAGES]
    found: dict[str, tuple[Decimal, int]] = {}
    for (stage, _closes), (total, count) in open_pipeline(db, f).items():
        value, n = found.get(stage, (Decimal(0), 0))
        found[stage] = (value + total, n + count)
    rows = [(stage_label(s), [number(found.get(s, (0, 0))[0])]) for s in stages]
    hints = {(i, 0): _("%(count)d open", count=found.get(s, (0, 0))[1]) for i, s in enumerate(stages)}
    return Chart(
        "pipeline_stage", _("Pipeline value by stage"), "bars", _("Stage"), [_("Value")], rows,
        note=_("Open opportunities today."), hints=hints,
    )


def pipeline_by_month(db: Session, f: Filters) -> Chart:
    """Open opportunities today: their value by the month they are expected to close."""
    by_month: dict[tuple[int, int] | None, Decimal] = {}
    for (_stage, closes), (total, _count) in open_pipeline(db, f).items():
        month = (closes.year, closes.month) if closes is not None else None
        by_month[month] = by_month.get(month, Decimal(0)) + total
    found = sorted(by_month.items(), key=lambda kv: (kv[0] is None, kv[0] or (0, 0)))
    rows = [
        (f"{m[0]:04d}-{m[1]:02d}" if m is not None else _("No date"), [number(total)])
        for m, total in found
    ]
    return Chart(
        "pipeline_month", _("Pipeline value by expected month"), "bars", _("Month"),
        [_("Value")], rows, note=_("Open opportunities today."),
    )


def won_lost(db: Session, f: Filters) -> Chart:
    """Opportunities closed in the range: won, and lost by reason (the most common first)."""
    stmt = with_customer_filters(
        sa.select(Opportunity.stage, Opportunity.lost_reason, sa.func.count())
        .where(Opportunity.stage.in_(CLOSED_STAGES), in_range(Opportunity.closed_at, f))
        .group_by(Opportunity.stage, Opportunity.lost_reason),
        f,
        Opportunity.customer_id,
        Opportunity.owner_id,
    )
    won = 0
    lost: dict[str, int] = {}
    for stage, reason, count in db.execute(stmt):
        if stage == "won":
            won += count
        else:
            key = (reason or "").strip() or _("No reason given")
            lost[key] = lost.get(key, 0) + count
    ranked = sorted(lost.items(), key=lambda kv: (-kv[1], kv[0]))
    rows: list[tuple[str, list[Any]]] = [(str(stage_label("won")), [won])]
    rows += [(_("Lost: %(reason)s", reason=r), [n]) for r, n in ranked[:TOP_REASONS]]
    if len(ranked) > TOP_REASONS:
        rows.append((_("Lost: other reasons"), [sum(n for _r, n in ranked[TOP_REASONS:])]))
    return Chart(
        "won_lost", _("Won and lost, with reasons"), "bars", _("Outcome"), [_("Opportunities")],
        rows, note=_("Closed in the date range."),
    )


def customers_by_class(db: Session, f: Filters) -> Chart:
    stmt = (
        sa.select(Facts.customer_class, sa.func.sum(Facts.customers))
        .where(*summary_conditions(Facts, f))
        .group_by(Facts.customer_class)
    )
    found = {cls: int(n or 0) for cls, n in db.execute(stmt)}
    rows = [(c, [found.get(c, 0)]) for c in ("A", "B", "C")]
    return Chart(
        "customers_class", _("Customers by class"), "bars", _("Class"), [_("Customers")], rows,
        note=_("Today."),
    )


def follow_ups_per_rep(db: Session, f: Filters) -> Chart:
    """Per rep: follow-ups logged in the range; customers due today and overdue."""
    metric = "follow_up_cut" if f.customer_class or f.region else "follow_up"
    done_stmt = (
        sa.select(Daily.user_id, sa.func.sum(Daily.value))
        .where(
            Daily.metric == metric,
            Daily.user_id.is_not(None),
            in_days(Daily, f),
            *summary_conditions(Daily, f, Daily.user_id),
        )
        .group_by(Daily.user_id)
    )
    if f.channel is not None:
        done_stmt = done_stmt.where(Daily.key == f.channel)
    done = {user_id: int(n) for user_id, n in db.execute(done_stmt)}
    due_stmt = (
        sa.select(Facts.owner_id, sa.func.sum(Facts.due_today), sa.func.sum(Facts.overdue))
        .where(Facts.owner_id.is_not(None), *summary_conditions(Facts, f))
        .group_by(Facts.owner_id)
        .having(sa.func.sum(Facts.due_today) + sa.func.sum(Facts.overdue) > 0)
    )
    due = {owner: (int(d), int(o)) for owner, d, o in db.execute(due_stmt)}
    ids = set(done) | set(due)
    users = (
        db.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.name, User.email)).all()
        if ids
        else []
    )
    rows = [
        (u.display_name, [done.get(u.id, 0), *due.get(u.id, (0, 0))]) for u in users
    ]
    return Chart(
        "follow_ups_rep", _("Follow-ups per rep"), "bars", _("Rep"),
        [_("Done in range"), _("Due today"), _("Overdue")], rows,
        note=_("Done: logged in the date range. Due and overdue: today."),
    )


def complaints_open(db: Session, f: Filters) -> Chart:
    """Complaints not yet followed up, by step and by days since they were received."""
    now = f.now
    bounds = []
    for days, _label in AGE_BUCKETS:
        bounds.append(now - timedelta(days=days + 1) if days is not None else None)
    age = sa.case(
        *((Complaint.received_at > b, i) for i, b in enumerate(bounds) if b is not None),
        else_=len(bounds) - 1,
    )
    stmt = with_customer_filters(
        sa.select(Complaint.step, age, sa.func.count())
        .where(Complaint.step != "followed_up")
        .group_by(Complaint.step, age),
        f,
        Complaint.customer_id,
        Complaint.owner_id,
    )
    found = {(step, i): n for step, i, n in db.execute(stmt)}
    steps = [s for s in STEPS if s != "followed_up"]
    rows = [
        (step_label(s), [found.get((s, i), 0) for i in range(len(AGE_BUCKETS))]) for s in steps
    ]
    return Chart(
        "complaints_open", _("Open complaints by step and age"), "bars", _("Step"),
        [_("%(days)s days", days=label) for _d, label in AGE_BUCKETS], rows,
        note=_("Today; age since the complaint was received."),
    )


def lead_counts(db: Session, f: Filters, by_source: bool = True) -> dict[str, tuple[int, int]]:
    """{source: (leads, converted)}: customers that came in as leads in the range (still a lead,
    or converted since), and how many of them became customers."""
    return once_per_request(
        f"leads:{by_source}", f, lambda: _lead_counts(db, f, by_source)
    )


def _lead_counts(db: Session, f: Filters, by_source: bool) -> dict[str, tuple[int, int]]:
    # Without owner, class or region the coarse rows (a few a day) answer.
    cut = f.owner_id is not None or f.customer_class is not None or f.region is not None
    metrics = ("lead_cut", "lead_converted_cut") if cut else ("lead", "lead_converted")
    key = Daily.key if by_source else sa.literal("all")
    stmt = (
        sa.select(
            key,
            sa.func.sum(Daily.value).filter(Daily.metric == metrics[0]),
            sa.func.sum(Daily.value).filter(Daily.metric == metrics[1]),
        )
        .where(
            Daily.metric.in_(metrics),
            in_days(Daily, f),
            *summary_conditions(Daily, f),
        )
        .group_by(key)
    )
    if f.channel is not None:
        stmt = stmt.where(Daily.key == f.channel)
    return {
        source: (int(leads or 0), int(converted or 0))
        for source, leads, converted in db.execute(stmt)
        if leads
    }


def leads_by_source(db: Session, f: Filters) -> Chart:
    found = sorted(lead_counts(db, f).items(), key=lambda kv: (-kv[1][0], kv[0]))
    rows = [(choice_label("lead_source", s), [leads, conv]) for s, (leads, conv) in found]
    return Chart(
        "leads_source", _("Leads by source"), "bars", _("Source"), [_("Leads"), _("Converted")],
        rows, note=_("Leads created in the date range."),
    )


def conversion_by_source(db: Session, f: Filters) -> Chart:
    found = sorted(lead_counts(db, f).items(), key=lambda kv: (-kv[1][0], kv[0]))
    rows = [(choice_label("lead_source", s), [percent(conv, leads)]) for s, (leads, conv) in found]
    hints = {
        (i, 0): _("%(part)d of %(whole)d", part=conv, whole=leads)
        for i, (_s, (leads, conv)) in enumerate(found)
    }
    return Chart(
        "conversion_source", _("Lead conversion rate by source"), "bars", _("Source"),
        [_("Converted (%)")], rows, unit="%", hints=hints,
        note=_("Leads created in the date range that became customers."),
    )


def credit_reviews_due(db: Session, f: Filters) -> Chart:
    """Credit reviews overdue, due within a week and within a month, by class."""
    columns = (Facts.credit_overdue, Facts.credit_week, Facts.credit_month)
    stmt = (
        sa.select(Facts.customer_class, *(sa.func.sum(c) for c in columns))
        .where(*summary_conditions(Facts, f))
        .group_by(Facts.customer_class)
    )
    found = {cls: [int(v or 0) for v in values] for cls, *values in db.execute(stmt)}
    labels = [_("Overdue"), _("Within 7 days"), _("Within 30 days")]
    rows = [
        (label, [found.get(c, [0, 0, 0])[i] for c in ("A", "B", "C")])
        for i, label in enumerate(labels)
    ]
    return Chart(
        "credit_reviews", _("Credit reviews due"), "bars", _("When"),
        [_("Class %(name)s", name=c) for c in ("A", "B", "C")], rows, note=_("Today."),
    )


CHARTS = {
    "pipeline_stage": pipeline_by_stage,
    "pipeline_month": pipeline_by_month,
    "won_lost": won_lost,
    "customers_class": customers_by_class,
    "pareto": revenue_pareto,
    "follow_ups_rep": follow_ups_per_rep,
    "complaints_open": complaints_open,
    "leads_source": leads_by_source,
    "conversion_source": conversion_by_source,
    "credit_reviews": credit_reviews_due,
    "receivables_age": receivable_charts.receivables_by_age,
    "top_overdue": receivable_charts.top_overdue_customers,
}
