"""The simulator's checks of Twilio API requests, worded as Twilio words them: numbers, senders,
the Messages and Calls forms; and Twilio's error body."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

from hub.simulator.http_parts import Reply

MAX_BODY_CHARS = 1600
MAX_TWIML_CHARS = 4000


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


def valid_number(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def valid_sender(value: str) -> bool:
    """A phone number, or an alphanumeric sender ID (1 to 11 letters, digits, spaces)."""
    if value.startswith("+"):
        return valid_number(value)
    return bool(re.fullmatch(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}", value))


def form_value(value: Any) -> str:
    """A form value given once (the repeated ones are lists); the first when repeated."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


def form_values(value: Any) -> list[str]:
    """A form value that may be repeated (MediaUrl, StatusCallbackEvent), as a list."""
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def check_message(to: str, sender: str, service: str, body: str, media: list[str]) -> Reply | None:
    """The first problem Twilio finds in a Messages form, or None."""
    if not to:
        return error(400, 21604, "A 'To' phone number is required.")
    if not valid_number(to):
        return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender and not service:
        return error(400, 21603, "A 'From' phone number is required.")
    if sender and not valid_sender(sender):
        return error(400, 21212, f"The 'From' number {sender} is not a valid phone number.")
    if not body and not media:
        return error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY_CHARS:
        return error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    return None


def check_call(to: str, sender: str, url: str, twiml: str) -> Reply | None:
    """The first problem Twilio finds in a Calls form, or None."""
    if not to:
        return error(400, 21201, "No 'To' number is specified")
    if not (to.startswith(("client:", "sip:")) or valid_number(to)):
        return error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender:
        return error(400, 21213, "No 'From' number is specified")
    if not (sender.startswith("client:") or valid_number(sender)):
        return error(400, 21212, f"The 'From' number {sender} is not a valid phone number.")
    if not url and not twiml:
        return error(400, 21205, "Url parameter is required.")
    if url and not url.startswith(("http://", "https://")):
        return error(400, 21205, f"Url is not a valid URL: {url}")
    if len(twiml) > MAX_TWIML_CHARS:
        return error(400, 32018, "Twiml size exceeded maximum allowed value of 4000 characters")
    return None
