"""What the sales and money APIs (opportunities, orders, complaints, receivables, credit) repeat
around their service calls: query arguments, the documented keyset list, and the answer after a
write, which is always committed first and then read back as a later GET would see it.

It registers nothing itself (the route modules document and route), so importing it from any of
them leaves the order of the OpenAPI document's operations as their own imports make it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Response, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core import db
from hub.core.apikit import LIST_QUERY, document, json_body, keyset_page
from hub.core.auth import User, require_user
from hub.core.refusals import FieldError, ValidationError

T = TypeVar("T")
QueryArg = tuple[str, str, str]  # name, OpenAPI type, description


def list_query(search: str) -> tuple[QueryArg, ...]:
    """The paging arguments every list takes, with what its `q` searches."""
    return (("q", "string", search), *LIST_QUERY[1:])


def document_list(
    path: str,
    summary: str,
    tag: str,
    response: dict[str, Any],
    filters: Sequence[QueryArg],
    search: str | None = None,
) -> None:
    """Document a keyset list of `response` items: paging (and `q`, when it searches), then `filters`."""
    paging = list_query(search) if search is not None else LIST_QUERY[1:]
    document("get", path, summary, tag, response=response, list_of=True, query=(*paging, *filters))


def list_page(
    stmt: sa.Select[Any], id_column: Any, endpoint: str, to_json: Callable[[Any], dict[str, Any]]
) -> Response:
    """One keyset page of `stmt` in the list envelope: `{"items": [...], "next": URL or null}`."""
    return jsonify(keyset_page(db.session(), stmt, id_column, endpoint, to_json))


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


def committed(
    record: T, to_json: Callable[[T], dict[str, Any]], status: int = 200
) -> tuple[Response, int]:
    """Commit the request's work, then answer with `record` as it is now stored."""
    db.session().commit()
    return jsonify(to_json(record)), status


def created(
    record: T,
    to_json: Callable[[T], dict[str, Any]],
    endpoint: str,
    id_arg: str,
    located: Any = None,
) -> tuple[Response, int, dict[str, str]]:
    """Commit, then 201 with `record` and a Location: `endpoint` with `located` (by default the
    record itself) as `id_arg`. The id is read after the commit, whose flush may be what gives it
    one."""
    db.session().commit()
    location = url_for(endpoint, **{id_arg: (record if located is None else located).id})
    return jsonify(to_json(record)), 201, {"Location": location}


def changed(
    record: T,
    change: Callable[[Session, User, T, dict[str, Any]], object],
    to_json: Callable[[T], dict[str, Any]],
    status: int = 200,
) -> tuple[Response, int]:
    """Apply `change` with the request's JSON body to `record` (already loaded, so that a 404 or
    403 comes before a complaint about the body), commit, and answer with the record."""
    change(db.session(), require_user(), record, json_body())
    return committed(record, to_json, status)


def deleted(record: T, delete: Callable[[Session, User, T], object]) -> tuple[str, int]:
    """Delete `record` through its service function, commit, and answer 204."""
    s = db.session()
    delete(s, require_user(), record)
    s.commit()
    return "", 204
