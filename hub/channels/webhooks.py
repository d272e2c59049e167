"""Provider webhooks: verified (not CSRF-protected), stored once, answered fast, applied by a job."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from email.utils import parseaddr

from flask import Response, current_app, request
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from hub.channels import inbound, provider_events
from hub.channels import webhooks_bp as bp
from hub.channels.providers import twilio_auth_token
from hub.core import db, services
from hub.core.auth import public
from hub.core.normalize import normalize_phone
from hub.core.refusals import FieldError


def public_url_of_request() -> str:
    """The URL the provider signed: the hub's public base (behind a TLS proxy the request's own
    scheme and host are not what Twilio saw), with the whole path and query string."""
    base = current_app.config["SETTINGS"].public_url or request.host_url.rstrip("/")
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def forbidden() -> Response:
    """A webhook whose signature did not check out: nothing stored, nothing done."""
    return Response("signature check failed\n", status=403, mimetype="text/plain")


def twilio_verified() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(twilio_auth_token(current_app))
    return bool(signature) and validator.validate(public_url_of_request(), request.form, signature)


@bp.post("/twilio/sms-status")
@public
def twilio_sms_status() -> Response:
    if not twilio_verified():
        return forbidden()
    s = db.session()
    params = request.form.to_dict()
    if request.args.get("message", "").isdigit():
        params["message"] = request.args["message"]
    ids = provider_events.store(s, [provider_events.twilio_status(params)])
    s.commit()
    provider_events.enqueue_apply(ids)
    return Response(status=204)


def sendgrid_public_key() -> str:
    settings = current_app.config["SETTINGS"]
    if settings.sendgrid_webhook_public_key:
        return str(settings.sendgrid_webhook_public_key)
    from hub.channels.credentials import load_or_create

    return load_or_create(settings.instance_dir).webhook_public_key


@bp.post("/sendgrid/events")
@public
def sendgrid_events() -> Response:
    raw = request.get_data(cache=True)
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    try:
        # The raw body exactly as received: re-serialising or stripping a newline breaks it.
        verified = bool(signature and timestamp) and EventWebhook(
            sendgrid_public_key()
        ).verify_signature(raw.decode("utf-8"), signature, timestamp)
    except (ValueError, UnicodeDecodeError):
        verified = False
    if not verified:
        return forbidden()
    try:
        batch = json.loads(raw)
    except ValueError:
        return Response("the body is not JSON\n", status=400, mimetype="text/plain")
    if not isinstance(batch, list):
        return Response("expected a JSON array of events\n", status=400, mimetype="text/plain")
    s = db.session()
    ids = provider_events.store(s, provider_events.sendgrid_events(batch))
    s.commit()
    provider_events.enqueue_apply(ids)
    return Response(status=204)


def _twiml(text: str | None = None) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), mimetype="text/xml")


@bp.post("/twilio/sms")
@public
def twilio_inbound_sms() -> Response:
    """An SMS from a customer. STOP/START take effect before this answers; HELP is answered."""
    if not twilio_verified():
        return forbidden()
    params = request.form.to_dict()
    sid = params.get("MessageSid", "")
    try:
        number = normalize_phone(
            params.get("From", ""), current_app.config["SETTINGS"].default_region
        )
    except FieldError:
        number = None  # a short code or an alphanumeric sender: recorded, never suppressed by it
    s = db.session()
    word = inbound.apply_sms_keyword(s, number, params.get("Body", ""), sid) if number else None
    ids = provider_events.store(
        s, [provider_events.Incoming("twilio", f"twilio:{sid}:inbound", "sms-inbound", params)]
    )
    s.commit()
    for event_id in ids:
        services.queue("high").enqueue(inbound.inbound_job, event_id, result_ttl=3600)
    return _twiml(current_app.config["SETTINGS"].sms_help_text if word == "help" else None)


def inbound_email_secret() -> str:
    settings = current_app.config["SETTINGS"]
    if settings.inbound_email_secret:
        return str(settings.inbound_email_secret)
    from hub.channels.credentials import load_or_create

    return load_or_create(settings.instance_dir).inbound_email_secret


@bp.post("/sendgrid/inbound/<secret>")
@public
def sendgrid_inbound(secret: str) -> Response:
    """SendGrid Inbound Parse (multipart, unsigned): the secret in the URL guards it."""
    if not hmac.compare_digest(secret.encode(), inbound_email_secret().encode()):
        return forbidden()
    form = request.form.to_dict()
    _name, address = parseaddr(form.get("from", ""))
    if not address:
        # 4xx: SendGrid drops it rather than retrying something that will never parse.
        return Response("no sender address in 'from'\n", status=400, mimetype="text/plain")
    payload = {
        "from_address": address,
        "to": form.get("to", ""),
        "subject": form.get("subject", ""),
        "text": form.get("text") or form.get("html", ""),
        "headers": form.get("headers", ""),
    }
    message_id = re.search(r"^Message-ID:\s*(\S+)", payload["headers"], re.I | re.M)
    key = (
        message_id.group(1)
        if message_id
        else hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    )
    s = db.session()
    ids = provider_events.store(
        s,
        [provider_events.Incoming("sendgrid", f"sendgrid-inbound:{key}", "email-inbound", payload)],
    )
    s.commit()
    for event_id in ids:
        services.queue("high").enqueue(inbound.inbound_job, event_id, result_ttl=3600)
    return Response(status=200)
