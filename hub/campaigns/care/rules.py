"""Care-message rules as the page and the API edit them: the fields, their checks, and the list
with what each rule has sent."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.campaigns.care.models import OCCASIONS, CareRule, CareSent
from hub.campaigns.surveys.models import SURVEYS
from hub.campaigns.templates.models import CHANNELS, MessageTemplate
from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID, Field, parse
from hub.crm.labels import CHOICE_LABELS, choice_label

RULE_FIELDS = (
    Field("name", "str", label=_l("Name"), required=True, max_length=120),
    Field("occasion", "choice", label=_l("Occasion"), required=True, choices=OCCASIONS,
          description="birthday; order_shipped, complaint_resolved: `days` after; lead_welcome: "
          "website leads of the last `days` (at least 1); no_contact: `days` without contact"),
    Field("days", "int", label=_l("Days"), minimum=0, maximum=3650),
    Field("channel", "choice", label=_l("Channel"), required=True, choices=CHANNELS),
    Field("template_id", "int", label=_l("Template"), required=True, minimum=1, maximum=MAX_ID),
    Field("survey", "choice", label=_l("Survey question"), choices=SURVEYS,
          description="nps (0-10) or csat (1-5): the message asks it (an SMS reply or the email's "
          "survey_url is the answer); on complaint_resolved a low score reopens the complaint"),
    Field("active", "bool", label=_l("Active")),
)

OCCASION_LABELS = CHOICE_LABELS["care_occasion"]


def _check_template(db: Session, clean: dict[str, Any], rule: CareRule | None) -> None:
    template_id = clean.get("template_id", rule.template_id if rule else None)
    channel = clean.get("channel", rule.channel if rule else None)
    template = db.get(MessageTemplate, template_id) if template_id else None
    if template is None:
        raise ValidationError([FieldError("template_id", _("There is no template %(id)s.", id=template_id))])
    if template.channel != channel:
        raise ValidationError([FieldError(
            "template_id",
            _("This template is for %(channel)s, not %(wanted)s.", channel=choice_label("channel", template.channel), wanted=choice_label("channel", channel)),
        )])


def save_rule(
    db: Session, data: dict[str, Any], rule: CareRule | None = None, user_id: int | None = None
) -> CareRule:
    """A new rule from `data`, or `rule` changed by the keys `data` holds (a blank optional value
    clears it). Raises ValidationError naming every field that is wrong."""
    clean = parse(RULE_FIELDS, data, partial=rule is not None)
    _check_template(db, clean, rule)
    if rule is None:
        rule = CareRule(**{k: v for k, v in clean.items() if v is not None}, created_by=user_id)
        db.add(rule)
    else:
        columns = CareRule.__table__.c
        for key, value in clean.items():
            if value is None and not columns[key].nullable:
                value = columns[key].default.arg  # a cleared days or active is its default
            setattr(rule, key, value)
    db.flush()
    return rule


def list_rules(q: str = "") -> sa.Select[Any]:
    stmt = sa.select(CareRule)
    if q:
        stmt = stmt.where(CareRule.name.contains(q, autoescape=True))
    return stmt.order_by(CareRule.name, CareRule.id)


def sent_counts(db: Session, rule_ids: list[int]) -> dict[int, int]:
    """How many occasions each rule has sent a message for."""
    if not rule_ids:
        return {}
    return dict(db.execute(
        sa.select(CareSent.rule_id, sa.func.count())
        .where(CareSent.rule_id.in_(rule_ids), CareSent.message_id.is_not(None))
        .group_by(CareSent.rule_id)
    ).all())
