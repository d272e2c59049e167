"""Provider webhooks: verified (not CSRF-protected), stored once, answered fast, applied by a job."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.request_validator import RequestValidator

from hub import db
from hub.auth import public
from hub.channels import provider_events
from hub.channels.providers import twilio_auth_token

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def public_url_of_request() -> str:
    """The URL the provider signed: the hub's public base (behind a TLS proxy the request's own
    scheme and host are not what Twilio saw), with the whole path and query string."""
    base = current_app.config["SETTINGS"].public_url or request.host_url.rstrip("/")
    query = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{query}" if query else "")


def _forbidden() -> Response:
    return Response("signature check failed\n", status=403, mimetype="text/plain")


def twilio_verified() -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(twilio_auth_token(current_app))
    return bool(signature) and validator.validate(public_url_of_request(), request.form, signature)


@bp.post("/twilio/sms-status")
@public
def twilio_sms_status() -> Response:
    if not twilio_verified():
        return _forbidden()
    s = db.session()
    ids = provider_events.store(s, [provider_events.twilio_status(request.form.to_dict())])
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
        return _forbidden()
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
