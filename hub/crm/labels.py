"""Translated names for the values people pick from lists (stages, sources, channels...)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

CHOICE_LABELS = {
    "kind": {"organization": _l("Organization"), "person": _l("Person")},
    "stage": {
        "lead": _l("Lead"),
        "prospect": _l("Prospect"),
        "customer": _l("Customer"),
        "inactive": _l("Inactive"),
    },
    "lead_source": {
        "website": _l("Website"),
        "import": _l("Import"),
        "referral": _l("Referral"),
        "exhibition": _l("Exhibition"),
        "call": _l("Call"),
        "manual": _l("Entered by hand"),
        "sms": _l("Inbound SMS"),
        "email": _l("Inbound email"),
    },
    "channel": {
        "call": _l("Call"),
        "sms": _l("SMS"),
        "email": _l("Email"),
        "visit": _l("Visit"),
        "meeting": _l("Meeting"),
        "note": _l("Note"),
        "survey": _l("Survey"),
        "system": _l("System"),
    },
    "direction": {"inbound": _l("Inbound"), "outbound": _l("Outbound"), "internal": _l("Internal")},
    "language": {"en": "English", "zh_Hans": "简体中文"},
    "status": {
        "queued": _l("queued"),
        "sending": _l("sending"),
        "sent": _l("sent"),
        "delivered": _l("delivered"),
        "undelivered": _l("undelivered"),
        "failed": _l("failed"),
        "bounced": _l("bounced"),
        "dropped": _l("dropped"),
        "opened": _l("opened"),
        "clicked": _l("clicked"),
        "received": _l("received"),
        # calls
        "initiated": _l("dialling"),
        "ringing": _l("ringing"),
        "in-progress": _l("in progress"),
        "completed": _l("completed"),
        "busy": _l("busy"),
        "no-answer": _l("no answer"),
        "canceled": _l("cancelled"),
        "voicemail": _l("voicemail"),
        "missed": _l("missed"),
    },
    "disposition": {
        "reached": _l("Reached"),
        "no_answer": _l("No answer"),
        "busy": _l("Busy"),
        "voicemail_left": _l("Left a voicemail"),
        "wrong_number": _l("Wrong number"),
        "callback_requested": _l("Callback requested"),
        "interested": _l("Interested"),
        "not_interested": _l("Not interested"),
        "do_not_call": _l("Asked not to be called"),
    },
    "availability": {
        "available": _l("Available"),
        "busy": _l("Busy"),
        "away": _l("Away"),
    },
    "import_status": {
        "uploaded": _l("columns to check"),
        "checking": _l("dry run running"),
        "checked": _l("dry run done"),
        "importing": _l("importing"),
        "done": _l("imported"),
        "failed": _l("stopped"),
    },
    "related": {
        "contacts": _l("Contacts"),
        "follow_ups": _l("Follow-ups"),
        "orders": _l("Orders"),
        "opportunities": _l("Opportunities"),
        "complaints": _l("Complaints"),
        "messages": _l("Messages"),
        "assignments": _l("Owner changes"),
    },
    "duplicate_reason": {
        "company": _l("same company, same city"),
        "person": _l("same contact person, similar company"),
    },
    "import_outcome": {
        "created": _l("created"),
        "updated": _l("updated"),
        "merged": _l("merged into an existing customer"),
        "unchanged": _l("already there, unchanged"),
        "refused": _l("refused"),
        "queued": _l("queued as likely duplicates"),
    },
}
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
}


def audit_label(value: str) -> str:
    return str(AUDIT_LABELS.get(value, value))


def field_label(name: str) -> str:
    """The form label of a customer or contact field, for the change history."""
    from hub.crm.fields import (
        CONTACT_FIELDS,
        CUSTOMER_CREATE_EXTRA,
        CUSTOMER_FIELDS,
        CUSTOMER_READ_ONLY,
    )

    for f in CUSTOMER_FIELDS + CUSTOMER_READ_ONLY + CUSTOMER_CREATE_EXTRA + CONTACT_FIELDS:
        if f.name == name and f.label is not None:
            return str(f.label)
    return name


def choice_label(field: str, value: str | None) -> str:
    if value is None:
        return ""
    return str(CHOICE_LABELS.get(field, {}).get(value, value))


def init_app(app: Flask) -> None:
    app.add_template_global(choice_label)
    app.add_template_global(audit_label)
    app.add_template_global(field_label)
