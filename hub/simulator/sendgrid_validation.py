"""The simulator's checks of a SendGrid v3 mail/send body, one per part, worded as SendGrid words
them; and SendGrid's error body."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from hub.simulator.http_parts import Reply

MAX_PERSONALIZATIONS = 1000
MAX_RECIPIENTS = 1000
MAX_CUSTOM_ARGS_BYTES = 10_000
MAX_SEND_AT_AHEAD = 72 * 3600
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"

_EMAIL_RE = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")

# (message, field): one entry of SendGrid's error list; the field is None for the whole request.
Problem = tuple[str, str | None]


def errors(status: int, *items: Problem, headers: dict[str, str] | None = None) -> Reply:
    """SendGrid's error body: {"errors": [{"message", "field", "help"}]}."""
    body = {"errors": [{"message": m, "field": f, "help": HELP if f else None} for m, f in items]}
    return Reply.json(status, body, headers)


def validate(body: Any) -> Reply | None:
    """Check a mail/send body the way SendGrid does; an error answer, or None when acceptable."""
    if not isinstance(body, dict):
        return errors(400, ("Bad Request", None))
    personalizations = body.get("personalizations")
    # Too many personalizations is refused alone, before anything else is looked at.
    if isinstance(personalizations, list) and len(personalizations) > MAX_PERSONALIZATIONS:
        return errors(
            413,
            (
                "The personalizations field is limited to 1000 personalizations per API request.",
                "personalizations",
            ),
        )
    problems: list[Problem] = []
    _check_personalizations(body, problems)
    _check_sender(body, problems)
    _check_subject(body, problems)
    _check_content(body, problems)
    _check_custom_args(body.get("custom_args"), "custom_args", problems)
    _check_categories(body, problems)
    _check_send_at(body, problems)
    return errors(400, *problems) if problems else None


def _valid_email(value: Any) -> bool:
    return isinstance(value, str) and bool(_EMAIL_RE.match(value))


def _check_address(obj: Any, field: str, problems: list[Problem]) -> None:
    if not isinstance(obj, dict) or not _valid_email(obj.get("email")):
        problems.append(("Does not contain a valid address.", f"{field}.email"))


def _check_custom_args(value: Any, field: str, problems: list[Problem]) -> None:
    if value is None:
        return
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(("Custom args must be an object whose values are strings.", field))
    elif len(json.dumps(value).encode()) >= MAX_CUSTOM_ARGS_BYTES:
        problems.append(("Custom args must be less than 10,000 bytes in total.", field))


def _check_personalizations(body: dict[str, Any], problems: list[Problem]) -> None:
    """Every personalization, then the recipients of all of them together."""
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.append(
            (
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
            )
        )
        return
    recipients = 0
    for i, personalization in enumerate(personalizations):
        recipients += _check_personalization(personalization, f"personalizations.{i}", problems)
    if recipients > MAX_RECIPIENTS:
        problems.append(
            (
                "The total number of recipients must be less than 1000. This includes all "
                "recipients defined within the to, cc, and bcc parameters, across each object "
                "that you include in the personalizations array.",
                "personalizations",
            )
        )


def _check_personalization(p: Any, field: str, problems: list[Problem]) -> int:
    """One personalization's recipients and custom args; how many recipients it names."""
    if not isinstance(p, dict):
        problems.append(("Each personalization must be an object.", field))
        return 0
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
    # SendGrid refuses an address met twice anywhere in to, cc and bcc of one personalization.
    seen: set[str] = set()
    recipients = 0
    for kind in ("to", "cc", "bcc"):
        entries = to if kind == "to" else p.get(kind) or []
        if not isinstance(entries, list):
            problems.append((f"The {kind} field must be an array.", f"{field}.{kind}"))
            continue
        _check_recipients(entries, f"{field}.{kind}", seen, problems)
        recipients += len(entries)
    _check_custom_args(p.get("custom_args"), f"{field}.custom_args", problems)
    return recipients


def _check_recipients(
    entries: list[Any], field: str, seen: set[str], problems: list[Problem]
) -> None:
    for j, address in enumerate(entries):
        _check_address(address, f"{field}.{j}", problems)
        email = address.get("email") if isinstance(address, dict) else None
        if isinstance(email, str):
            if email.lower() in seen:
                problems.append(
                    (
                        "Each email address in the personalization block should be "
                        "unique between to, cc, and bcc. We found the first duplicate "
                        f"instance of [{email}] in the {field} field.",
                        field,
                    )
                )
            seen.add(email.lower())


def _check_sender(body: dict[str, Any], problems: list[Problem]) -> None:
    """`from` and, when given, `reply_to`."""
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


def _check_subject(body: dict[str, Any], problems: list[Problem]) -> None:
    """A subject, unless a template or every personalization gives one."""
    templated = bool(body.get("template_id"))
    subject = body.get("subject")
    personalizations = body.get("personalizations")
    every_has_subject = (
        isinstance(personalizations, list)
        and bool(personalizations)
        and all(
            isinstance(p, dict) and isinstance(p.get("subject"), str) and p["subject"]
            for p in personalizations
        )
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


def _check_content(body: dict[str, Any], problems: list[Problem]) -> None:
    """The content blocks (optional with a template), text/plain first when present."""
    templated = bool(body.get("template_id"))
    content = body.get("content")
    if content is None and templated:
        return
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


def _check_categories(body: dict[str, Any], problems: list[Problem]) -> None:
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


def _check_send_at(body: dict[str, Any], problems: list[Problem]) -> None:
    send_at = body.get("send_at")
    if send_at is not None and (
        not isinstance(send_at, int) or send_at > time.time() + MAX_SEND_AT_AHEAD
    ):
        problems.append(("send_at must be a unix timestamp at most 72 hours ahead.", "send_at"))
