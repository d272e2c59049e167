"""Summary tables for the dashboards, kept by a periodic job: at a million customers and ten
million follow-ups the plain aggregates take seconds, the summaries milliseconds.

- `insight_daily`: per local day, a metric (follow-ups per rep and channel, messages sent and
  delivered per channel, calls made and answered, leads and converted leads per source) cut by
  the customer's owner, class and region.
- `insight_customer_facts`: today's customers, contacts due and overdue, credit reviews due, per
  owner, class and region.
- `insight_campaign_stats`: each campaign's sent, delivered, opened, clicked, replied and
  unsubscribed, per owner, class and region of the recipients.

The job refreshes the last days and the snapshots every five minutes (`refresh_recent`), and
everything once a night (`refresh_all`); class and region are the customer's at refresh time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from redis import Redis
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from hub.campaigns.models import Campaign
from hub.channels.calls.models import Call
from hub.channels.models import Message, MessageStatus, Suppression
from hub.core import services
from hub.core.clock import business_zone, day_start, utcnow
from hub.core.db import Base, session_scope
from hub.crm.customers.models import Customer, Stage
from hub.crm.followups.models import FollowUp

RECENT_DAYS = 7  # statuses and late-logged records settle within a week
RECENT_CAMPAIGN_DAYS = 60
DELIVERED = (MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED)
OPENED = (MessageStatus.OPENED, MessageStatus.CLICKED)
OPT_OUTS = ("stop", "unsubscribe")


class InsightDaily(Base):
    __tablename__ = "insight_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    metric: Mapped[str] = mapped_column(sa.String(20))
    key: Mapped[str] = mapped_column(sa.String(30), default="")  # channel or lead source
    user_id: Mapped[int | None]  # who did it (follow-ups, calls)
    owner_id: Mapped[int | None]  # the customer's owner
    customer_class: Mapped[str] = mapped_column(sa.String(1), default="")
    region: Mapped[str] = mapped_column(sa.String(80), default="")
    value: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        sa.Index("ix_insight_daily_metric_day", "metric", "day"),
        sa.Index("ix_insight_daily_metric_cut", "metric", "region", "customer_class", "day"),
    )


class InsightCustomerFacts(Base):
    __tablename__ = "insight_customer_facts"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[date]
    owner_id: Mapped[int | None]
    customer_class: Mapped[str] = mapped_column(sa.String(1), default="")
    region: Mapped[str] = mapped_column(sa.String(80), default="")
    customers: Mapped[int] = mapped_column(default=0)
    due_today: Mapped[int] = mapped_column(default=0)
    overdue: Mapped[int] = mapped_column(default=0)
    credit_overdue: Mapped[int] = mapped_column(default=0)
    credit_week: Mapped[int] = mapped_column(default=0)
    credit_month: Mapped[int] = mapped_column(default=0)


class InsightCampaignStats(Base):
    __tablename__ = "insight_campaign_stats"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None]
    customer_class: Mapped[str] = mapped_column(sa.String(1), default="")
    region: Mapped[str] = mapped_column(sa.String(80), default="")
    sent: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)
    opened: Mapped[int] = mapped_column(default=0)
    clicked: Mapped[int] = mapped_column(default=0)
    replied: Mapped[int] = mapped_column(default=0)
    unsubscribed: Mapped[int] = mapped_column(default=0)


class InsightRefresh(Base):
    """When the summaries were last brought up to date."""

    __tablename__ = "insight_refresh"

    part: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    at: Mapped[datetime]


# --- local days ---------------------------------------------------------------------------------


def local_day(db: Session, column: Any, tz: ZoneInfo) -> Any:
    """The business-time-zone date of a UTC timestamp column."""
    if db.get_bind().dialect.name == "postgresql":
        return sa.cast(sa.func.timezone(tz.key, column), sa.Date)
    # SQLite has no time zones: the zone's offset now (exact for zones without summer time).
    offset = int((utcnow().astimezone(tz).utcoffset() or timedelta()).total_seconds())
    return sa.func.date(column, f"{offset:+d} seconds")


def _dims() -> list[Any]:
    return [Customer.owner_id, Customer.customer_class, Customer.region]


def _daily(
    db: Session, metric: str, source: sa.Select[Any], since: date | None, tz: ZoneInfo
) -> None:
    """Replace a metric's rows from `since` (all when None) by `source`'s rows:
    (day, key, user_id, owner_id, class, region, value)."""
    delete = sa.delete(InsightDaily).where(InsightDaily.metric == metric)
    if since is not None:
        delete = delete.where(InsightDaily.day >= since)
    db.execute(delete)
    columns = ["day", "key", "user_id", "owner_id", "customer_class", "region", "value"]
    rows = source.subquery()
    select = sa.select(
        rows.c.day, sa.literal(metric).label("metric"), *(rows.c[c] for c in columns[1:])
    )
    db.execute(
        sa.insert(InsightDaily).from_select(
            ["day", "metric", *columns[1:]], select
        )
    )


def _since(column: Any, since: date | None, tz: ZoneInfo) -> list[Any]:
    if since is None:
        return []

    return [column >= day_start(since, tz)]


def refresh_daily(db: Session, since: date | None, tz: ZoneInfo) -> None:
    """Follow-ups, messages and calls per local day from `since` (everything when None)."""
    day = local_day(db, FollowUp.occurred_at, tz).label("day")
    # Two grains: per rep and channel (what the dashboard shows unfiltered, a few rows a day),
    # and cut by the customer's class and region as well (for those filters).
    blank = [sa.literal(None, sa.Integer).label("owner_id"), sa.literal("").label("customer_class"),
             sa.literal("").label("region")]
    _daily(db, "follow_up", sa.select(
        day, FollowUp.channel.label("key"), FollowUp.user_id, *blank,
        sa.func.count().label("value"),
    ).where(
        FollowUp.channel != "system", *_since(FollowUp.occurred_at, since, tz)
    ).group_by(day, FollowUp.channel, FollowUp.user_id), since, tz)
    cut = [Customer.customer_class, Customer.region]
    _daily(db, "follow_up_cut", sa.select(
        day, FollowUp.channel.label("key"), FollowUp.user_id,
        sa.literal(None, sa.Integer).label("owner_id"), *cut, sa.func.count().label("value"),
    ).join(Customer, Customer.id == FollowUp.customer_id).where(
        FollowUp.channel != "system", *_since(FollowUp.occurred_at, since, tz)
    ).group_by(day, FollowUp.channel, FollowUp.user_id, *cut), since, tz)

    day = local_day(db, Message.sent_at, tz).label("day")
    delivered = sa.case((Message.status.in_(DELIVERED), 1), else_=0)
    for metric, value in (("message_sent", sa.func.count()),
                          ("message_delivered", sa.func.sum(delivered))):
        _daily(db, metric, sa.select(
            day, Message.channel.label("key"), sa.literal(None, sa.Integer).label("user_id"),
            *_dims(), value.label("value"),
        ).join(Customer, Customer.id == Message.customer_id).where(
            Message.direction == "outbound", Message.sent_at.is_not(None),
            *_since(Message.sent_at, since, tz),
        ).group_by(day, Message.channel, *_dims()), since, tz)

    day = local_day(db, Call.created_at, tz).label("day")
    for metric, value in (("call_made", sa.func.count()),
                          ("call_answered", sa.func.count(Call.answered_at))):
        _daily(db, metric, sa.select(
            day, sa.literal("call").label("key"), Call.agent_id.label("user_id"), *_dims(),
            value.label("value"),
        ).join(Customer, Customer.id == Call.customer_id).where(
            *_since(Call.created_at, since, tz)
        ).group_by(day, Call.agent_id, *_dims()), since, tz)


def refresh_leads(db: Session, tz: ZoneInfo) -> None:
    """Leads by the day they were created and their source; conversion changes old days, so
    every day is counted again."""
    day = local_day(db, Customer.created_at, tz).label("day")
    was_lead = sa.or_(Customer.stage == Stage.LEAD.value, Customer.converted_at.is_not(None))
    no_user = sa.literal(None, sa.Integer).label("user_id")
    blank = [sa.literal(None, sa.Integer).label("owner_id"), sa.literal("").label("customer_class"),
             sa.literal("").label("region")]
    for metric, value in (("lead", sa.func.count()),
                          ("lead_converted", sa.func.count(Customer.converted_at))):
        # Coarse (day and source) for the whole company; cut by owner, class and region.
        _daily(db, metric, sa.select(
            day, Customer.lead_source.label("key"), no_user, *blank, value.label("value"),
        ).where(was_lead).group_by(day, Customer.lead_source), None, tz)
        _daily(db, f"{metric}_cut", sa.select(
            day, Customer.lead_source.label("key"), no_user, *_dims(), value.label("value"),
        ).where(was_lead).group_by(day, Customer.lead_source, *_dims()), None, tz)


def refresh_customer_facts(db: Session, today: date) -> None:
    db.execute(sa.delete(InsightCustomerFacts))

    def count(condition: Any) -> Any:
        return sa.func.count().filter(condition)

    review = Customer.next_credit_review
    select = sa.select(
        sa.literal(today, sa.Date), *_dims(), sa.func.count(),
        count(Customer.next_contact_on == today),
        count(Customer.next_contact_on < today),
        count(review < today),
        count(sa.and_(review >= today, review <= today + timedelta(days=7))),
        count(sa.and_(review > today + timedelta(days=7), review <= today + timedelta(days=30))),
    ).group_by(*_dims())
    db.execute(sa.insert(InsightCustomerFacts).from_select(
        ["as_of", "owner_id", "customer_class", "region", "customers", "due_today", "overdue",
         "credit_overdue", "credit_week", "credit_month"], select))


def refresh_campaigns(db: Session, launched_since: datetime | None) -> None:
    """Campaign figures by the recipients' owner, class and region (see
    hub.insight.specialist.campaign_figures for what each count means)."""
    ids = sa.select(Campaign.id).where(Campaign.launched_at.is_not(None))
    if launched_since is not None:
        ids = ids.where(Campaign.launched_at >= launched_since)
    campaign_ids = list(db.scalars(ids))
    if not campaign_ids:
        return
    db.execute(sa.delete(InsightCampaignStats).where(
        InsightCampaignStats.campaign_id.in_(campaign_ids)))
    reply = aliased(Message)
    replied = sa.select(reply.in_reply_to_id.label("mid")).where(
        reply.direction == "inbound", reply.in_reply_to_id.is_not(None)
    ).distinct().subquery()
    opt_out = sa.select(Suppression.channel, Suppression.address, Suppression.created_at).where(
        Suppression.reason.in_(OPT_OUTS)).subquery()
    unsubscribed = sa.and_(opt_out.c.address.is_not(None), opt_out.c.created_at >= Message.sent_at)

    def count(condition: Any) -> Any:
        return sa.func.count().filter(condition)

    select = (
        sa.select(
            Message.campaign_id, *_dims(),
            sa.func.count(Message.provider_id),
            count(Message.status.in_(DELIVERED)),
            count(Message.status.in_(OPENED)),
            count(Message.status == MessageStatus.CLICKED.value),
            count(replied.c.mid.is_not(None)),
            count(unsubscribed),
        )
        .join(Customer, Customer.id == Message.customer_id)
        .outerjoin(replied, replied.c.mid == Message.id)
        .outerjoin(opt_out, sa.and_(opt_out.c.channel == Message.channel,
                                    opt_out.c.address == Message.to_address))
        .where(Message.campaign_id.in_(campaign_ids))
        .group_by(Message.campaign_id, *_dims())
    )
    db.execute(sa.insert(InsightCampaignStats).from_select(
        ["campaign_id", "owner_id", "customer_class", "region", "sent", "delivered", "opened",
         "clicked", "replied", "unsubscribed"], select))


def _mark(db: Session, part: str, at: datetime) -> None:
    row = db.get(InsightRefresh, part)
    if row is None:
        db.add(InsightRefresh(part=part, at=at))
    else:
        row.at = at


def refresh_all(db: Session, tz: ZoneInfo | None = None, now: datetime | None = None) -> None:
    """Every summary from all the data (the nightly job, and after `hub db upgrade`)."""
    tz = tz or ZoneInfo("UTC")
    now = now or utcnow()
    refresh_daily(db, None, tz)
    refresh_leads(db, tz)
    refresh_customer_facts(db, now.astimezone(tz).date())
    refresh_campaigns(db, None)
    _mark(db, "all", now)
    _mark(db, "recent", now)
    db.flush()


def refresh_recent(db: Session, tz: ZoneInfo | None = None, now: datetime | None = None) -> None:
    """The last week of daily figures, the leads, today's snapshot and recent campaigns."""
    tz = tz or ZoneInfo("UTC")
    now = now or utcnow()
    if db.get(InsightRefresh, "all") is None:  # never built: the first run builds everything
        refresh_all(db, tz, now)
        return
    today = now.astimezone(tz).date()
    refresh_daily(db, today - timedelta(days=RECENT_DAYS), tz)
    refresh_leads(db, tz)
    refresh_customer_facts(db, today)
    refresh_campaigns(db, now - timedelta(days=RECENT_CAMPAIGN_DAYS))
    _mark(db, "recent", now)
    db.flush()


def refreshed_at(db: Session) -> datetime | None:
    return db.scalar(sa.select(InsightRefresh.at).where(InsightRefresh.part == "recent"))


# --- jobs ---------------------------------------------------------------------------------------


def refresh_recent_job() -> None:
    with session_scope() as s:
        refresh_recent(s, business_zone())


def refresh_all_job() -> None:
    with session_scope() as s:
        refresh_all(s, business_zone())


def enqueue_refresh_recent(conn: Redis) -> list[str]:
    job = services.queue("bulk", conn).enqueue(refresh_recent_job, result_ttl=3600)
    return [job.id]


def enqueue_refresh_all(conn: Redis) -> list[str]:
    job = services.queue("bulk", conn).enqueue(refresh_all_job, result_ttl=86400)
    return [job.id]
