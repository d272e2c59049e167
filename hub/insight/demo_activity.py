"""Demo channel activity for the dashboards: campaigns with delivery, replies and opt-outs, NPS
answers, calls and one-to-one messages over the last three months (`hub demo`)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign, CampaignState
from hub.campaigns.segments.models import Segment
from hub.campaigns.surveys.models import SurveyResponse
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.calls.models import Call
from hub.channels.models import Message, MessageStatus, Suppression
from hub.core.auth import Role, User
from hub.crm.customers.models import Contact, Customer

CAMPAIGNS = (  # name, channel, days ago, survey
    ("Spring promotion", "sms", 80, None),
    ("Product newsletter", "email", 60, None),
    ("春季客户回访", "sms", 35, "nps"),
    ("New catalogue", "email", 12, None),
)
# Where a campaign message ends up: status and weight.
EMAIL_FATES = (
    (MessageStatus.CLICKED.value, 8), (MessageStatus.OPENED.value, 25),
    (MessageStatus.DELIVERED.value, 52), (MessageStatus.BOUNCED.value, 10),
    (MessageStatus.DROPPED.value, 5),
)
SMS_FATES = (
    (MessageStatus.DELIVERED.value, 88), (MessageStatus.UNDELIVERED.value, 7),
    (MessageStatus.FAILED.value, 5),
)


def _when(today: date, days_ago: int, rng: random.Random) -> datetime:
    day = today - timedelta(days=days_ago)
    return datetime.combine(day, time(1), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 600))


def demo_activity(
    db: Session, rng: random.Random, customer_ids: list[int], staff: list[User], today: date
) -> None:
    """Add the activity for a sample of `customer_ids`, worked by the agents in `staff`."""
    contacts = db.execute(
        sa.select(Contact.id, Contact.customer_id, Contact.phone, Contact.email, Customer.owner_id)
        .join(Customer, Customer.id == Contact.customer_id)
        .where(Contact.customer_id.in_(customer_ids[:3000]))
        .order_by(Contact.id)
    ).all()
    if not contacts:
        return
    segment = db.scalar(sa.select(Segment).where(Segment.name == "Demo: everyone"))
    if segment is None:
        segment = Segment(name="Demo: everyone", definition={"all": []})
        db.add(segment)
    templates = {}
    for channel in ("sms", "email"):
        name = f"Demo {channel}"
        template = db.scalar(sa.select(MessageTemplate).where(MessageTemplate.name == name))
        if template is None:
            template = MessageTemplate(name=name, channel=channel, subject="Hello", body="Hello")
            db.add(template)
        templates[channel] = template
    db.flush()
    for name, channel, days_ago, survey in CAMPAIGNS:
        _campaign(db, rng, contacts, segment, templates[channel], name, channel, days_ago, survey,
                  today)
    agents = [u for u in staff if u.role == Role.AGENT]
    for days_ago in range(90):
        for agent in agents:
            mine = [c for c in contacts if c.owner_id == agent.id] or contacts
            for _n in range(rng.randint(0, 3)):
                c = rng.choice(mine)
                when = _when(today, days_ago, rng)
                answered = rng.random() < 0.7
                db.add(Call(direction=rng.choice(("inbound", "outbound")),
                            customer_id=c.customer_id, contact_id=c.id, agent_id=agent.id,
                            customer_number=c.phone or "", status="completed", created_at=when,
                            answered_at=when if answered else None,
                            duration=rng.randint(20, 600) if answered else None))
            if rng.random() < 0.5:
                c = rng.choice(mine)
                when = _when(today, days_ago, rng)
                db.add(Message(channel="sms", customer_id=c.customer_id, contact_id=c.id,
                               user_id=agent.id, to_address=c.phone or "", body="Hello",
                               status=rng.choice((MessageStatus.DELIVERED.value, MessageStatus.DELIVERED.value,
                                                  MessageStatus.SENT.value)),
                               provider_id=f"SMdemo{rng.getrandbits(48):012x}",
                               created_at=when, sent_at=when))
    db.flush()


def _campaign(
    db: Session, rng: random.Random, contacts: list, segment: Segment, template: MessageTemplate,
    name: str, channel: str, days_ago: int, survey: str | None, today: date,
) -> None:
    launched = _when(today, days_ago, rng)
    campaign = Campaign(name=name, channel=channel, segment_id=segment.id, template_id=template.id,
                        state=CampaignState.COMPLETED.value, survey=survey, launched_at=launched,
                        finished_at=launched + timedelta(hours=1))
    db.add(campaign)
    db.flush()
    fates = EMAIL_FATES if channel == "email" else SMS_FATES
    statuses, weights = zip(*fates, strict=True)
    recipients = rng.sample(contacts, min(len(contacts), rng.randint(150, 400)))
    for c in recipients:
        address = c.email if channel == "email" else c.phone
        if not address:
            continue
        sent = launched + timedelta(minutes=rng.randint(0, 50))
        status = rng.choices(statuses, weights)[0]
        message = Message(campaign_id=campaign.id, channel=channel, customer_id=c.customer_id,
                          contact_id=c.id, to_address=address, body="Hello", status=status,
                          provider_id=f"demo{rng.getrandbits(64):016x}", created_at=sent,
                          sent_at=sent, status_at=sent + timedelta(minutes=2))
        db.add(message)
        delivered = status in (MessageStatus.DELIVERED, MessageStatus.OPENED, MessageStatus.CLICKED)
        if not delivered:
            if status == MessageStatus.BOUNCED:
                _suppress(db, channel, address, "bounce", sent + timedelta(minutes=3))
            continue
        roll = rng.random()
        if roll < 0.04:
            reason = "stop" if channel == "sms" else "unsubscribe"
            _suppress(db, channel, address, reason, sent + timedelta(hours=rng.randint(1, 48)))
        if survey or roll < 0.08:
            db.flush()
            if survey and rng.random() < 0.45:
                score = rng.choices(range(11), (2, 1, 1, 2, 2, 3, 5, 9, 14, 16, 12))[0]
                db.add(SurveyResponse(message_id=message.id, campaign_id=campaign.id,
                                      customer_id=c.customer_id, contact_id=c.id, kind=survey,
                                      score=score, channel=channel,
                                      answered_at=sent + timedelta(hours=rng.randint(1, 300))))
            elif not survey:
                db.add(Message(channel=channel, direction="inbound", customer_id=c.customer_id,
                               contact_id=c.id, to_address="hub", from_address=address,
                               body="Thanks", status=MessageStatus.RECEIVED.value, in_reply_to_id=message.id,
                               created_at=sent + timedelta(hours=2)))
    db.flush()


def _suppress(db: Session, channel: str, address: str, reason: str, when: datetime) -> None:
    found = db.scalar(sa.select(Suppression.id).where(
        Suppression.channel == channel, Suppression.address == address))
    if found is None:
        db.add(Suppression(channel=channel, address=address, reason=reason,
                           source="demo", created_at=when))
        db.flush()
