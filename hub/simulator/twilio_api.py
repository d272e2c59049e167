"""Twilio's side of the simulator: the REST API (Messages, Calls), status callbacks, inbound SMS."""

from __future__ import annotations

import math
import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urldefrag, urlencode

import phonenumbers
from twilio.request_validator import RequestValidator

from hub.simulator import voice_calls as sim_voice
from hub.simulator.callbacks import Callback
from hub.simulator.http_parts import Incoming, Reply, rfc2822_now

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

API_VERSION = "2010-04-01"
RESOURCE_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$")

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


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    """An error exactly as Twilio words it; the SDK raises it as TwilioRestException."""
    return Reply.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        headers,
    )


def customer_number(value: str, name: str) -> str:
    """A simulated customer's number as Twilio would carry it: E.164 ("+86 150 9221 6676" is
    +8615092216676); ValueError naming `name` for something that is not an international number
    (the simulator does not know the hub's region: the hub's pages and commands send E.164)."""
    text = value.strip()
    candidates = [text] if text.startswith("+") else [text, "+" + text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, None)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(f"'{name}' is not an international phone number (+8613800138000): {value!r}")


def _valid_number(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def _valid_sender(value: str) -> bool:
    """A phone number, or an alphanumeric sender ID (1 to 11 letters, digits, spaces)."""
    if value.startswith("+"):
        return _valid_number(value)
    return bool(re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}", value))


def _first(value: Any) -> str:
    """A form value given once (the repeated ones are lists); the first when repeated."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def handle(sim: ProviderSimulator, req: Incoming) -> Reply:
    match = RESOURCE_RE.match(req.path)
    listing = match is not None and req.method == "GET" and match.group(2) == "Messages"
    if match is None or (req.method != "POST" and not listing):
        return error(404, 20404, f"The requested resource {req.path} was not found")
    sid, resource = match.groups()
    auth = req.basic_auth()
    creds = sim.credentials
    if (
        auth is None
        or not secrets.compare_digest(auth[0], creds.account_sid)
        or not secrets.compare_digest(auth[1], creds.auth_token)
        or sid != creds.account_sid
    ):
        return error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
    fault = sim.api_fault()
    if fault == 429:
        return error(429, 20429, "Too Many Requests")
    if fault == 500:
        return error(500, 20500, "An internal server error has occurred")
    if listing:
        return _list_messages(sim, req)
    form = req.form()
    if resource == "Messages":
        return _create_message(sim, req, form)
    return _create_call(sim, req, form)


def _create_message(sim: ProviderSimulator, req: Incoming, form: dict[str, Any]) -> Reply:
    to = _first(form.get("To")).strip()
    sender = _first(form.get("From")).strip()
    service = _first(form.get("MessagingServiceSid")).strip()
    body = _first(form.get("Body"))
    media = _as_list(form.get("MediaUrl"))
    if not to:
        return error(400, 21604, "A 'To' phone number is required.")
    if not _valid_number(to):
        return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender and not service:
        return error(400, 21603, "A 'From' phone number is required.")
    if sender and not _valid_sender(sender):
        return error(400, 21212, f"The 'From' number {sender} is not a valid phone number.")
    if not body and not media:
        return error(400, 21602, "Message body is required.")
    if len(body) > 1600:
        return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if to in sim.opt_outs:
        return error(400, 21610, "Attempt to send to unsubscribed recipient")

    creds = sim.credentials
    sid = new_sid("SM")
    now = rfc2822_now()
    uri = f"/{API_VERSION}/Accounts/{creds.account_sid}/Messages/{sid}.json"
    resource = {
        "account_sid": creds.account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": sender or None,
        "messaging_service_sid": service or None,
        "num_media": str(len(media)),
        "num_segments": str(segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service and not sender else "queued",
        "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
        "to": to,
        "uri": uri,
    }

    faults = sim.dice.faults
    outcome = sim.dice.pick(faults.sms_undelivered, faults.sms_failed)
    final, code = [("delivered", None), ("undelivered", "30003"), ("failed", "30005")][outcome + 1]
    callback_url = _first(form.get("StatusCallback")).strip()
    sim.log.add(
        "twilio",
        "message",
        req.path,
        form,
        {"sid": sid},
        status=201,
        final_status=final,
        error_code=code,
    )
    if callback_url:
        base = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": creds.account_sid,
            "From": sender or creds.from_number,
            "To": to,
            "ApiVersion": API_VERSION,
        }
        if service:
            base["MessagingServiceSid"] = service
        chain = []
        for status in ("sending", "sent", final):
            params = {**base, "MessageStatus": status, "SmsStatus": status}
            if status == final and code:
                params["ErrorCode"] = code
            chain.append(status_callback(sim, "twilio-message-status", callback_url, params))
        sim.schedule(chain)
    return Reply.json(201, resource)


def _when(value: str) -> datetime | None:
    """A DateSent filter: an ISO date or date-time (the SDK sends 'YYYY-MM-DDTHH:MM:SSZ')."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _list_messages(sim: ProviderSimulator, req: Incoming) -> Reply:
    """GET Messages.json: the accepted messages, newest first, filtered by To, From and
    DateSent> / DateSent< (one page; the hub asks narrow questions)."""
    query = {k: v[0] for k, v in parse_qs(req.query, keep_blank_values=True).items()}
    to, sender = query.get("To", ""), query.get("From", "")
    after, before = _when(query.get("DateSent>", "")), _when(query.get("DateSent<", ""))
    if (query.get("DateSent>") and after is None) or (query.get("DateSent<") and before is None):
        return error(400, 20001, "Invalid DateSent filter")
    try:
        size = max(1, min(1000, int(query.get("PageSize", "50"))))
    except ValueError:
        return error(400, 20001, "Invalid PageSize")
    creds = sim.credentials
    found = []
    for record in reversed(sim.requests()):
        if record.get("provider") != "twilio" or record.get("kind") != "message":
            continue
        body = record.get("body") or {}
        sent = datetime.fromtimestamp(record["time"], UTC)
        if (to and body.get("To") != to) or (sender and body.get("From") != sender):
            continue
        if (after and sent < after) or (before and sent >= before):
            continue
        sid = record["ids"]["sid"]
        stamp = format_datetime(sent.replace(microsecond=0))
        found.append({
            "account_sid": creds.account_sid, "api_version": API_VERSION, "sid": sid,
            "to": body.get("To"), "from": body.get("From"), "body": body.get("Body", ""),
            "status": record.get("final_status", "sent"), "direction": "outbound-api",
            "date_created": stamp, "date_sent": stamp, "date_updated": stamp,
            "num_segments": str(segments(body.get("Body", ""))), "num_media": "0",
            "error_code": record.get("error_code"), "error_message": None, "price": None,
            "price_unit": "USD", "messaging_service_sid": None,
            "uri": f"/{API_VERSION}/Accounts/{creds.account_sid}/Messages/{sid}.json",
        })
        if len(found) == size:
            break
    uri = f"{req.path}?{req.query}" if req.query else req.path
    return Reply.json(200, {
        "messages": found, "end": max(0, len(found) - 1), "first_page_uri": uri,
        "next_page_uri": None, "page": 0, "page_size": size, "previous_page_uri": None,
        "start": 0, "uri": uri,
    })


def _create_call(sim: ProviderSimulator, req: Incoming, form: dict[str, Any]) -> Reply:
    to = _first(form.get("To")).strip()
    sender = _first(form.get("From")).strip()
    url = _first(form.get("Url")).strip()
    twiml = _first(form.get("Twiml"))
    if not to:
        return error(400, 21201, "No 'To' number is specified")
    if not (to.startswith(("client:", "sip:")) or _valid_number(to)):
        return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender:
        return error(400, 21213, "No 'From' number is specified")
    if not (sender.startswith("client:") or _valid_number(sender)):
        return error(400, 21212, f"The 'From' number {sender} is not a valid phone number.")
    if not url and not twiml:
        return error(400, 21205, "Url parameter is required.")
    if url and not url.startswith(("http://", "https://")):
        return error(400, 21205, f"Url is not a valid URL: {url}")
    if len(twiml) > 4000:
        return error(400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters")

    creds = sim.credentials
    sid = new_sid("CA")
    now = rfc2822_now()
    uri = f"/{API_VERSION}/Accounts/{creds.account_sid}/Calls/{sid}.json"
    resource = {
        "account_sid": creds.account_sid,
        "annotation": None,
        "answered_by": None,
        "api_version": API_VERSION,
        "caller_name": None,
        "date_created": now,
        "date_updated": now,
        "direction": "outbound-api",
        "duration": None,
        "end_time": None,
        "forwarded_from": None,
        "from": sender,
        "from_formatted": sender,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "sid": sid,
        "start_time": None,
        "status": "queued",
        "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
        "to": to,
        "to_formatted": to,
        "trunk_sid": None,
        "uri": uri,
    }
    sim.log.add("twilio", "call", req.path, form, {"sid": sid}, status=201)
    events = " ".join(_as_list(form.get("StatusCallbackEvent")))
    flat = {
        "To": to,
        "From": sender,
        "Url": url,
        "Twiml": twiml,
        "StatusCallback": _first(form.get("StatusCallback")).strip(),
    }
    sim_voice.outbound_call(sim, sid, flat, events)
    return Reply.json(201, resource)


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
