"""Survey answers: an SMS reply ("9") or the signed email link's page, stored once per message,
written to the timeline, and a low score put on the owner's due list for a call back."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign, SurveyResponse
from hub.channels.models import Message
from hub.crm.followups import Direction, log_follow_up
from hub.crm.models import Customer
from hub.db import utcnow

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


def message_for_token(db: Session, token: str) -> tuple[Message, Campaign] | None:
    try:
        message_id = _serializer().loads(token)
    except BadSignature:
        return None
    message = db.get(Message, message_id) if isinstance(message_id, int) else None
    campaign = db.get(Campaign, message.campaign_id) if message and message.campaign_id else None
    if message is None or campaign is None or campaign.survey is None:
        return None
    return message, campaign


def record_answer(
    db: Session, message: Message, campaign: Campaign, score: int, channel: str,
    now: datetime | None = None,
) -> SurveyResponse:
    """Store the answer (the first one counts), put it on the timeline; a low score asks the owner
    to call back today."""
    assert campaign.survey is not None
    existing = db.scalar(sa.select(SurveyResponse).where(SurveyResponse.message_id == message.id))
    if existing is not None:
        return existing
    now = now or utcnow()
    answer = SurveyResponse(
        message_id=message.id, campaign_id=campaign.id, customer_id=message.customer_id,
        contact_id=message.contact_id, kind=campaign.survey, score=score, channel=channel,
        answered_at=now,
    )
    db.add(answer)
    customer = db.get(Customer, message.customer_id) if message.customer_id else None
    if customer is not None:
        label = "NPS" if campaign.survey == "nps" else "CSAT"
        low = score <= LOW[campaign.survey]
        summary = _("%(survey)s answer %(score)d to %(campaign)s.", survey=label, score=score, campaign=campaign.name)
        if low:
            summary += " " + _("Low score: call the customer back.")
        log_follow_up(
            db, None, customer, "survey", summary=summary, direction=Direction.INBOUND.value,
            contact_id=message.contact_id, occurred_at=now, status="answered",
            outcome=f"{label} {score}", next_contact_on=now.date() if low else None,
            sets_next_contact=low,
        )
    db.flush()
    return answer


def answer_from_reply(db: Session, inbound: Message) -> SurveyResponse | None:
    """An inbound SMS that answers a survey message with a score, stored as its answer."""
    if inbound.channel != "sms" or inbound.in_reply_to_id is None:
        return None
    asked = db.get(Message, inbound.in_reply_to_id)
    campaign = db.get(Campaign, asked.campaign_id) if asked and asked.campaign_id else None
    if campaign is None or campaign.survey is None:
        return None
    score = parse_score(campaign.survey, inbound.body)
    if score is None:
        return None
    return record_answer(db, asked, campaign, score, "sms")


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
