"""The customer specialist's figures: campaigns compared, channels over time, survey scores, and
the suppression list's growth by source."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign
from hub.campaigns.surveys.models import SurveyResponse
from hub.channels.models import MessageStatus, Suppression
from hub.channels.suppressions import REASONS, reason_label
from hub.core.charts import Chart, percent
from hub.crm.labels import choice_label
from hub.insight.filters import Filters
from hub.insight.slicing import (
    buckets,
    in_days,
    in_range,
    once_per_request,
    summary_conditions,
    with_customer_filters,
)
from hub.insight.summaries import InsightCampaignStats as Stats
from hub.insight.summaries import InsightDaily as Daily

MAX_CAMPAIGNS = 12
DELIVERED = (MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED)
OPENED = (MessageStatus.OPENED, MessageStatus.CLICKED)
OPT_OUTS = ("stop", "unsubscribe")


def campaign_figures(db: Session, f: Filters) -> list[tuple[str, dict[str, int]]]:
    return once_per_request("campaigns", f, lambda: _campaign_figures(db, f))


def _campaign_figures(db: Session, f: Filters) -> list[tuple[str, dict[str, int]]]:
    """The campaigns launched in the range (the latest first), each with its counts, from the
    summary table (hub.insight.summaries.refresh_campaigns).

    Sent: handed to the provider. Delivered, opened, clicked: how far the message got (a status
    only moves forward, so a clicked email was delivered and opened). Replied: an inbound
    message answers it. Unsubscribed: its address was suppressed by STOP or the unsubscribe
    link after it was sent.
    """
    stmt = sa.select(Campaign.id, Campaign.name).where(in_range(Campaign.launched_at, f))
    if f.channel is not None:
        stmt = stmt.where(Campaign.channel == f.channel)
    campaigns = db.execute(
        stmt.order_by(Campaign.launched_at.desc(), Campaign.id.desc()).limit(MAX_CAMPAIGNS)
    ).all()
    if not campaigns:
        return []
    names = ("sent", "delivered", "opened", "clicked", "replied", "unsubscribed")
    counts = (
        sa.select(
            Stats.campaign_id, *(sa.func.sum(getattr(Stats, name)) for name in names)
        )
        .where(
            Stats.campaign_id.in_([c.id for c in campaigns]), *summary_conditions(Stats, f)
        )
        .group_by(Stats.campaign_id)
    )
    found = {
        row[0]: {name: int(v or 0) for name, v in zip(names, row[1:], strict=True)}
        for row in db.execute(counts)
    }
    return [(c.name, found.get(c.id, dict.fromkeys(names, 0))) for c in campaigns]


def campaigns_compared(db: Session, f: Filters) -> Chart:
    figures = campaign_figures(db, f)
    keys = ("sent", "delivered", "opened", "clicked", "replied", "unsubscribed")
    return Chart(
        "campaign_counts", _("Campaigns compared"), "bars", _("Campaign"),
        [_("Sent"), _("Delivered"), _("Opened"), _("Clicked"), _("Replied"), _("Unsubscribed")],
        [(name, [c[k] for k in keys]) for name, c in figures],
        note=_("Campaigns launched in the date range (at most %(count)d).", count=MAX_CAMPAIGNS),
    )


def campaign_rates(db: Session, f: Filters) -> Chart:
    """Delivered of sent; opened, clicked, replied and unsubscribed of delivered."""
    figures = campaign_figures(db, f)
    rows = [
        (
            name,
            [
                percent(c["delivered"], c["sent"]),
                percent(c["opened"], c["delivered"]),
                percent(c["clicked"], c["delivered"]),
                percent(c["replied"], c["delivered"]),
                percent(c["unsubscribed"], c["delivered"]),
            ],
        )
        for name, c in figures
    ]
    return Chart(
        "campaign_rates", _("Campaign rates"), "bars", _("Campaign"),
        [_("Delivered (%)"), _("Opened (%)"), _("Clicked (%)"), _("Replied (%)"),
         _("Unsubscribed (%)")],
        rows, unit="%", note=_("Delivered of sent; the others of delivered."),
    )


def channels_over_time(db: Session, f: Filters) -> Chart:
    """Outbound messages sent and delivered per channel, and calls made and answered, by period."""
    b = buckets(f)
    channels = [c for c in ("sms", "email", "call") if f.channel in (None, c)]
    period = b.index_days(Daily.day)
    metrics = {
        "message_sent": 0, "message_delivered": 1, "call_made": 0, "call_answered": 1,
    }
    stmt = (
        sa.select(period, Daily.key, Daily.metric, sa.func.sum(Daily.value))
        .where(Daily.metric.in_(metrics), in_days(Daily, f), *summary_conditions(Daily, f))
        .group_by(period, Daily.key, Daily.metric)
    )
    found: dict[tuple[int, str], list[int]] = {}
    for i, channel, metric, n in db.execute(stmt):
        found.setdefault((i, channel), [0, 0])[metrics[metric]] = int(n or 0)
    series: list[str] = []
    for ch in channels:
        name = choice_label("channel", ch)
        if ch == "call":
            series += [_("%(channel)s made", channel=name), _("%(channel)s answered", channel=name)]
        else:
            series += [
                _("%(channel)s sent", channel=name), _("%(channel)s delivered", channel=name)
            ]
    rows = [
        (label, [n for ch in channels for n in found.get((i, ch), (0, 0))])
        for i, label in enumerate(b.labels())
    ]
    return Chart(
        "channels_time", _("Channel performance over time"), "line", _("Period from"), series,
        rows, note=_("Outbound messages by the day they were sent; calls either way."),
    )


def _nps_counts(db: Session, f: Filters) -> list[tuple[str, list[int]]]:
    """Per period: promoters (9–10), passives (7–8), detractors (0–6)."""
    return once_per_request("nps", f, lambda: _count_nps(db, f))


def _count_nps(db: Session, f: Filters) -> list[tuple[str, list[int]]]:
    b = buckets(f)
    period = b.index(SurveyResponse.answered_at, f)
    kind = sa.case((SurveyResponse.score >= 9, 0), (SurveyResponse.score >= 7, 1), else_=2)
    stmt = with_customer_filters(
        sa.select(period, kind, sa.func.count())
        .where(SurveyResponse.kind == "nps", in_range(SurveyResponse.answered_at, f))
        .group_by(period, kind),
        f,
        SurveyResponse.customer_id,
    )
    if f.channel is not None:
        stmt = stmt.where(SurveyResponse.channel == f.channel)
    found = {(i, k): n for i, k, n in db.execute(stmt)}
    return [(label, [found.get((i, k), 0) for k in range(3)]) for i, label in enumerate(b.labels())]


def nps_split(db: Session, f: Filters) -> Chart:
    return Chart(
        "nps_split", _("NPS answers over time"), "bars", _("Period from"),
        [_("Promoters"), _("Passives"), _("Detractors")], _nps_counts(db, f),
        note=_("Answers to NPS surveys in the date range."),
    )


def nps_score(db: Session, f: Filters) -> Chart:
    rows: list[tuple[str, list[Any]]] = []
    hints = {}
    for i, (label, (promoters, passives, detractors)) in enumerate(_nps_counts(db, f)):
        total = promoters + passives + detractors
        score = round(100 * (promoters - detractors) / total) if total else None
        rows.append((label, [score]))
        if total:
            hints[(i, 0)] = _("%(count)d answers", count=total)
    return Chart(
        "nps_score", _("NPS over time"), "line", _("Period from"), [_("NPS")], rows, hints=hints,
        note=_("Promoters minus detractors, in percent of the answers."),
    )


def _suppressions(db: Session, f: Filters) -> tuple[list[str], list[tuple[str, list[int]]], int]:
    return once_per_request("suppressions", f, lambda: _count_suppressions(db, f))


def _count_suppressions(
    db: Session, f: Filters
) -> tuple[list[str], list[tuple[str, list[int]]], int]:
    b = buckets(f)
    period = b.index(Suppression.created_at, f)
    stmt = (
        sa.select(period, Suppression.reason, sa.func.count())
        .where(in_range(Suppression.created_at, f))
        .group_by(period, Suppression.reason)
    )
    before = sa.select(sa.func.count()).where(Suppression.created_at < f.since)
    if f.channel is not None:
        stmt = stmt.where(Suppression.channel == f.channel)
        before = before.where(Suppression.channel == f.channel)
    found = {(i, reason): n for i, reason, n in db.execute(stmt)}
    reasons = [r for r in REASONS if any(k[1] == r for k in found)]
    rows = [(label, [found.get((i, r), 0) for r in reasons]) for i, label in enumerate(b.labels())]
    return reasons, rows, db.scalar(before) or 0


def suppression_sources(db: Session, f: Filters) -> Chart:
    reasons, rows, _before = _suppressions(db, f)
    return Chart(
        "suppression_sources", _("New suppressions by source"), "bars", _("Period from"),
        [reason_label(r) for r in reasons], rows if reasons else [],
        note=_("Addresses added to the suppression list in the date range."),
    )


def suppression_growth(db: Session, f: Filters) -> Chart:
    _reasons, rows, total = _suppressions(db, f)
    growth = []
    for label, counts in rows:
        total += sum(counts)
        growth.append((label, [total]))
    return Chart(
        "suppression_total", _("Suppression list size"), "line", _("Period from"),
        [_("Addresses suppressed")], growth, note=_("At the end of each period."),
    )


CHARTS = {
    "campaign_counts": campaigns_compared,
    "campaign_rates": campaign_rates,
    "channels_time": channels_over_time,
    "nps_split": nps_split,
    "nps_score": nps_score,
    "suppression_sources": suppression_sources,
    "suppression_total": suppression_growth,
}
