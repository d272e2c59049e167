"""Declared fields: one description of an input, used to validate forms and JSON and to write the
OpenAPI document, so the two cannot disagree."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from hub.core.normalize import normalize_email, normalize_phone, phone_extension
from hub.core.refusals import FieldError, ValidationError

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL
# What a column can hold when a field names no range of its own: INTEGER, and MONEY (14, 2).
INT_RANGE = (-(2**31), 2**31 - 1)
DECIMAL_LIMIT = 10**12

KINDS = ("str", "text", "int", "decimal", "date", "bool", "choice", "email", "phone", "url", "tags")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = "str"
    label: Any = None  # a lazy translated string for pages
    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    read_only: bool = False
    description: str = ""
    group: str = ""  # the heading a form shows it under
    extension: str = ""  # a phone's: the field that keeps an extension written after the number

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _clean_text(value: Any, f: Field) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise FieldError(f.name, _("Expected text."))
    text = str(value).strip()
    if CONTROL_CHARS.search(text):
        # A NUL cannot be stored by PostgreSQL, and the others are never typed on purpose.
        raise FieldError(f.name, _("Contains control characters."))
    if f.kind != "text":
        text = re.sub(r"\s+", " ", text)
    limit = f.max_length or (5000 if f.kind == "text" else 200)
    if len(text) > limit:
        raise FieldError(f.name, _("At most %(count)d characters.", count=limit))
    return text


def coerce(f: Field, value: Any, region: str = "CN") -> Any:
    """The stored value for one input, or FieldError saying what is wrong with it."""
    if f.kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "on", "yes"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("0", "false", "off", "no"):
            return False
        raise FieldError(f.name, _("Expected true or false."))
    if f.kind == "tags":
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise FieldError(f.name, _("Expected a list of tags."))
        if any(CONTROL_CHARS.search(t) for t in items):
            raise FieldError(f.name, _("Contains control characters."))
        tags = sorted({re.sub(r"\s+", " ", t).strip()[:50] for t in items if t.strip()})
        return tags
    if f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise FieldError(f.name, _("Expected a whole number."))
        try:
            number = int(str(value).strip().replace(",", ""))
        except ValueError:
            raise FieldError(f.name, _("Expected a whole number.")) from None
        _check_range(f, number)
        return number
    if f.kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise FieldError(f.name, _("Expected a number."))
        try:
            amount = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise FieldError(f.name, _("Expected a number.")) from None
        if not amount.is_finite():
            raise FieldError(f.name, _("Expected a number."))
        _check_range(f, float(amount))
        return amount.quantize(Decimal("0.01"))
    if f.kind == "date":
        if isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise FieldError(f.name, _("Expected a date like 2026-03-31."))
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise FieldError(f.name, _("Expected a date like 2026-03-31.")) from None
    text = _clean_text(value, f)
    if f.kind == "choice" and text not in f.choices:
        raise FieldError(f.name, _("Choose one of: %(choices)s.", choices=", ".join(f.choices)))
    if f.kind == "url" and not re.match(r"^https?://[^\s/$.?#].[^\s]*$", text, re.I):
        if re.match(r"^[\w.-]+\.[a-z]{2,}(/\S*)?$", text, re.I):
            text = "https://" + text
        else:
            raise FieldError(f.name, _("Expected a web address like https://example.com."))
    if f.kind in ("phone", "email"):
        try:
            stored = normalize_phone(text, region) if f.kind == "phone" else normalize_email(text)
        except FieldError as exc:
            raise FieldError(f.name, exc.message) from None
        if f.kind == "phone" and not f.extension and phone_extension(text):
            # Nowhere to keep it: refused rather than dropped.
            raise FieldError(
                f.name,
                _(
                    "%(value)s has an extension: give it to a contact, whose extension is kept.",
                    value=text,
                ),
            )
        return stored
    return text


def bounds(f: Field) -> tuple[float | None, float | None]:
    """The field's range: its own, else what its column can store."""
    if f.kind == "int":
        low, high = INT_RANGE
    elif f.kind == "decimal":
        low, high = -DECIMAL_LIMIT + 0.01, DECIMAL_LIMIT - 0.01
    else:
        return f.minimum, f.maximum
    return (
        f.minimum if f.minimum is not None else low,
        f.maximum if f.maximum is not None else high,
    )


def _check_range(f: Field, number: float) -> None:
    minimum, maximum = bounds(f)
    if minimum is not None and number < minimum:
        raise FieldError(f.name, _("At least %(minimum)s.", minimum=minimum))
    if maximum is not None and number > maximum:
        raise FieldError(f.name, _("At most %(maximum)s.", maximum=maximum))


def parse(
    fields: Sequence[Field],
    data: Mapping[str, Any],
    partial: bool = False,
    prefix: str = "",
    region: str = "CN",
) -> dict[str, Any]:
    """Validate `data` against `fields`; returns clean values, or raises every error at once.

    With `partial` (an update), only the keys present are read and required ones may be absent;
    a blank value clears a field that is not required.
    """
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for f in fields:
        if f.read_only:
            continue
        present = f.name in data
        if partial and not present:
            continue
        value = data.get(f.name)
        if _blank(value) or (f.kind == "tags" and value == []):
            if f.required:
                errors.append(FieldError(prefix + f.name, _("This field is required.")))
            elif present:
                clean[f.name] = [] if f.kind == "tags" else None
            continue
        try:
            clean[f.name] = coerce(f, value, region)
        except FieldError as exc:
            errors.append(FieldError(prefix + exc.field, exc.message))
    for f in fields:
        # "010-6552 9988 转 123": the number in E.164, the extension in its own field unless one
        # was given there; a number sent without one clears the old number's.
        if f.extension and f.name in clean and _blank(data.get(f.extension)):
            number = clean[f.name]
            clean[f.extension] = phone_extension(str(data[f.name])) if number else None
    if errors:
        raise ValidationError(errors)
    return clean


def unknown_keys(
    fields: Sequence[Field], data: Mapping[str, Any], allowed: Sequence[str] = ()
) -> None:
    """Refuse keys no field declares, so a typo is an error rather than silently ignored."""
    known = {f.name for f in fields} | set(allowed)
    extra = sorted(k for k in data if k not in known)
    if extra:
        raise ValidationError([FieldError(k, _("Unknown field.")) for k in extra])


_OPENAPI_TYPES: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "text": {"type": "string"},
    "int": {"type": "integer"},
    "decimal": {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"},
    "date": {"type": "string", "format": "date"},
    "bool": {"type": "boolean"},
    "choice": {"type": "string"},
    "email": {"type": "string", "format": "email"},
    "phone": {"type": "string", "description": "Any common format; stored as E.164"},
    "url": {"type": "string", "format": "uri"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 50}},
}


def openapi_schema(fields: Sequence[Field], for_output: bool = False) -> dict[str, Any]:
    """A JSON Schema object (OpenAPI 3.1) for the fields, as input or as output."""
    props: dict[str, Any] = {}
    required = []
    for f in fields:
        if f.read_only and not for_output:
            continue
        schema = dict(_OPENAPI_TYPES[f.kind])
        if f.kind == "decimal" and not for_output:
            schema = {"type": ["number", "string"]}
        if f.choices:
            schema["enum"] = list(f.choices)
        if f.max_length:
            schema["maxLength"] = f.max_length
        minimum, maximum = bounds(f)
        if minimum is not None:
            schema["minimum"] = minimum
        if maximum is not None:
            schema["maximum"] = maximum
        if f.description:
            schema["description"] = f.description
        if f.read_only:
            schema["readOnly"] = True
        if not f.required:
            schema = {"anyOf": [schema, {"type": "null"}]} if for_output else schema
        props[f.name] = schema
        if f.required and not f.read_only:
            required.append(f.name)
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required and not for_output:
        out["required"] = required
    if not for_output:
        out["additionalProperties"] = False
    return out
