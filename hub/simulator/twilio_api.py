"""Twilio's requests to the hub in the simulator: signed form posts (status callbacks, webhooks)
and a customer's inbound SMS; sids and SMS segments as Twilio makes and counts them. The REST API
is in sim_twilio_api, its checks in sim_twilio_validation."""

from __future__ import annotations

import math
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlencode

from twilio.request_validator import RequestValidator

from hub.simulator.callbacks import Callback
from hub.simulator.http_parts import Reply
from hub.simulator.twilio_validation import customer_number

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

API_VERSION = "2010-04-01"

OPT_OUT_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN_WORDS = {"START", "YES", "UNSTOP"}

# GSM 03.38: the basic set costs one septet a character, the extension set two.
_GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def segments(body: str) -> int:
    """How many SMS segments `body` takes: GSM-7 160/153 a segment, otherwise UCS-2 70/67."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in body):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in body)
        single, multi = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


def signed_form(
    sim: ProviderSimulator, url: str, params: dict[str, str]
) -> tuple[str, dict[str, str]]:
    """(the URL to post to, the headers) for a form callback signed as Twilio signs them: over
    the exact URL (query string kept; the fragment holds Twilio's retry options and is never
    sent) and the parameters."""
    url = urldefrag(url).url
    signature = RequestValidator(sim.credentials.auth_token).compute_signature(url, params)
    return url, {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "User-Agent": "TwilioProxy/1.1",
        "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
    }


def status_callback(
    sim: ProviderSimulator, kind: str, url: str, params: dict[str, str]
) -> Callback:
    url, headers = signed_form(sim, url, params)
    return Callback(kind, url, urlencode(params).encode("utf-8"), headers)


def inbound_sms(sim: ProviderSimulator, data: dict[str, Any]) -> Reply:
    """A customer texts the hub: Twilio's inbound webhook, answered with what the hub answered."""
    sender = str(data.get("from") or "").strip()
    body = str(data.get("body") or "")
    if not sender:
        return Reply.json(400, {"error": "'from' is required"})
    creds = sim.credentials
    try:
        sender = customer_number(sender, "from")
        to = customer_number(str(data.get("to") or creds.from_number), "to")
    except ValueError as exc:
        return Reply.json(400, {"error": str(exc)})
    word = body.strip().upper()
    # The carrier-level opt-out happens whatever the hub answers, as it does at Twilio.
    if word in OPT_OUT_WORDS:
        sim.opt_outs.add(sender)
    elif word in OPT_IN_WORDS:
        sim.opt_outs.remove(sender)
    sid = new_sid("SM")
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": creds.account_sid,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": str(segments(body)),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if sim.hub_url is None:
        return Reply.json(409, {"error": "the simulator has no hub_url to deliver to"})
    url, headers = signed_form(sim, f"{sim.hub_url}/webhooks/twilio/sms", params)
    reply = sim.forward("twilio-inbound-sms", url, urlencode(params).encode("utf-8"), headers)
    sim.log.add(
        "customer", "inbound_sms", "/sim/inbound/sms", data, {"sid": sid}, hub_status=reply.status
    )
    return reply
