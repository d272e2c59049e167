"""Sending a payment reminder for a receivable: the collection card's form and the API, and the
card's choices (templates, contacts), which only this side of the dependency rule may read."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, flash, jsonify, redirect, request
from flask_babel import gettext as _

from hub.campaigns.care import collection_reminders_bp as bp
from hub.campaigns.care.collection_reminders import REMINDER_FIELDS, send_reminder
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.api import MESSAGE_OUT, message_json
from hub.channels.messages import SendRefused, enqueue_send
from hub.core import db
from hub.core.apikit import document, fields_schema, json_body
from hub.core.auth import login_required, require_user
from hub.core.refusals import Conflict, ValidationError
from hub.crm.customers.lookup import can_edit
from hub.crm.sales import collection
from hub.crm.sales.credit_views import receivable_url
from hub.crm.sales.receivable_models import Receivable


@bp.app_context_processor
def _card() -> dict[str, Any]:
    return {"collection_card": collection_card}


def collection_card(receivable: Receivable) -> dict[str, Any]:
    """The receivable card's choices: who may act, the templates and contacts for a reminder."""
    s = db.session()
    return {
        "can_edit": can_edit(require_user(), receivable.customer),
        "templates": s.scalars(sa.select(MessageTemplate).order_by(MessageTemplate.name)).all(),
        "contacts": receivable.customer.contacts,
        "kinds": collection.KINDS,
    }


@bp.post("/receivables/<int:receivable_id>/reminders")
@login_required
def send_page(receivable_id: int) -> Any:
    s = db.session()
    user = require_user()
    receivable = collection.load_receivable(s, user, receivable_id, edit=True)
    data = {k: request.form.get(k, "") for k in ("template_id", "contact_id")}
    try:
        message = send_reminder(s, user, receivable, data)
    except ValidationError as exc:
        s.rollback()
        for e in exc.errors:
            flash(f"{e.field}: {e.message}", "error")
    except (SendRefused, Conflict) as exc:
        s.rollback()
        flash(str(exc), "error")
    else:
        s.commit()
        enqueue_send(message.id)
        flash(_("Reminder to %(address)s queued; its delivery shows on the timeline.",
                address=message.to_address), "success")
    return redirect(receivable_url(receivable) + "#collection")


document(
    "post", "/receivables/{id}/reminders",
    "Send a payment reminder for a receivable from an SMS or email template to one of the "
    "customer's contacts (queued; 409 when it cannot be sent: no address, suppressed, consent "
    "refused, nothing owed)", "credit",
    body=fields_schema(REMINDER_FIELDS), response=MESSAGE_OUT, status=202,
    roles="admin, director, the owning agent",
)


@bp.post("/api/v1/receivables/<int:receivable_id>/reminders")
@login_required
def send_api(receivable_id: int) -> tuple[Response, int]:
    s = db.session()
    user = require_user()
    receivable = collection.load_receivable(s, user, receivable_id, edit=True)
    message = send_reminder(s, user, receivable, json_body())
    s.commit()
    enqueue_send(message.id)
    return jsonify(message_json(message)), 202
