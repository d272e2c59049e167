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

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SEND_AT_AHEAD = 72 * 3600
MAX_BODY_BYTES = 20 * 1024 * 1024  # SendGrid's whole-request limit: larger answers 413
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")


def errors(
    status: int, *items: tuple[str, str | None], headers: dict[str, str] | None = None
) -> Reply:
    """SendGrid's error body: {"errors": [{"message", "field", "help"}]}."""
    body = {"errors": [{"message": m, "field": f, "help": HELP if f else None} for m, f in items]}
    return Reply.json(status, body, headers)


def _valid_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL_RE.match(value))


def _check_address(obj: Any, field: str, problems: list[tuple[str, str | None]]) -> None:
    if not isinstance(obj, dict) or not _valid_email(obj.get("email")):
        problems.append(("Does not contain a valid address.", f"{field}.email"))


def _check_custom_args(value: Any, field: str, problems: list[tuple[str, str | None]]) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(("Custom args must be an object whose values are strings.", field))
    elif len(json.dumps(value).encode()) >= MAX_CUSTOM_ARGS_BYTES:
        problems.append(("Custom args must be less than 10,000 bytes in total.", field))


def validate(body: Any) -> Reply | None:
    """Check a mail/send body the way SendGrid does; an error answer, or None when acceptable."""
    if not isinstance(body, dict):
        return errors(400, ("Bad Request", None))
    problems: list[tuple[str, str | None]] = []
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(
            (
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        )
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        return errors(
            413,
            (
                "The personalizations field is limited to 1000 personalizations per API request.",
                "personalizations",
            ),
        )
    templated = bool(body.get("template_id"))
    recipients = 0
    for i, p in enumerate(personalizations):
        field = f"personalizations.{i}"
        if not isinstance(p, dict):
            problems.append(("Each personalization must be an object.", field))
            continue
        to = p.get("to")
        if not isinstance(to, list) or not to:
            problems.append(
                (
                    "The to array is required for all personalization objects, and must have at "
                    "least one email object with a valid email address.",
                    f"{field}.to",
                )
            )
            to = []
        seen: set[str] = set()
        for kind in ("to", "cc", "bcc"):
            entries = to if kind == "to" else p.get(kind) or []
            if not isinstance(entries, list):
                problems.append((f"The {kind} field must be an array.", f"{field}.{kind}"))
                continue
            for j, address in enumerate(entries):
                _check_address(address, f"{field}.{kind}.{j}", problems)
                email = address.get("email") if isinstance(address, dict) else None
                if isinstance(email, str):
                    if email.lower() in seen:
                        problems.append(
                            (
                                "Each email address in the personalization block should be "
                                "unique between to, cc, and bcc. We found the first duplicate "
                                f"instance of [{email}] in the {field}.{kind} field.",
                                f"{field}.{kind}",
                            )
                        )
                    seen.add(email.lower())
            recipients += len(entries)
        _check_custom_args(p.get("custom_args"), f"{field}.custom_args", problems)
    if recipients > MAX_RECIPIENTS:
        problems.append(
            (
                "The total number of recipients must be less than 1000. This includes all "
                "recipients defined within the to, cc, and bcc parameters, across each object "
                "that you include in the personalizations array.",
                "personalizations",
            )
        )

    sender = body.get("from")
    if not isinstance(sender, dict):
        problems.append(
            (
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.",
                "from",
            )
        )
    elif not _valid_email(sender.get("email")):
        problems.append(("The from email does not contain a valid address.", "from.email"))
    if body.get("reply_to") is not None:
        _check_address(body.get("reply_to"), "reply_to", problems)

    subject = body.get("subject")
    every_has_subject = bool(personalizations) and all(
        isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"]
        for p in personalizations
    )
    if not templated and not (isinstance(subject, str) and subject) and not every_has_subject:
        problems.append(
            (
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
        )

    content = body.get("content")
    if content is not None or not templated:
        if not isinstance(content, list) or not content:
            problems.append(
                (
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block.",
                    "content",
                )
            )
            content = []
        types = []
        for k, block in enumerate(content):
            if not isinstance(block, dict):
                problems.append(("Each content block must be an object.", f"content.{k}"))
                continue
            if not isinstance(block.get("type"), str) or not block["type"]:
                problems.append(
                    (
                        "The content type must be a string at least one character in length.",
                        f"content.{k}.type",
                    )
                )
            if not isinstance(block.get("value"), str) or not block["value"]:
                problems.append(
                    (
                        "The content value must be a string at least one character in length.",
                        f"content.{k}.value",
                    )
                )
            types.append(block.get("type"))
        if "text/plain" in types and types.index("text/plain") != 0:
            problems.append(
                (
                    "If present, text/plain must be first, followed by text/html, followed by "
                    "any other content.",
                    "content",
                )
            )

    _check_custom_args(body.get("custom_args"), "custom_args", problems)
    categories = body.get("categories")
    if categories is not None and (
        not isinstance(categories, list)
        or len(categories) > 10
        or not all(isinstance(c, str) and 0 < len(c) <= 255 for c in categories)
    ):
        problems.append(
            (
                "Categories must be an array of at most 10 strings of 1 to 255 characters.",
                "categories",
            )
        )
    send_at = body.get("send_at")
    if send_at is not None and (
        not isinstance(send_at, int) or send_at > time.time() + MAX_SEND_AT_AHEAD
    ):
        problems.append(("send_at must be a unix timestamp at most 72 hours ahead.", "send_at"))
    return errors(400, *problems) if problems else None


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
QUERY_TERM_RE = re.compile(r"""^\s*(?:unique_args\['([^']+)'\]|(to_email|msg_id|subject))\s*=\s*"([^"]*)"\s*$""")


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
                        "opens_count": 0, "clicks_count": 0,
                        "last_event_time": datetime.fromtimestamp(record["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                    n += 1
                    if all(
                        str(args.get(name)) == value if kind_ == "arg" else str(item.get(name)) == value
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
