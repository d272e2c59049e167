"""A payment reminder for one receivable, from a message template, to one of its customer's
contacts: rendered in the sandbox with the receivable's figures, sent by the one-to-one path
(consent and suppressions respected), on the timeline with the receivable."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.campaigns.templates.models import MessageTemplate
from hub.campaigns.templates.rendering import RenderError, context_for, receivable_vars
from hub.campaigns.templates.saved import compiled
from hub.channels.messages import queue_message
from hub.channels.models import Message
from hub.core.auth import User
from hub.core.clock import business_today
from hub.core.refusals import Conflict, FieldError, Forbidden, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit
from hub.crm.customers.models import Contact
from hub.crm.followups.models import FollowUp
from hub.crm.sales.collection import cadence_from
from hub.crm.sales.receivable_models import Receivable, ReceivableStatus

REMINDER_FIELDS: tuple[Field, ...] = (
    Field("template_id", "int", _l("Template"), required=True, minimum=1, maximum=MAX_ID,
          description="An SMS or email message template; it may use {{ receivable.amount }}, "
          "outstanding, currency, due_on, days_overdue, description, promised_on"),
    Field("contact_id", "int", _l("Contact"), required=True, minimum=1, maximum=MAX_ID,
          description="One of the customer's contacts"),
)


def _choices(db: Session, receivable: Receivable,
             values: dict[str, Any]) -> tuple[MessageTemplate, Contact]:
    errors: list[FieldError] = []
    template = db.get(MessageTemplate, values["template_id"])
    if template is None:
        errors.append(FieldError("template_id", _(
            "There is no template %(id)s.", id=values["template_id"])))
    contact = db.get(Contact, values["contact_id"])
    if contact is None or contact.customer_id != receivable.customer_id:
        errors.append(FieldError("contact_id", _("This contact is not one of the customer's.")))
    if errors:
        raise ValidationError(errors)
    assert template is not None and contact is not None
    return template, contact


def send_reminder(
    db: Session, actor: User, receivable: Receivable, data: Mapping[str, Any],
    today: date | None = None,
) -> Message:
    """Queue the reminder (the caller enqueues the send after committing); a refusal (no
    address, suppressed, consent refused) is SendRefused, a 409, and nothing is stored."""
    if not can_edit(actor, receivable.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    unknown_keys(REMINDER_FIELDS, data)
    values = parse(REMINDER_FIELDS, data)
    if receivable.status != ReceivableStatus.OPEN.value:
        raise Conflict(_("Nothing is owed on this receivable any more."))
    template, contact = _choices(db, receivable, values)
    today = today or business_today()
    customer = receivable.customer
    context = context_for(
        contact, customer, customer.owner, receivable=receivable_vars(receivable, today)
    )
    try:
        parts = compiled(template).render(context)
    except RenderError as exc:
        raise ValidationError([FieldError("template_id", exc.reason)]) from None
    message = queue_message(db, actor, contact, template.channel, parts.body, parts.subject)
    follow_up = db.get(FollowUp, message.follow_up_id)
    assert follow_up is not None
    follow_up.receivable_id = receivable.id
    follow_up.order_id = receivable.order_id
    changes = audit.apply_changes(receivable, {"next_chase_on": cadence_from(db, today)})
    changes["reminder"] = [None, f"{template.channel}:{template.name}"]
    audit.record(db, actor, "receivable", receivable.id, "reminder", changes, customer.id)
    db.flush()
    return message
