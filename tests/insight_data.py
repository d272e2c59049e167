"""A small fixed data set for the dashboards, with the figures worked out by hand in
tests/test_insight.py. `now` is a Sunday; the range is 2026-01-01 to 2026-03-15 (weeks from
Thursday 1 January: 11 periods, the last one 12 to 15 March)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.surveys.models import SurveyResponse
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.calls.models import Call
from hub.channels.models import Message, Suppression
from hub.core.auth import User
from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from hub.crm.sales.models import Opportunity, Order
from hub.crm.service.models import Complaint

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
START, END = date(2026, 1, 1), date(2026, 3, 15)
OLD = datetime(2025, 6, 1, tzinfo=UTC)


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@dataclass
class World:
    ann: User
    bob: User
    customers: dict[str, Customer]


def build(db: Any, ann: User, bob: User, now: datetime = NOW) -> World:
    """The data set; dates that are "today"-relative move with `now` (the snapshot figures)."""
    today = now.date()

    def customer(name: str, cls: str, region: str, owner: User, **kw: Any) -> Customer:
        kw.setdefault("created_at", OLD)
        c = Customer(name=name, customer_class=cls, region=region, owner_id=owner.id, **kw)
        db.add(c)
        return c

    c = {
        "alpha": customer("Alpha", "A", "North", ann, next_contact_on=today,
                          next_credit_review=today - timedelta(days=1)),
        "beta": customer("Beta", "B", "North", ann, next_contact_on=today - timedelta(days=3),
                         next_credit_review=today + timedelta(days=5)),
        "gamma": customer("Gamma", "C", "South", bob, next_contact_on=today - timedelta(days=1),
                          next_credit_review=today + timedelta(days=20)),
        "delta": customer("Delta", "C", "South", bob, next_contact_on=today + timedelta(days=2),
                          stage="lead", lead_source="website", created_at=at("2026-02-01")),
        "eps": customer("Eps", "C", "South", ann, stage="customer", lead_source="website",
                        converted_at=at("2026-02-20"), created_at=at("2026-02-10")),
        "zeta": customer("Zeta", "B", "North", bob, stage="lead", lead_source="referral",
                         created_at=at("2026-03-01")),
    }
    db.flush()

    def opp(cust: str, stage: str, owner: User, amount: Any = None, **kw: Any) -> None:
        db.add(Opportunity(customer_id=c[cust].id, title=f"{cust} {stage}", stage=stage,
                           owner_id=owner.id, amount=Decimal(amount) if amount else None, **kw))

    opp("alpha", "proposal", ann, "1000", expected_close=date(2026, 4, 10))
    opp("beta", "new", ann, "500", expected_close=date(2026, 4, 20))
    opp("gamma", "proposal", bob, "2500", expected_close=date(2026, 5, 5))
    opp("gamma", "negotiation", bob)
    opp("alpha", "won", ann, "3000", closed_at=at("2026-02-10"))
    opp("beta", "lost", ann, "100", lost_reason="Price", closed_at=at("2026-02-11"))
    opp("gamma", "lost", bob, "100", lost_reason="Price", closed_at=at("2026-03-01"))
    opp("zeta", "lost", bob, "100", lost_reason="Timing", closed_at=at("2026-03-02"))
    opp("delta", "lost", bob, "100", lost_reason="Price", closed_at=at("2025-12-01"))

    for n, (cust, amount, day, status) in enumerate([
        ("alpha", "600", "2026-02-01", "confirmed"),
        ("alpha", "100", "2026-03-01", "delivered"),
        ("beta", "200", "2026-02-15", "pending"),
        ("gamma", "100", "2026-01-20", "shipped"),
        ("gamma", "5000", "2026-02-20", "cancelled"),
        ("delta", "1000", "2025-11-01", "delivered"),
    ]):
        db.add(Order(customer_id=c[cust].id, contract_number=f"IN-{n}", amount=Decimal(amount),
                     order_date=date.fromisoformat(day), status=status))

    for cust, user, channel, when in [
        ("alpha", ann, "call", at("2026-03-10")),
        ("alpha", ann, "call", at("2026-03-11")),
        ("alpha", ann, "call", at("2026-02-01")),
        ("beta", ann, "email", at("2026-03-12")),
        ("alpha", ann, "system", at("2026-03-12")),
        ("alpha", ann, "call", at("2025-12-20")),
        ("gamma", bob, "sms", at("2026-03-05")),
        ("gamma", bob, "sms", at("2026-03-06")),
    ]:
        db.add(FollowUp(customer_id=c[cust].id, user_id=user.id, channel=channel,
                        occurred_at=when))

    for cust, step, age_days, owner, due in [
        ("alpha", "received", 1, ann, now - timedelta(hours=1)),
        ("beta", "received", 5, ann, now + timedelta(days=3)),
        ("gamma", "assessed", 10, bob, now - timedelta(days=2)),
        ("gamma", "resolved", 40, bob, now - timedelta(days=1)),
        ("alpha", "followed_up", 3, ann, None),
    ]:
        db.add(Complaint(customer_id=c[cust].id, channel="call", content="x", step=step,
                         owner_id=owner.id, received_at=now - timedelta(days=age_days),
                         step_due_at=due))

    segment = Segment(name="All", definition={"all": []})
    sms_t = MessageTemplate(name="S", channel="sms", body="Hi")
    email_t = MessageTemplate(name="E", channel="email", subject="Hi", body="Hi")
    db.add_all([segment, sms_t, email_t])
    db.flush()

    def campaign(name: str, channel: str, template: MessageTemplate, launched: str) -> Campaign:
        k = Campaign(name=name, channel=channel, segment_id=segment.id, template_id=template.id,
                     state="completed", launched_at=at(launched))
        db.add(k)
        db.flush()
        return k

    spring = campaign("Spring SMS", "sms", sms_t, "2026-03-01")
    letter = campaign("Newsletter", "email", email_t, "2026-02-01")
    old = campaign("Old", "sms", sms_t, "2025-10-01")

    messages: dict[str, Message] = {}

    def message(key: str, k: Campaign | None, cust: str, status: str, sent: str | None,
                channel: str | None = None, user: User | None = None, **kw: Any) -> Message:
        ch = channel or (k.channel if k else "sms")
        m = Message(campaign_id=k.id if k else None, channel=ch, customer_id=c[cust].id,
                    to_address=f"{key}@example.com" if ch == "email" else f"+86138000{len(messages):05d}",
                    status=status, provider_id=f"P{key}" if sent else None,
                    sent_at=at(sent) if sent else None, user_id=user.id if user else None,
                    created_at=at(sent) if sent else OLD, **kw)
        db.add(m)
        messages[key] = m
        return m

    message("m1", letter, "alpha", "clicked", "2026-02-01")
    message("m2", letter, "beta", "opened", "2026-02-01")
    message("m3", letter, "gamma", "delivered", "2026-02-01")
    message("m4", letter, "delta", "bounced", "2026-02-01")
    message("m5", letter, "eps", "pending", None)
    message("m6", spring, "alpha", "delivered", "2026-03-01")
    message("m7", spring, "beta", "delivered", "2026-03-01")
    message("m8", spring, "gamma", "failed", "2026-03-01")
    message("m9", spring, "zeta", "suppressed", None)
    message("m10", old, "alpha", "delivered", "2025-10-01")
    message("one1", None, "alpha", "delivered", "2026-03-12", user=ann)
    one2 = message("one2", None, "beta", "sent", "2026-03-15", user=ann)
    one2.created_at = one2.sent_at = at("2026-03-15", 8)
    db.flush()
    db.add(Message(channel="email", direction="inbound", customer_id=c["beta"].id,
                   to_address="hub@example.com", status="received", in_reply_to_id=messages["m2"].id,
                   created_at=at("2026-02-02"), sent_at=None))
    db.add(Message(channel="sms", direction="inbound", customer_id=c["beta"].id,
                   to_address="+8610000", status="received", in_reply_to_id=messages["m7"].id,
                   created_at=at("2026-03-01", 12), sent_at=None))
    for address, channel, reason, when in [
        (messages["m3"].to_address, "email", "unsubscribe", at("2026-02-03")),
        (messages["m4"].to_address, "email", "bounce", at("2026-02-01", 11)),
        (messages["m7"].to_address, "sms", "stop", at("2026-03-01", 12)),
        ("+8613999999999", "sms", "manual", at("2025-12-01")),
    ]:
        db.add(Suppression(channel=channel, address=address, reason=reason, created_at=when))

    for key, score, day, kind in [
        ("m6", 10, "2026-03-02", "nps"),
        ("m7", 9, "2026-03-02", "nps"),
        ("m8", 7, "2026-03-02", "nps"),
        ("m1", 3, "2026-03-02", "nps"),
        ("m2", 6, "2026-01-10", "nps"),
        ("m3", 5, "2026-03-02", "csat"),
    ]:
        m = messages[key]
        db.add(SurveyResponse(message_id=m.id, customer_id=m.customer_id, kind=kind, score=score,
                              channel=m.channel, answered_at=at(day)))

    for sid, agent, when, answered in [
        ("CA1", ann, at("2026-03-15", 9), True),
        ("CA2", ann, at("2026-03-10"), False),
        ("CA3", bob, at("2026-02-20"), True),
    ]:
        db.add(Call(sid=sid, direction="outbound", customer_id=c["alpha"].id, agent_id=agent.id,
                    customer_number="+8613800138000", status="completed", created_at=when,
                    answered_at=when if answered else None))
    db.commit()
    return World(ann, bob, c)
