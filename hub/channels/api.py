"""/api/v1/messages: one-to-one SMS and email."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, jsonify, url_for
from flask_babel import gettext as _

from hub.channels import channels_api_bp as bp
from hub.channels.messages import enqueue_send, queue_message
from hub.channels.models import Message
from hub.core import db
from hub.core.apikit import (
    LIST_QUERY,
    document,
    fields_schema,
    json_body,
    keyset_page,
    query_int,
    serialize,
)
from hub.core.auth import login_required, require_user
from hub.core.refusals import NotFound
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers import lookup as svc
from hub.crm.customers.models import Customer

SEND_FIELDS = (
    Field("contact_id", "int", required=True, minimum=1),
    Field("channel", "choice", required=True, choices=("sms", "email")),
    Field("body", "text", required=True, max_length=20000),
    Field("subject", "str", max_length=300, description="Required for email"),
)
MESSAGE_OUT_FIELDS = (
    Field("id", "int", read_only=True),
    Field("channel", "str", read_only=True),
    Field("direction", "str", read_only=True),
    Field("customer_id", "int", read_only=True),
    Field("contact_id", "int", read_only=True),
    Field("to_address", "str", read_only=True),
    Field("subject", "str", read_only=True),
    Field("body", "text", read_only=True),
    Field("status", "str", read_only=True),
    Field("provider_id", "str", read_only=True),
    Field("error", "str", read_only=True),
    Field("created_at", "str", read_only=True),
    Field("sent_at", "str", read_only=True),
    Field("status_at", "str", read_only=True),
)
MESSAGE_OUT = fields_schema(MESSAGE_OUT_FIELDS, output=True)


def message_json(message: Message) -> dict[str, Any]:
    return serialize(message, MESSAGE_OUT_FIELDS)


document(
    "post",
    "/messages",
    "Send an SMS or an email to a contact (queued; 409 when it cannot be sent)",
    "messages",
    body=fields_schema(SEND_FIELDS),
    response=MESSAGE_OUT,
    status=202,
    roles="admin, director, the owning agent",
)


@bp.post("/messages")
@login_required
def send() -> tuple[Response, int, dict[str, str]]:
    s = db.session()
    user = require_user()
    data = json_body()
    unknown_keys(SEND_FIELDS, data)
    values = parse(SEND_FIELDS, data)
    contact = svc.load_contact(s, user, values["contact_id"], edit=True)
    message = queue_message(
        s, user, contact, values["channel"], values["body"], values.get("subject")
    )
    s.commit()
    enqueue_send(message.id)
    return (
        jsonify(message_json(message)),
        202,
        {"Location": url_for("channels_api.get_message", message_id=message.id)},
    )


document(
    "get",
    "/messages",
    "Messages to and from customers the user may see",
    "messages",
    response=MESSAGE_OUT,
    list_of=True,
    query=LIST_QUERY[1:]
    + (
        ("customer_id", "integer", "Only this customer's"),
        ("contact_id", "integer", "Only this contact's"),
    ),
)


@bp.get("/messages")
@login_required
def list_messages() -> Response:
    s = db.session()
    visible = svc.visible_customers(require_user()).with_only_columns(Customer.id)
    stmt = sa.select(Message).where(Message.customer_id.in_(visible))
    for name, column in (("customer_id", Message.customer_id), ("contact_id", Message.contact_id)):
        wanted = query_int(name)
        if wanted is not None:
            stmt = stmt.where(column == wanted)
    return jsonify(keyset_page(s, stmt, Message.id, "channels_api.list_messages", message_json))


document(
    "get",
    "/messages/{id}",
    "Read a message and its delivery status",
    "messages",
    response=MESSAGE_OUT,
)


@bp.get("/messages/<int:message_id>")
@login_required
def get_message(message_id: int) -> Response:
    s = db.session()
    message = s.get(Message, message_id) if 0 < message_id <= MAX_ID else None
    if message is None or message.customer_id is None:
        raise NotFound(_("There is no message %(id)s.", id=message_id))
    svc.load_customer(s, require_user(), message.customer_id)
    return jsonify(message_json(message))
