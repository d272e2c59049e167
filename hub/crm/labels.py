"""Translated names for every stored code a person reads: stages, statuses, channels, reasons,
call outcomes, complaint steps, regions, industries...

The one place a code becomes words, with audit_labels (the change history) and message_reasons (why
a message was not sent). A value without a label (a pipeline stage the director added, a region
typed by hand) is shown as stored.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CHOICE_LABELS = {
    "kind": {"organization": _l("Organization"), "person": _l("Person")},
    # Receivables (issue 16): how a payment came, and where a receivable stands.
    "payment_method": {
        "bank_transfer": _l("Bank transfer"),
        "cash": _l("Cash"),
        "cheque": _l("Cheque"),
        "card": _l("Card"),
        "alipay": _l("Alipay"),
        "wechat_pay": _l("WeChat Pay"),
        "other": _l("Other"),
    },
    "receivable_status": {
        "open": _l("Not settled"),
        "settled": _l("Settled"),
        "written_off": _l("Written off"),
    },
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
        # campaign messages
        "pending": _l("waiting"),
        "suppressed": _l("suppressed"),
        "skipped": _l("skipped"),
        "cancelled": _l("cancelled"),
        "unconfirmed": _l("unconfirmed"),
        # credit control and collection (follow-ups' status)
        "promise": _l("promise to pay"),
        "dispute": _l("disputed"),
        "resolve_dispute": _l("dispute resolved"),
        "credit_review": _l("credit review"),
        "credit_override": _l("credit check overridden"),
        "credit_event": _l("credit event opened"),
        "credit_event_closed": _l("credit event closed"),
        "guarantor": _l("guarantor"),
        "deposit": _l("deposit"),
        "notarised_contract": _l("notarised contract"),
        "reduced_supply": _l("reduced supply"),
        "shipments_stopped": _l("shipments stopped"),
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
    "outcome": {
        # What a follow-up's outcome says when it is one of the usual words (demo data, old
        # imports); anything else was typed by a person and is shown as typed.
        "reached": _l("Reached"),
        "no answer": _l("No answer"),
        "answered": _l("Answered"),
        "sent": _l("Sent"),
        "interested": _l("Interested"),
        "not interested": _l("Not interested"),
        "busy": _l("Busy"),
        "voicemail": _l("Left a voicemail"),
    },
    "complaint_step": {
        "received": _l("Received"),
        "confirmed": _l("Confirmed"),
        "assessed": _l("Assessed"),
        "negotiated": _l("Negotiated"),
        "resolved": _l("Resolved"),
        "followed_up": _l("Followed up"),
    },
    "complaint_channel": {
        "call": _l("Call"),
        "sms": _l("SMS"),
        "email": _l("Email"),
        "visit": _l("Visit"),
        "web": _l("Website"),
        "wechat": _l("WeChat"),
        "letter": _l("Letter"),
        "other": _l("Other"),
    },
    "opportunity_stage": {
        "new": _l("New"),
        "qualified": _l("Qualified"),
        "proposal": _l("Proposal"),
        "negotiation": _l("Negotiation"),
        "won": _l("Won"),
        "lost": _l("Lost"),
    },
    "order_status": {
        "pending": _l("Pending"),
        "confirmed": _l("Confirmed"),
        "shipped": _l("Shipped"),
        "delivered": _l("Delivered"),
        "cancelled": _l("Cancelled"),
    },
    "campaign_state": {
        "draft": _l("Draft"),
        "scheduled": _l("Scheduled"),
        "running": _l("Running"),
        "paused": _l("Paused"),
        "completed": _l("Completed"),
        "cancelled": _l("Cancelled"),
    },
    "care_occasion": {
        "birthday": _l("Birthday"),
        "order_shipped": _l("Days after an order ships"),
        "complaint_resolved": _l("Days after a complaint is resolved"),
        "lead_welcome": _l("Website lead (welcome)"),
        "no_contact": _l("Days without contact"),
        "payment_due": _l("Days before a payment is due"),
    },
    "credit_action": {
        "guarantor": _l("Guarantor"),
        "deposit": _l("Deposit"),
        "notarised_contract": _l("Notarised contract"),
        "reduced_supply": _l("Reduced supply"),
        "shipments_stopped": _l("Shipments stopped"),
    },
    "credit_trigger": {
        "rating_worse": _l("Rating worse"),
        "overdue": _l("Long overdue"),
        "manual": _l("Opened by a director"),
    },
    "collection_kind": {
        "call": _l("Collection call"),
        "promise": _l("Promise to pay"),
        "dispute": _l("Dispute"),
        "resolve_dispute": _l("Dispute resolved"),
    },
    "suppression_reason": {
        "stop": _l("Replied STOP"),
        "unsubscribe": _l("Unsubscribed"),
        "bounce": _l("Bounced"),
        "spamreport": _l("Reported as spam"),
        "provider_opt_out": _l("Opted out at the provider"),
        "manual": _l("Added by hand"),
    },
    # Free text on a customer, but mostly from this list (the demo data, the import's usual
    # spellings): the known ones are named in the reader's language.
    "region": {
        "Beijing": _l("Beijing"),
        "Tianjin": _l("Tianjin"),
        "Hebei": _l("Hebei"),
        "Shanxi": _l("Shanxi"),
        "Inner Mongolia": _l("Inner Mongolia"),
        "Liaoning": _l("Liaoning"),
        "Jilin": _l("Jilin"),
        "Heilongjiang": _l("Heilongjiang"),
        "Shanghai": _l("Shanghai"),
        "Jiangsu": _l("Jiangsu"),
        "Zhejiang": _l("Zhejiang"),
        "Anhui": _l("Anhui"),
        "Fujian": _l("Fujian"),
        "Jiangxi": _l("Jiangxi"),
        "Shandong": _l("Shandong"),
        "Henan": _l("Henan"),
        "Hubei": _l("Hubei"),
        "Hunan": _l("Hunan"),
        "Guangdong": _l("Guangdong"),
        "Guangxi": _l("Guangxi"),
        "Hainan": _l("Hainan"),
        "Chongqing": _l("Chongqing"),
        "Sichuan": _l("Sichuan"),
        "Guizhou": _l("Guizhou"),
        "Yunnan": _l("Yunnan"),
        "Tibet": _l("Tibet"),
        "Shaanxi": _l("Shaanxi"),
        "Gansu": _l("Gansu"),
        "Qinghai": _l("Qinghai"),
        "Ningxia": _l("Ningxia"),
        "Xinjiang": _l("Xinjiang"),
        "Hong Kong": _l("Hong Kong"),
        "Macau": _l("Macau"),
        "Taiwan": _l("Taiwan"),
        "Overseas": _l("Overseas"),
    },
    "industry": {
        "manufacturing": _l("Manufacturing"),
        "retail": _l("Retail"),
        "wholesale": _l("Wholesale"),
        "healthcare": _l("Healthcare"),
        "logistics": _l("Logistics"),
        "food": _l("Food"),
        "education": _l("Education"),
        "finance": _l("Finance"),
        "technology": _l("Technology"),
        "construction": _l("Construction"),
        "agriculture": _l("Agriculture"),
        "energy": _l("Energy"),
    },
}


def choice_label(field: str, value: str | None) -> str:
    """The reader's words for a stored code of `field`; an unknown value as stored."""
    if value is None:
        return ""
    return str(CHOICE_LABELS.get(field, {}).get(value, value))


def outcome_label(value: str | None) -> str:
    """A follow-up's outcome: a call disposition code or a usual word, named; typed text as typed."""
    if not value:
        return ""
    for field in ("disposition", "outcome"):
        label = CHOICE_LABELS[field].get(value) or CHOICE_LABELS[field].get(value.strip().lower())
        if label is not None:
            return str(label)
    return value
