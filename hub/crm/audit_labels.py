"""The words of the change history: what was done, to which field, and each recorded value (a
code named, a date or an instant in the one format)."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from hub.crm.labels import choice_label

AUDIT_LABELS = {
    "create": _l("created"),
    "update": _l("changed"),
    "delete": _l("deleted"),
    "assign": _l("owner changed"),
    "classify": _l("class changed"),
    "convert": _l("converted"),
    "consent": _l("consent recorded"),
    "import": _l("imported"),
    "merge": _l("merged"),
    "unmerge": _l("merge undone"),
    "customer": _l("customer"),
    "contact": _l("contact"),
    "credit_event": _l("credit event"),
    "credit_review": _l("credit review"),
    "action": _l("action taken"),
    "close": _l("closed"),
    "call": _l("collection call"),
    "promise": _l("promise to pay"),
    "dispute": _l("disputed"),
    "resolve_dispute": _l("dispute resolved"),
    "reminder": _l("reminder sent"),
}


def audit_label(value: str) -> str:
    """What a change-history action or entity code says; an unknown one as stored."""
    return str(AUDIT_LABELS.get(value, value))


def field_label(name: str) -> str:
    """The form label of a customer or contact field, for the change history."""
    from hub.crm.customers.fields import (
        CONTACT_FIELDS,
        CUSTOMER_CREATE_EXTRA,
        CUSTOMER_FIELDS,
        CUSTOMER_READ_ONLY,
    )

    for f in CUSTOMER_FIELDS + CUSTOMER_READ_ONLY + CUSTOMER_CREATE_EXTRA + CONTACT_FIELDS:
        if f.name == name and f.label is not None:
            return str(f.label)
    return name


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?")


def audit_value(field: str, value: object) -> str:
    """One side of a recorded change: a code named, a stored date or instant in the one format."""
    from hub.core.formatting import date_text, datetime_text

    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return datetime_text(value)
    if isinstance(value, date):
        return date_text(value)
    if isinstance(value, str):
        if _ISO_INSTANT.fullmatch(value):
            return datetime_text(value.replace("Z", "+00:00"))
        if _ISO_DAY.fullmatch(value):
            return date_text(value)
        return choice_label(field, value)
    return str(value)
