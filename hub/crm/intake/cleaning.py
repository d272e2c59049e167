"""Cleaning what spreadsheets and web forms carry: text, phone lists, emails, company keys."""

from __future__ import annotations

import re

import phonenumbers

from hub.core.normalize import halfwidth, normalize_email, normalize_phone, phone_extension
from hub.core.problems import problem
from hub.core.quick_phone import quick_phone
from hub.core.refusals import FieldError

_SPACES = re.compile(r"\s+")  # Unicode whitespace: ideographic and no-break spaces too
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What people put between two numbers in one cell: "138 0013 8000 / 010-8888 6666", "、", "；".
_PHONE_SEPARATORS = re.compile(r"[/;,|、\n]+|\s{2,}")
# Legal forms, longest first, so 股份有限公司 goes before 有限公司 and "co ltd" before "co".
_SUFFIXES_ZH = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "集团公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "厂",
)
_SUFFIXES_EN = (
    "corporation",
    "incorporated",
    "company",
    "limited",
    "group",
    "corp",
    "gmbh",
    "ltd",
    "llc",
    "inc",
    "plc",
    "co",
)
_SUFFIX_RE = re.compile(
    # Latin suffixes stand alone ("co" ends "Acme Co." but not "Costco"), even right after Chinese.
    r"(?:(?<![a-z0-9])(?:" + "|".join(_SUFFIXES_EN) + r")(?![a-z0-9])[\W_]*)+$"
    r"|(?:" + "|".join(_SUFFIXES_ZH) + r")+$"
)
_NOT_WORD = re.compile(r"[\W_]+")


def clean_text(value: object) -> str:
    """Half-width characters, no control characters, whitespace trimmed and collapsed to one space."""
    if value is None:
        return ""
    text = _CONTROL.sub(" ", halfwidth(str(value)))
    return _SPACES.sub(" ", text).strip()


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: 13800138000.0 from a numeric cell is 13800138000."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(value)


def split_phones(raw: str, region: str) -> list[str]:
    """Every phone number in one cell, as E.164, in the order written, without repeats.

    "138 0013 8000 / (010) 8888-6666" gives two numbers. A part that is not a number raises a
    FieldError naming it: a cell is never half understood.
    """
    text = halfwidth(raw or "").strip()
    if not text:
        return []
    numbers: list[str] = []
    for part in _PHONE_SEPARATORS.split(text):
        part = part.strip()
        if not part:
            continue
        try:
            found = [quick_phone(part, region)]
        except FieldError:
            found = _space_separated(part, region)
            if not found:
                raise problem("phone", "phone_invalid", value=part) from None
        numbers.extend(n for n in found if n not in numbers)
    return numbers


def phone_extensions(raw: str, region: str) -> dict[str, str]:
    """{E.164: extension} for the numbers of a cell written with one ("010-6552 9988 转 123")."""
    found: dict[str, str] = {}
    for part in _PHONE_SEPARATORS.split(halfwidth(raw or "")):
        ext = phone_extension(part)
        if ext:
            try:
                found[normalize_phone(part, region)] = ext
            except FieldError:
                continue  # split_phones names the part that is not a number
    return found


def _space_separated(part: str, region: str) -> list[str]:
    # "13800138000 01088886666": two whole numbers separated by one space.
    tokens = part.split()
    if len(tokens) < 2:
        return []
    try:
        return [quick_phone(t, region) for t in tokens]
    except FieldError:
        return []


def is_mobile(e164: str) -> bool:
    """A mobile number (by the numbering plan), as opposed to a landline."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def clean_email(raw: str) -> str | None:
    """The address as stored (domain lower-cased), None for an empty cell; FieldError if invalid."""
    text = clean_text(raw)
    if not text:
        return None
    return normalize_email(text.replace(" ", ""))


def email_key(email: str | None) -> str | None:
    """Emails are compared without regard to case."""
    return email.lower() if email else None


def company_key(name: str) -> str:
    """A comparison key: no legal suffix, no punctuation or spaces, lower case.

    "深圳市华强电子有限公司", "深圳市华强电子（有限公司）" and "深圳市华强电子 Co., Ltd." share a key.
    """
    text = clean_text(name).lower()
    text = text.replace("(", " ").replace(")", " ").replace("&", " and ")
    previous = None
    while previous != text:
        previous = text
        text = _SUFFIX_RE.sub("", text.strip(" .,-")).strip()
    key = _NOT_WORD.sub("", text)
    # A name that is nothing but a suffix ("有限公司") keeps its own key rather than an empty one.
    return key or _NOT_WORD.sub("", clean_text(name).lower())


_PLACE_WORDS = ("省", "市", "区", "县")


def match_block(key: str, city: str | None) -> str:
    """Two characters of a company key after its city's name ("深圳市华强电子" in 深圳: "华强"):
    companies compared for likely duplicates share a city and this block."""
    rest = key
    place = company_key(city).rstrip("".join(_PLACE_WORDS)) if city else ""
    if place and rest.startswith(place):
        rest = rest[len(place) :]
        while rest[:1] in _PLACE_WORDS and len(rest) > 1:
            rest = rest[1:]
    return rest[:2]
