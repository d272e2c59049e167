"""Survey answers: an SMS reply ("9") or the signed email link's page, stored once per message,
written to the timeline, and a low score put on the owner's due list for a call back. A survey is
asked by a campaign, or by a care rule (a complaint survey after a resolved complaint: a low score
reopens that complaint)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from hub.campaigns.care.models import CareRule, CareSent
from hub.campaigns.models import Campaign
from hub.campaigns.surveys.models import SurveyResponse
from hub.channels.models import Message
from hub.core.clock import business_date_of, utcnow
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction
from hub.crm.followups.records import log_follow_up

SCALES = {"nps": (0, 10), "csat": (1, 5)}
LOW = {"nps": 6, "csat": 2}  # at or below: a detractor / an unhappy customer
SALT = "hub-survey"


def parse_score(kind: str, text: str) -> int | None:
    """The score a reply gives ("9", "９", " 9. "), or None when it is not one on the scale."""
    cleaned = unicodedata.normalize("NFKC", text).strip().rstrip(".!。！")
    if not cleaned.isdigit():
        return None
    score = int(cleaned)
    low, high = SCALES[kind]
    return score if low <= score <= high else None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def survey_url(base_url: str, message_id: int) -> str:
    """The signed one-question page for one message; no login needed, nothing else reachable."""
    return f"{base_url.rstrip('/')}/s/{_serializer().dumps(message_id)}"


@dataclass(frozen=True)
class Asked:
    """Who asked a survey message's question, and about what."""

    kind: str  # nps or csat
    name: str  # the campaign's or the care rule's
    campaign_id: int | None = None
    care_rule_id: int | None = None
    complaint_id: int | None = None  # a complaint survey: the complaint it asks about

    @classmethod
    def of_campaign(cls, campaign: Campaign) -> Asked:
        assert campaign.survey is not None
        return cls(campaign.survey, campaign.name, campaign_id=campaign.id)


def asked_by(db: Session, message: Message) -> Asked | None:
    """The survey a message asked, if it asked one."""
    if message.campaign_id is not None:
        campaign = db.get(Campaign, message.campaign_id)
        return Asked.of_campaign(campaign) if campaign is not None and campaign.survey else None
    sent = db.scalar(sa.select(CareSent).where(CareSent.message_id == message.id))
    rule = db.get(CareRule, sent.rule_id) if sent is not None else None
    if sent is None or rule is None or rule.survey is None:
        return None
    occasion, _sep, key = sent.occasion_key.partition(":")
    complaint_id = int(key) if occasion == "complaint" and key.isdigit() else None
    return Asked(rule.survey, rule.name, care_rule_id=rule.id, complaint_id=complaint_id)


def message_for_token(db: Session, token: str) -> tuple[Message, Asked] | None:
    try:
        message_id = _serializer().loads(token)
    except BadSignature:
        return None
    message = db.get(Message, message_id) if isinstance(message_id, int) else None
    asked = asked_by(db, message) if message is not None else None
    if message is None or asked is None:
        return None
    return message, asked


def record_answer(
    db: Session, message: Message, asked: Asked, score: int, channel: str,
    now: datetime | None = None,
) -> SurveyResponse:
    """Store the answer (the first one counts), put it on the timeline; a low score asks the owner
    to call back today and, for a complaint survey, reopens the complaint."""
    existing = db.scalar(sa.select(SurveyResponse).where(SurveyResponse.message_id == message.id))
    if existing is not None:
        return existing
    now = now or utcnow()
    answer = SurveyResponse(
        message_id=message.id, campaign_id=asked.campaign_id, care_rule_id=asked.care_rule_id,
        customer_id=message.customer_id, contact_id=message.contact_id, kind=asked.kind,
        score=score, channel=channel, answered_at=now,
    )
    db.add(answer)
    customer = db.get(Customer, message.customer_id) if message.customer_id else None
    low = score <= LOW[asked.kind]
    if customer is not None:
        label = "NPS" if asked.kind == "nps" else "CSAT"
        summary = _("%(survey)s answer %(score)d to %(campaign)s.", survey=label, score=score, campaign=asked.name)
        if low:
            summary += " " + _("Low score: call the customer back.")
        log_follow_up(
            db, None, customer, "survey", summary=summary, direction=Direction.INBOUND.value,
            contact_id=message.contact_id, occurred_at=now, status="answered",
            outcome=f"{label} {score}", next_contact_on=business_date_of(now) if low else None,
            sets_next_contact=low,
        )
    if low and asked.complaint_id is not None:
        from hub.crm.service.complaint_steps import reopen_complaint
        from hub.crm.service.models import Complaint

        complaint = db.get(Complaint, asked.complaint_id)
        if complaint is not None:
            reopen_complaint(db, complaint, _("The customer scored its resolution %(score)d.", score=score), now)
    db.flush()
    return answer


def answer_from_reply(db: Session, inbound: Message) -> SurveyResponse | None:
    """An inbound SMS that answers a survey message with a score, stored as its answer."""
    if inbound.channel != "sms" or inbound.in_reply_to_id is None:
        return None
    asked_message = db.get(Message, inbound.in_reply_to_id)
    asked = asked_by(db, asked_message) if asked_message is not None else None
    if asked_message is None or asked is None:
        return None
    score = parse_score(asked.kind, inbound.body)
    if score is None:
        return None
    return record_answer(db, asked_message, asked, score, "sms")


def distribution(db: Session, campaign_id: int) -> dict[int, int]:
    """How many answers gave each score (every score on the scale, zeros included)."""
    campaign = db.get(Campaign, campaign_id)
    if campaign is None or campaign.survey is None:
        return {}
    low, high = SCALES[campaign.survey]
    counts = dict.fromkeys(range(low, high + 1), 0)
    for score, n in db.execute(
        sa.select(SurveyResponse.score, sa.func.count())
        .where(SurveyResponse.campaign_id == campaign_id)
        .group_by(SurveyResponse.score)
    ):
        counts[score] = n
    return counts


def nps(counts: dict[int, int]) -> int | None:
    """Net promoter score: % of 9-10 minus % of 0-6."""
    total = sum(counts.values())
    if not total:
        return None
    promoters = sum(n for s, n in counts.items() if s >= 9)
    detractors = sum(n for s, n in counts.items() if s <= 6)
    return round(100 * (promoters - detractors) / total)
