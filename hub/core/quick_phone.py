"""A fast layer in front of hub.core.normalize.normalize_phone for the spellings an import sees most.

Parsing a number with `phonenumbers` costs about 35 µs; an import of a million rows parses more
than a million numbers. Most are Chinese mobiles in a handful of spellings ("138 0013 8000",
"+86 138-0013-8000", "8613800138000", "0086 13800138000", full-width digits already made
half-width) and landlines ("0755-81234567"): those are read here with a regular expression and
checked against the mobile or fixed-line pattern of libphonenumber's own metadata. Anything else, and any number the pattern does not
accept, goes to normalize_phone unchanged, so `phonenumbers` stays the judge of what is valid;
answers are cached for numbers a file repeats.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber

from hub.core.normalize import normalize_phone

# An optional country code (+86, 0086, 86), then 1 and ten digits, in groups of 3-4-4 separated
# by nothing, one space or one dash. Only ASCII digits: the caller has made the text half-width.
_CN_MOBILE = re.compile(r"(?:(?:\+86|0086|86)[ -]?)?(1[0-9]{2})[ -]?([0-9]{4})[ -]?([0-9]{4})")
# A landline: the trunk 0, an area code of two or three digits, a dash or a space or nothing,
# seven or eight digits ("0755-8123 4567" and anything else goes to phonenumbers).
_CN_LANDLINE = re.compile(r"0([0-9]{2,3})[ -]?([0-9]{7,8})")
_CN = phonenumbers.PhoneMetadata.metadata_for_region("CN")
assert _CN is not None and _CN.mobile is not None  # noqa: S101 - shipped with phonenumbers
assert _CN.fixed_line is not None  # noqa: S101
_CN_MOBILE_PATTERN = re.compile(_CN.mobile.national_number_pattern)
_CN_ANY_PATTERN = re.compile(_CN.general_desc.national_number_pattern)
_CN_FIXED_PATTERN = re.compile(_CN.fixed_line.national_number_pattern)
CACHE_SIZE = 1 << 16


def quick_phone(text: str, region: str) -> str:
    """normalize_phone(text, region), faster for Chinese mobiles and landlines (region CN):
    E.164, or the FieldError normalize_phone raises."""
    if region == "CN":
        m = _CN_MOBILE.fullmatch(text)
        if m is not None:
            national = m.group(1) + m.group(2) + m.group(3)
            if _CN_MOBILE_PATTERN.fullmatch(national):
                # A national number matching the mobile pattern is a valid number (its type is
                # not UNKNOWN): exactly what normalize_phone would return.
                return "+86" + national
        m = _CN_LANDLINE.fullmatch(text)
        if m is not None:
            national = m.group(1) + m.group(2)
            if _CN_ANY_PATTERN.fullmatch(national) and _CN_FIXED_PATTERN.fullmatch(national):
                # Likewise a fixed-line number once the trunk 0 is dropped, as parsing drops it.
                return "+86" + national
    return _cached_normalize(text, region)


@lru_cache(maxsize=CACHE_SIZE)
def _cached_normalize(text: str, region: str) -> str:
    # Only answers are cached: a FieldError propagates (lru_cache keeps no exceptions).
    return normalize_phone(text, region)


@lru_cache(maxsize=CACHE_SIZE)
def quick_is_mobile(e164: str) -> bool:
    """hub.crm.intake.cleaning.is_mobile without parsing the text again: the number is E.164 already."""
    number = phonenumbers.parse(e164) if not e164.startswith("+86") else _cn_number(e164)
    kind = phonenumbers.number_type(number)
    return kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def _cn_number(e164: str) -> PhoneNumber:
    national = e164[3:]
    if not national.isdigit() or national.startswith("0"):
        return phonenumbers.parse(e164)
    return PhoneNumber(country_code=86, national_number=int(national))
