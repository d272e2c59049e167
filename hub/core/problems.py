"""Problems kept for later readers: a code and its parameters, worded in the reader's language.

A row refused by an import is read hours later, perhaps by someone who reads Chinese although the
job ran in English. So what is stored is the code (`phone_invalid`) and its parameters
(`{"value": "12345"}`); the words come from here when the report is shown or downloaded. Text
stored before codes existed is shown as it was written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from hub.core.refusals import FieldError

PROBLEMS = {
    "phone_not_a_number": _l("%(value)s is not a phone number."),
    "phone_invalid": _l("%(value)s is not a valid phone number."),
    "email_invalid": _l("%(value)s is not a valid email address."),
    "too_long": _l("At most %(count)d characters."),
    "no_name": _l("No customer name and no contact person: the row has no name at all."),
}


def problem_text(code: str | None, params: Mapping[str, Any] | None, stored: str = "") -> str:
    """The problem in the current language; `stored` (the old plain text) for an unknown code."""
    template = PROBLEMS.get(code or "")
    if template is None:
        return stored
    try:
        return str(template) % dict(params or {})
    except (KeyError, TypeError, ValueError):
        return stored or str(template)


def problem(field: str, code: str, **params: Any) -> FieldError:
    """A FieldError worded now (for an answer right away) that also carries its code."""
    return FieldError(field, problem_text(code, params), code=code, params=params)


def dump(errors: Iterable[FieldError]) -> str:
    """A row's problems as one JSON cell: [{"field", "code", "params", "text"}, ...]."""
    return json.dumps(
        [
            {"field": e.field, "code": e.code, "params": e.params or {}, "text": e.message}
            for e in errors
        ],
        ensure_ascii=False,
    )


def load(cell: str) -> list[dict[str, Any]] | None:
    """The problems `dump` wrote, or None for a cell written as plain text before."""
    if not cell.startswith("[{"):
        return None
    try:
        items = json.loads(cell)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    return items


def render(cell: str) -> str:
    """A stored cell of problems as "column: problem; column: problem" in the current language."""
    items = load(cell)
    if items is None:
        return cell
    return "; ".join(
        f"{i.get('field', '')}: {problem_text(i.get('code'), i.get('params'), str(i.get('text', '')))}"
        for i in items
    )
