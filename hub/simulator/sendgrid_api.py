"""SendGrid's side of the simulator: v3 mail/send, the Signed Event Webhook, Inbound Parse."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from datetime import UTC, datetime
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from hub.simulator.callbacks import Callback
from hub.simulator.http_parts import Incoming, Reply
from hub.simulator.sendgrid_validation import errors, validate

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

MAX_BODY_BYTES = 20 * 1024 * 1024  # SendGrid's whole-request limit: larger answers 413
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


def handle(sim: ProviderSimulator, req: Incoming) -> Reply:
    activity = req.path == "/v3/messages" and req.method == "GET"
    if not activity and (req.path != "/v3/mail/send" or req.method != "POST"):
        return errors(404, ("resource not found", None))
    key = req.bearer()
    if key is None or not secrets.compare_digest(key, sim.credentials.sendgrid_api_key):
        return errors(
            401, ("The provided authorization grant is invalid, expired, or revoked", None)
        )
    if activity:
        return _activity(sim, req)
    if len(req.body) > MAX_BODY_BYTES:
        return errors(413, ("The request body is larger than 20 MB.", None))
    fault = sim.api_fault()
    if fault == 429:
        limits = {
            "X-RateLimit-Limit": "600",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + 1),
        }
        return errors(429, ("too many requests", None), headers=limits)
    if fault == 500:
        return errors(500, ("internal server error", None))
    try:
        body = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return errors(400, ("Bad Request", None))
    problem = validate(body)
    if problem is not None:
        return problem

    xid = secrets.token_urlsafe(16)
    events, failures = _events(sim, body, xid)
    sim.log.add(
        "sendgrid",
        "mail",
        req.path,
        body,
        {"x_message_id": xid},
        status=202,
        recipients=len(events) // 2,
        failures=failures,
    )
    if sim.hub_url is not None:
        faults = sim.dice.faults
        if sim.dice.roll(faults.reorder_callbacks):
            events.reverse()
        callback = Callback(
            "sendgrid-events",
            f"{sim.hub_url}/webhooks/sendgrid/events",
            json.dumps(events, ensure_ascii=False).encode("utf-8"),
            {"Content-Type": "application/json", "User-Agent": "SendGrid Event API"},
            signer=lambda raw: sign_events(sim.webhook_key, raw),
            retry_on_4xx=True,
        )
        # Reordering happened inside the batch above; duplicates repeat the whole batch.
        sim.schedule([callback], reorder=False)
    return Reply(202, b"", {"X-Message-Id": xid})


def _events(
    sim: ProviderSimulator, body: dict[str, Any], xid: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Two events a recipient (processed, then delivered / bounce / dropped), in send order, and
    the recipients that did not get `delivered`."""
    faults = sim.dice.faults
    categories = body.get("categories") or []
    category: Any = categories[0] if len(categories) == 1 else list(categories)
    message_args = body.get("custom_args") or {}
    events: list[dict[str, Any]] = []
    failures: dict[str, str] = {}
    n = 0
    now = int(time.time())
    for p in body["personalizations"]:
        args = {**message_args, **(p.get("custom_args") or {})}
        for kind in ("to", "cc", "bcc"):
            for address in p.get(kind) or []:
                email = address["email"]
                common = {
                    **args,  # echoed as top-level keys; the standard fields win on a clash
                    "email": email,
                    "timestamp": now,
                    "sg_message_id": f"{xid}.{n}.filterdrecv-sim.0",
                    "smtp-id": f"<{xid}.{n}@sim.sendgrid.net>",
                }
                if categories:
                    common["category"] = category
                outcome = sim.dice.pick(faults.email_bounce, faults.email_dropped)
                events.append({**common, "event": "processed", "sg_event_id": _event_id()})
                last = {**common, "sg_event_id": _event_id()}
                if outcome == 0:
                    last.update(
                        event="bounce",
                        type="bounce",
                        status="5.1.1",
                        reason="550 5.1.1 The email account that you tried to reach does "
                        "not exist.",
                        bounce_classification="Invalid Address",
                    )
                    failures[email] = "bounce"
                elif outcome == 1:
                    last.update(event="dropped", reason="Bounced Address")
                    failures[email] = "dropped"
                else:
                    last.update(event="delivered", response="250 2.0.0 OK", ip="127.0.0.1", tls=1)
                events.append(last)
                n += 1
    return events, failures


# The part of the Email Activity query language the hub uses: terms joined by AND.
QUERY_TERM_RE = re.compile(
    r"""^\s*(?:unique_args\['([^']+)'\]|(to_email|msg_id|subject))\s*=\s*"([^"]*)"\s*$"""
)


def _activity(sim: ProviderSimulator, req: Incoming) -> Reply:
    """GET /v3/messages (Email Activity): the messages whose recipient, msg_id, subject or
    custom args match every term of `query`."""
    params = {k: v[0] for k, v in parse_qs(req.query, keep_blank_values=True).items()}
    terms: list[tuple[str, str, str]] = []  # (kind, name, value)
    for part in re.split(r"\s+AND\s+", params.get("query", "")) if params.get("query") else []:
        match = QUERY_TERM_RE.match(part)
        if match is None:
            return errors(400, (f"invalid query term: {part.strip()}", "query"))
        arg, field, value = match.groups()
        terms.append(("arg", arg, value) if arg else ("field", field, value))
    try:
        limit = max(1, min(1000, int(params.get("limit", "10"))))
    except ValueError:
        return errors(400, ("limit must be a number from 1 to 1000", "limit"))
    found: list[dict[str, Any]] = []
    for record in reversed(sim.requests()):
        if record.get("provider") != "sendgrid" or record.get("kind") != "mail":
            continue
        body, xid = record.get("body") or {}, record["ids"]["x_message_id"]
        failures = record.get("failures") or {}
        n = 0
        for p in body.get("personalizations", []):
            args = {**(body.get("custom_args") or {}), **(p.get("custom_args") or {})}
            for kind in ("to", "cc", "bcc"):
                for address in p.get(kind) or []:
                    item = {
                        "from_email": (body.get("from") or {}).get("email"),
                        "msg_id": f"{xid}.{n}.filterdrecv-sim.0",  # as in the events
                        "subject": p.get("subject") or body.get("subject"),
                        "to_email": address["email"],
                        "status": "not_delivered" if address["email"] in failures else "delivered",
                        "opens_count": 0,
                        "clicks_count": 0,
                        "last_event_time": datetime.fromtimestamp(record["time"], UTC).strftime(
                            "%Y-%m-%dT%H:%M:%SZ"
                        ),
                    }
                    n += 1
                    if all(
                        str(args.get(name)) == value
                        if kind_ == "arg"
                        else str(item.get(name)) == value
                        for kind_, name, value in terms
                    ):
                        found.append(item)
        if len(found) >= limit:
            break
    return Reply.json(200, {"messages": found[:limit]})


def _event_id() -> str:
    return secrets.token_urlsafe(16)


def sign_events(key: ec.EllipticCurvePrivateKey, raw: bytes) -> dict[str, str]:
    """The Signed Event Webhook headers: ECDSA P-256 over SHA-256 of timestamp + raw body."""
    timestamp = str(int(time.time()))
    signature = key.sign(timestamp.encode("utf-8") + raw, ec.ECDSA(hashes.SHA256()))
    return {SIGNATURE_HEADER: base64.b64encode(signature).decode(), TIMESTAMP_HEADER: timestamp}


def inbound_email(sim: ProviderSimulator, data: dict[str, Any]) -> Reply:
    """A customer emails the hub: an Inbound Parse post, answered with what the hub answered."""
    sender = str(data.get("from") or "").strip()
    if not sender:
        return Reply.json(400, {"error": "'from' is required"})
    creds = sim.credentials
    to = str(data.get("to") or creds.from_email).strip()
    subject = str(data.get("subject") or "")
    text = str(data.get("text") or "")
    html = data.get("html")
    message_id = make_msgid(domain="sim.sendgrid.net")
    headers = (
        f"Received: by mx.sim.sendgrid.net with SMTP id {secrets.token_hex(8)}\n"
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {formatdate(localtime=False)}\n"
        f"Message-ID: {message_id}\nMIME-Version: 1.0\n"
    )
    fields = {
        "from": sender,
        "to": to,
        "subject": subject,
        "text": text,
        "envelope": json.dumps({"to": [parseaddr(to)[1]], "from": parseaddr(sender)[1]}),
        "headers": headers,
        "attachments": "0",
        "charsets": json.dumps({k: "UTF-8" for k in ("from", "to", "subject", "text", "html")}),
        "SPF": "pass",
        "sender_ip": "127.0.0.1",
    }
    if html is not None:
        fields["html"] = str(html)
    if sim.hub_url is None:
        return Reply.json(409, {"error": "the simulator has no hub_url to deliver to"})
    url = f"{sim.hub_url}/webhooks/sendgrid/inbound/{creds.inbound_email_secret}"
    # (None, value) parts make requests build multipart/form-data without any file.
    prepared = requests.Request(
        "POST", url, files={k: (None, v.encode("utf-8")) for k, v in fields.items()}
    ).prepare()
    assert isinstance(prepared.body, bytes)
    reply = sim.forward(
        "sendgrid-inbound-parse",
        url,
        prepared.body,
        {"Content-Type": prepared.headers["Content-Type"], "User-Agent": "Sendlib/1.0"},
    )
    sim.log.add(
        "customer",
        "inbound_email",
        "/sim/inbound/email",
        data,
        {"message_id": message_id},
        hub_status=reply.status,
    )
    return reply
