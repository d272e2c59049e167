"""Twilio voice webhooks: an inbound call rings the right agents (and pops on their console),
status and recording callbacks complete the call's record. Each is verified like the SMS ones."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from flask import Response, current_app, request
from flask_babel import gettext as _

from hub.channels import provider_events
from hub.channels.calls import records as calls
from hub.channels.calls import voice
from hub.channels.calls import voice_webhooks_bp as bp
from hub.channels.calls.models import Call
from hub.channels.models import WebhookEvent
from hub.channels.webhooks import forbidden, twilio_verified
from hub.core import db
from hub.core.auth import public
from hub.core.clock import utcnow

log = logging.getLogger(__name__)


def _twiml(xml: str) -> Response:
    return Response(xml, mimetype="text/xml")


def public_base() -> str:
    """The base Twilio is told to call back on (and signs over)."""
    return current_app.config["SETTINGS"].public_url or request.host_url.rstrip("/")


def _call_of_request() -> Call | None:
    """The call named by `?call=` (URLs the hub gave Twilio), else by Twilio's CallSid."""
    s = db.session()
    call_id = request.args.get("call", "")
    if call_id.isdigit():
        return s.get(Call, int(call_id))
    sid = request.form.get("CallSid", "")
    return s.scalar(sa.select(Call).where(Call.sid == sid)) if sid else None


def _greeting() -> str:
    return _("Sorry, nobody can take your call just now. Please leave a message after the tone.")


@bp.post("/voice")
@public
def inbound_call() -> Response:
    """A customer calls the company's number: record it ringing, pop it, ring the agents."""
    if not twilio_verified():
        return forbidden()
    form = request.form
    s = db.session()
    ringing = calls.ring_inbound(
        s,
        form.get("CallSid", ""),
        form.get("From", ""),
        form.get("To", ""),
        current_app.config["SETTINGS"].default_region,
    )
    s.commit()
    if ringing.new:
        calls.notify(ringing.call, "call")
    urls = voice.VoiceUrls(public_base(), ringing.call.id)
    targets = [t for t in (a.dial_target for a in ringing.agents) if t]
    if not targets:
        return _twiml(voice.voicemail_twiml(urls, _greeting()))
    # The caller's own number as caller id, so the agent's phone shows who is calling; only a
    # phone number (E.164): a withheld one ("anonymous") is left for Twilio to fill in.
    number = ringing.call.customer_number
    caller_id = number if number.startswith("+") else ""
    return _twiml(voice.ring_agents_twiml(urls, targets, caller_id))


@bp.post("/voice/dial-done")
@public
def dial_done() -> Response:
    """The <Dial> ended: nobody answered an inbound call means voicemail; otherwise hang up."""
    if not twilio_verified():
        return forbidden()
    call = _call_of_request()
    status = request.form.get("DialCallStatus", "")
    if call is not None and call.direction == "inbound" and status != "completed":
        return _twiml(voice.voicemail_twiml(voice.VoiceUrls(public_base(), call.id), _greeting()))
    return _twiml(voice.hangup_twiml())


@bp.post("/voice/bridge")
@public
def bridge() -> Response:
    """The agent answered a click-to-call: dial the customer with the company's caller id."""
    if not twilio_verified():
        return forbidden()
    call = _call_of_request()
    if call is None or call.direction != "outbound" or call.finished:
        return _twiml(voice.say_twiml(_("This call is no longer needed. Goodbye.")))
    urls = voice.VoiceUrls(public_base(), call.id)
    return _twiml(voice.bridge_twiml(urls, call.customer_number, call.hub_number))


def _apply_once(kind: str, key: str, apply: Callable[[Call, dict[str, str]], bool]) -> Response:
    """Verify, store the callback in the webhook inbox under `key`, and apply it to its call
    unless it was seen before (a replay); the agents concerned hear of a change."""
    if not twilio_verified():
        return forbidden()
    call = _call_of_request()
    if call is None:
        log.warning("%s callback for unknown call %s", kind, request.form.get("CallSid"))
        return Response(status=204)
    s = db.session()
    params = request.form.to_dict()
    ids = provider_events.store(s, [provider_events.Incoming("twilio", key, kind, params)])
    changed = False
    if ids:
        s.execute(
            sa.update(WebhookEvent).where(WebhookEvent.id.in_(ids)).values(applied_at=utcnow())
        )
        changed = apply(call, params)
    s.commit()
    if changed:
        calls.notify(call)
    return Response(status=204)


@bp.post("/voice-status")
@public
def call_status() -> Response:
    """A call status callback (initiated, ringing, answered, completed, busy, ...)."""
    leg = request.args.get("leg", "")
    form = request.form
    key = f"twilio:{form.get('CallSid', '')}:{form.get('CallStatus', '')}:{leg}"
    return _apply_once(
        "call-status", key, lambda call, params: calls.apply_status(db.session(), call, leg, params)
    )


@bp.post("/voice/recording")
@public
def recording() -> Response:
    """A voicemail recording is ready: link it from the call's record."""
    key = f"twilio:{request.form.get('RecordingSid', '')}:recording"
    return _apply_once(
        "call-recording", key, lambda call, params: calls.apply_recording(db.session(), call, params)
    )


@bp.post("/voice/recorded")
@public
def recorded() -> Response:
    """<Record>'s action: the message is taken; end the call."""
    if not twilio_verified():
        return forbidden()
    return _twiml(voice.hangup_twiml())
