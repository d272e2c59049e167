"""What every /api/v1 endpoint shares: JSON bodies, serialization, keyset lists and the OpenAPI
document, which is built from the same declared fields the endpoints validate with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import MAX_ID, Field, openapi_schema

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 422 naming the body."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(
            [FieldError("body", _("Send a JSON object with Content-Type: application/json."))]
        )
    return data


def to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def serialize(obj: Any, fields: Sequence[Field], **extra: Any) -> dict[str, Any]:
    out = {}
    for f in fields:
        if f.kind == "tags":
            out[f.name] = [t.name for t in getattr(obj, f.name)]
        else:
            out[f.name] = to_json(getattr(obj, f.name))
    out.update(extra)
    return out


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError([FieldError(name, _("Expected a whole number."))]) from None
    if not low <= value <= high:
        raise ValidationError(
            [FieldError(name, _("Expected a number from %(low)d to %(high)d.", low=low, high=high))]
        )
    return value


def query_int(name: str) -> int | None:
    """An id given in the query string, or None; 422 naming it when it is not one."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError([FieldError(name, _("Expected a whole number."))])
    if not 0 < int(raw) <= MAX_ID:
        raise ValidationError(
            [FieldError(name, _("Expected a number from %(low)d to %(high)d.", low=1, high=MAX_ID))]
        )
    return int(raw)


def keyset_page(
    db: Session,
    stmt: sa.Select[Any],
    id_column: Any,
    endpoint: str,
    serialize_row: Callable[[Any], dict[str, Any]],
    prepare: Callable[[list[Any]], None] | None = None,
    **url_args: Any,
) -> dict[str, Any]:
    """`{"items": [...], "next": URL or null}`, in id order, `limit` at a time after `after`.

    Keyset paging stays fast on any page and never skips or repeats a row while others are added.
    `prepare` is given the page's rows before they are serialized, to read what they need for
    the whole page in one statement.
    """
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT
    after = _int_arg("after", None, 0, MAX_ID)
    if after is not None:
        stmt = stmt.where(id_column > after)
    rows = list(db.scalars(stmt.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if prepare is not None:
        prepare(rows)
    next_url = None
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        args.update(url_args)
        next_url = url_for(endpoint, **{**args, "after": rows[-1].id}, _external=True)
    return {"items": [serialize_row(r) for r in rows], "next": next_url}


# --- the OpenAPI document -----------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI style: /customers/{id}
    summary: str
    tag: str
    body: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    status: int = 200
    list_of: bool = False
    query: tuple[tuple[str, str, str], ...] = ()  # (name, type, description)
    roles: str = "any signed-in role"
    body_type: str = "application/json"  # multipart/form-data for a file upload
    response_type: str = "application/json"  # text/csv for a file
    errors: tuple[int, ...] = ()  # answers the rules below do not infer (409 from an undo)


OPERATIONS: list[Operation] = []
LIST_QUERY = (
    (
        "q",
        "string",
        "Search text, as in the search box (name, company, email, phone in any format)",
    ),
    ("limit", "integer", f"Items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
    ("after", "integer", "Return items after this id (use the `next` URL rather than building it)"),
)


def document(
    method: str,
    path: str,
    summary: str,
    tag: str,
    *,
    body: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    status: int = 200,
    list_of: bool = False,
    query: Sequence[tuple[str, str, str]] = (),
    roles: str = "any signed-in role",
    body_type: str = "application/json",
    response_type: str = "application/json",
    errors: Sequence[int] = (),
) -> None:
    OPERATIONS.append(
        Operation(
            method.lower(),
            path,
            summary,
            tag,
            body,
            response,
            status,
            list_of,
            tuple(query),
            roles,
            body_type,
            response_type,
            tuple(errors),
        )
    )


def fields_schema(fields: Sequence[Field], output: bool = False, **extra: Any) -> dict[str, Any]:
    schema = openapi_schema(fields, for_output=output)
    schema["properties"].update(extra)
    return schema


def _problem_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for op in OPERATIONS:
        params = [
            {"name": n, "in": "query", "required": False, "schema": {"type": t}, "description": d}
            for n, t, d in op.query
        ]
        params += [
            {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            for name in _path_params(op.path)
        ]
        response_schema = op.response or {"type": "object"}
        if op.list_of:
            response_schema = {
                "type": "object",
                "required": ["items", "next"],
                "properties": {
                    "items": {"type": "array", "items": response_schema},
                    "next": {"anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]},
                },
            }
        responses: dict[str, Any] = {
            str(op.status): {
                "description": "OK" if op.status < 300 else "Done",
                **(
                    {"content": {op.response_type: {"schema": response_schema}}}
                    if op.status != 204
                    else {}
                ),
            },
            "401": {"description": "No valid token", "content": problem},
            "403": {"description": "The role may not do this", "content": problem},
        }
        if op.body is not None or op.query or 422 in op.errors:
            responses["422"] = {
                "description": "A field is not right (one entry per field)",
                "content": problem,
            }
        if "{" in op.path or op.body is not None or op.query:
            responses["404"] = {
                "description": "Not found: the record, or one that the request names",
                "content": problem,
            }
        if op.body is not None or 409 in op.errors:
            responses["409"] = {
                "description": "Clashes with what is stored; the detail says how",
                "content": problem,
            }
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": [op.tag],
            "responses": responses,
            "description": f"Roles: {op.roles}.",
        }
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {op.body_type: {"schema": op.body}},
            }
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Contact Hub API", "version": "1"},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": _problem_schema()},
        },
        "paths": paths,
    }


def _path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]
