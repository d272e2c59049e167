"""Template filters for values people read."""

from __future__ import annotations

import phonenumbers
from flask import Flask


def phone_display(e164: str | None) -> str:
    """'+8613800138000' as '+86 138 0013 8000'; anything unparsable is shown as stored."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def init_app(app: Flask) -> None:
    app.add_template_filter(phone_display, "phone")
