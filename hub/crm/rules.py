"""The configurable rules of the customer database, with their defaults."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.models import CrmSetting


def cadence_hint(cadence: dict[str, int]) -> str:
    """What an empty next-contact date means, in words. Class A is followed up until the deal
    closes (the sources call it relentless): it has no real gap, only the hub's daily default."""
    a, b, c = (int(cadence[k]) for k in ("A", "B", "C"))
    if a == 1:
        a_text = _("A every day until the deal closes (relentless follow-up, no fixed gap)")
    else:
        a_text = _("A every %(num)d days until the deal closes", num=a)
    return _(
        "Left empty, the next contact follows the class: %(a)s; %(b)s; %(c)s.",
        a=a_text,
        b=ngettext("B after %(num)d day", "B after %(num)d days", b),
        c=ngettext("C after %(num)d day", "C after %(num)d days", c),
    )


DEFAULTS: dict[str, Any] = {
    # Days between follow-ups, by class: logging one without a date sets the next from this.
    "follow_up_cadence_days": {"A": 1, "B": 3, "C": 7},
    # Months between credit reviews, by class.
    "credit_review_months": {"A": 6, "B": 3, "C": 1},
    # Revenue rule: customers making the first 70% of revenue are A, the next 20% B, the rest C.
    "revenue_class_percent": {"A": 70, "B": 20},
    # Horizon rule: expected to close within 30 days is A, 60 B, 90 C.
    "horizon_class_days": {"A": 30, "B": 60, "C": 90},
    "pipeline_stages": ["new", "qualified", "proposal", "negotiation", "won", "lost"],
    # An open opportunity with no follow-up for this many days goes back to the nurture pool.
    "nurture_after_days": 30,
    # A complaint step not moved on within this many days is overdue.
    "complaint_step_days": 2,
    # Days between collection contacts on an open receivable (its next chase date moves on by this).
    "collection_cadence_days": 7,
    # A customer with an amount overdue longer than this many days gets a credit event.
    "credit_event_overdue_days": 60,
}


@dataclass(frozen=True)
class Rules:
    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def cadence_days(self, customer_class: str) -> int:
        return int(self.values["follow_up_cadence_days"][customer_class])

    def credit_review_months(self, customer_class: str) -> int:
        return int(self.values["credit_review_months"][customer_class])


def get_rules(db: Session) -> Rules:
    values = copy.deepcopy(DEFAULTS)
    for row in db.query(CrmSetting).all():
        if row.key in values:
            values[row.key] = row.value
    return Rules(values)


def _check(key: str, value: Any) -> Any:
    """The value if it fits the rule's shape; FieldError naming the rule otherwise."""
    default = DEFAULTS[key]
    if isinstance(default, dict):
        if not isinstance(value, dict) or set(value) != set(default):
            raise FieldError(key, _("Give a value for each of: %(keys)s.", keys=", ".join(default)))
        out = {}
        for k, v in value.items():
            try:
                number = int(v)
            except (TypeError, ValueError):
                raise FieldError(f"{key}.{k}", _("Expected a whole number.")) from None
            if number < 0 or number > 3650:
                raise FieldError(f"{key}.{k}", _("Expected a number from 0 to 3650."))
            out[k] = number
        if key == "revenue_class_percent" and out["A"] + out["B"] > 100:
            raise FieldError(key, _("A and B together cannot pass 100%."))
        if key == "follow_up_cadence_days" and min(out.values()) < 1:
            raise FieldError(key, _("A cadence is at least one day."))
        return out
    if isinstance(default, list):
        if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
            raise FieldError(key, _("Expected a list of names."))
        stages = [s.strip().lower() for s in value]
        if len(set(stages)) != len(stages) or not {"won", "lost"} <= set(stages):
            raise FieldError(key, _("Stages must be unique and include won and lost."))
        return stages
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError(key, _("Expected a whole number.")) from None
    if number < 1 or number > 3650:
        raise FieldError(key, _("Expected a number from 1 to 3650."))
    return number


def update_rules(db: Session, changes: dict[str, Any]) -> Rules:
    """Store new values for some rules; every bad one is reported, and none is stored then."""
    errors = []
    clean = {}
    for key, value in changes.items():
        if key not in DEFAULTS:
            errors.append(FieldError(key, _("Unknown field.")))
            continue
        try:
            clean[key] = _check(key, value)
        except FieldError as exc:
            errors.append(exc)
    if errors:
        raise ValidationError(errors)
    for key, value in clean.items():
        row = db.get(CrmSetting, key)
        if row is None:
            db.add(CrmSetting(key=key, value=value))
        else:
            row.value = value
    db.flush()
    return get_rules(db)
