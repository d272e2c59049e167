"""The page that sends a contact an SMS or an email."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.channels import channels_bp as bp
from hub.channels.messages import SendRefused, check_sendable, enqueue_send, queue_message
from hub.core import db
from hub.core.auth import login_required, require_user
from hub.core.refusals import ValidationError
from hub.crm.customers import lookup as svc


@bp.route("/contacts/<int:contact_id>/message/<channel>", methods=["GET", "POST"])
@login_required
def compose(contact_id: int, channel: str) -> tuple[str, int] | Response:
    user = require_user()
    s = db.session()
    contact = svc.load_contact(s, user, contact_id, edit=True)
    if channel not in ("sms", "email"):
        return redirect(url_for("crm.customer", customer_id=contact.customer_id))
    values = {"body": request.form.get("body", ""), "subject": request.form.get("subject", "")}
    errors: dict[str, str] = {}
    refused = None
    try:
        address = check_sendable(s, contact, channel)
    except SendRefused as exc:
        address, refused = None, str(exc)
    if request.method == "POST" and refused is None:
        try:
            message = queue_message(s, user, contact, channel, values["body"], values["subject"])
        except ValidationError as exc:
            s.rollback()
            errors = exc.as_dict()
        else:
            s.commit()
            enqueue_send(message.id)
            flash(
                _(
                    "Message to %(address)s queued; its delivery shows on the timeline.",
                    address=message.to_address,
                ),
                "success",
            )
            return redirect(url_for("crm.customer", customer_id=contact.customer_id) + "#timeline")
    status = 409 if refused and request.method == "POST" else 422 if errors else 200
    return render_template(
        "compose.html",
        contact=contact,
        channel=channel,
        address=address,
        refused=refused,
        values=values,
        errors=errors,
    ), status
