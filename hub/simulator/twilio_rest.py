"""Twilio's REST API in the simulator: Messages (create, list) and Calls (create)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from hub.simulator import voice_calls as sim_voice
from hub.simulator.http_parts import Incoming, Reply, rfc2822_now
from hub.simulator.twilio_api import API_VERSION, new_sid, segments, status_callback
from hub.simulator.twilio_validation import (
    check_call,
    check_message,
    error,
    form_value,
    form_values,
)

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

RESOURCE_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/(Messages|Calls)\.json$")


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
    to = form_value(form.get("To")).strip()
    sender = form_value(form.get("From")).strip()
    service = form_value(form.get("MessagingServiceSid")).strip()
    body = form_value(form.get("Body"))
    media = form_values(form.get("MediaUrl"))
    problem = check_message(to, sender, service, body, media)
    if problem is not None:
        return problem
    if to in sim.opt_outs:
        return error(400, 21610, "Attempt to send to unsubscribed recipient")

    sid = new_sid("SM")
    resource = _message_resource(sim, sid, to, sender, service, body, media)
    faults = sim.dice.faults
    outcome = sim.dice.pick(faults.sms_undelivered, faults.sms_failed)
    final, code = [("delivered", None), ("undelivered", "30003"), ("failed", "30005")][outcome + 1]
    callback_url = form_value(form.get("StatusCallback")).strip()
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
        _schedule_message_status(sim, callback_url, sid, to, sender, service, final, code)
    return Reply.json(201, resource)


def _message_resource(
    sim: ProviderSimulator,
    sid: str,
    to: str,
    sender: str,
    service: str,
    body: str,
    media: list[str],
) -> dict[str, Any]:
    """The Message resource as Twilio answers its creation."""
    creds = sim.credentials
    now = rfc2822_now()
    uri = f"/{API_VERSION}/Accounts/{creds.account_sid}/Messages/{sid}.json"
    return {
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


def _schedule_message_status(
    sim: ProviderSimulator,
    url: str,
    sid: str,
    to: str,
    sender: str,
    service: str,
    final: str,
    code: str | None,
) -> None:
    """The message's status callbacks: sending, sent, then its final status."""
    creds = sim.credentials
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
        chain.append(status_callback(sim, "twilio-message-status", url, params))
    sim.schedule(chain)


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
        found.append(
            {
                "account_sid": creds.account_sid,
                "api_version": API_VERSION,
                "sid": sid,
                "to": body.get("To"),
                "from": body.get("From"),
                "body": body.get("Body", ""),
                "status": record.get("final_status", "sent"),
                "direction": "outbound-api",
                "date_created": stamp,
                "date_sent": stamp,
                "date_updated": stamp,
                "num_segments": str(segments(body.get("Body", ""))),
                "num_media": "0",
                "error_code": record.get("error_code"),
                "error_message": None,
                "price": None,
                "price_unit": "USD",
                "messaging_service_sid": None,
                "uri": f"/{API_VERSION}/Accounts/{creds.account_sid}/Messages/{sid}.json",
            }
        )
        if len(found) == size:
            break
    uri = f"{req.path}?{req.query}" if req.query else req.path
    return Reply.json(
        200,
        {
            "messages": found,
            "end": max(0, len(found) - 1),
            "first_page_uri": uri,
            "next_page_uri": None,
            "page": 0,
            "page_size": size,
            "previous_page_uri": None,
            "start": 0,
            "uri": uri,
        },
    )


def _create_call(sim: ProviderSimulator, req: Incoming, form: dict[str, Any]) -> Reply:
    to = form_value(form.get("To")).strip()
    sender = form_value(form.get("From")).strip()
    url = form_value(form.get("Url")).strip()
    twiml = form_value(form.get("Twiml"))
    problem = check_call(to, sender, url, twiml)
    if problem is not None:
        return problem

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
    events = " ".join(form_values(form.get("StatusCallbackEvent")))
    flat = {
        "To": to,
        "From": sender,
        "Url": url,
        "Twiml": twiml,
        "StatusCallback": form_value(form.get("StatusCallback")).strip(),
    }
    sim_voice.outbound_call(sim, sid, flat, events)
    return Reply.json(201, resource)
