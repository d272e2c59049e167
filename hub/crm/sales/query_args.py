"""The query arguments the sales and service lists of /api/v1 share: search, dates, yes/no and
choices, each refused naming its argument."""

from __future__ import annotations

from datetime import date

from flask import request
from flask_babel import gettext as _

from hub.core.apikit import LIST_QUERY
from hub.core.refusals import FieldError, ValidationError


def list_query(search: str) -> tuple[tuple[str, str, str], ...]:
    """The paging arguments every list takes, with what its `q` searches."""
    return (("q", "string", search), *LIST_QUERY[1:])


def query_date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError([FieldError(name, _("Expected a date like 2026-03-31."))]) from None


def query_bool(name: str) -> bool | None:
    raw = request.args.get(name, "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no"):
        return False
    raise ValidationError([FieldError(name, _("Expected true or false."))])


def query_choice(name: str, choices: tuple[str, ...] | list[str]) -> str | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if raw not in choices:
        raise ValidationError(
            [FieldError(name, _("Choose one of: %(choices)s.", choices=", ".join(choices)))]
        )
    return raw


# The route modules attach their endpoints to `bp`; importing them here registers them with it.
