"""Phone numbers, emails and names as stored: one spelling for one thing."""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from hub.core.problems import problem
from hub.core.refusals import FieldError


def halfwidth(text: str) -> str:
    """Full-width digits, letters and punctuation (１３８, ＠) as their plain forms."""
    return unicodedata.normalize("NFKC", text)


# An extension written after the number: "转 123", "分机 8", "ext. 45", "x45", "#45", "(转123)".
_EXTENSION = re.compile(
    r"[\s,;(]*(?:转|分机|内线|ext\.?|extension|x|#)\s*[:.]?\s*(\d{1,6})\s*\)?\s*$", re.I
)


def split_extension(text: str) -> tuple[str, str | None]:
    """(the number, its extension or None): "010-6552 9988 转 123" is ("010-6552 9988", "123")."""
    text = halfwidth(text).strip()
    match = _EXTENSION.search(text)
    if match is None or not re.search(r"\d", text[: match.start()]):
        return text, None
    return text[: match.start()].strip(), match.group(1)


def phone_extension(raw: str) -> str | None:
    """The extension written after a phone number, if any (the number itself is not checked)."""
    return split_extension(raw)[1]


def normalize_phone(raw: str, region: str, field: str = "phone") -> str:
    """E.164 for a number in any common format; `region` is used when no country code is given.

    "138 0013 8000", "+86 138-0013-8000" and "8613800138000" (region CN) are all +8613800138000.
    An extension ("转 123", "ext. 45") is understood and left out: `phone_extension` reads it.
    A FieldError names `field`.
    """
    text = split_extension(raw)[0]
    digits = re.sub(r"\D", "", text)
    if not digits:
        raise problem(field, "phone_not_a_number", value=raw)
    candidates = [text]
    if not text.startswith("+"):
        # A country code written without "+" or "00" (8613800138000) is common in exports.
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise problem(field, "phone_invalid", value=raw)


def provider_number(raw: str, region: str) -> str:
    """A number a provider sent (a webhook's From or To): E.164 when it is a phone number,
    else as sent, for what is not one and cannot be refused (a short code, an alphanumeric
    sender, "anonymous" for a withheld caller id)."""
    try:
        return normalize_phone(raw, region)
    except FieldError:
        return raw.strip()


def phone_search_key(query: str, region: str) -> str | None:
    """The E.164 form of a search text that is a phone number, else None."""
    if len(re.sub(r"\D", "", halfwidth(query))) < 6:
        return None
    try:
        return normalize_phone(query, region)
    except FieldError:
        return None


def normalize_email(raw: str) -> str:
    """A valid address with its domain lower-cased (the local part is the owner's to spell)."""
    text = halfwidth(raw).strip()
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise problem("email", "email_invalid", value=raw) from None
    # email-validator lower-cases the local part too; the owner's spelling of it is kept.
    local = unicodedata.normalize("NFC", text.rsplit("@", 1)[0])
    return f"{local}@{info.domain.lower()}"
