"""/api/v1 for opportunities, orders and complaints: the same service functions as the pages.

The routes live in `opportunity_api`, `order_api` and `complaint_api`, which hang them on this
blueprint; the query-argument helpers they share are here.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, request
from flask_babel import gettext as _

from hub.apikit import LIST_QUERY
from hub.validation import FieldError, ValidationError

bp = Blueprint("sales_api", __name__, url_prefix="/api/v1")


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
from hub.crm import complaint_api, opportunity_api, order_api  # noqa: E402, F401
