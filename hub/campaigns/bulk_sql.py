"""Statements over a whole batch at once. On PostgreSQL a batch travels as one JSON text
parameter, expanded server-side (`hub.core.bulk.one_of` for id lists): a thousand-item IN list or a VALUES list of thousands of
parameters costs more to compile and parse than to run, and so does an array parameter (psycopg
writes one element at a time in Python); `json.dumps` writes the whole batch in C. SQLite takes
the plain forms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()  # aware datetimes keep their offset: timestamptz reads it
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def as_json(value: Any) -> str:
    """A batch as one JSON text for the statements below."""
    return json.dumps(value, default=_iso, separators=(",", ":"))


def insert_ignoring_conflicts(
    db: Session, table: sa.Table, rows: Sequence[dict[str, Any]], unique: list[str]
) -> None:
    """Insert rows (all with the same keys); one that clashes on `unique` is left alone."""
    if not rows:
        return
    if db.get_bind().dialect.name != "postgresql":
        db.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=unique), list(rows))
        return
    # The table's own row type reads the JSON objects. Names come from the table, never from input.
    names = ", ".join(table.c[name].name for name in rows[0])
    db.execute(
        sa.text(
            f"INSERT INTO {table.name} ({names}) SELECT {names}"  # noqa: S608
            f" FROM json_populate_recordset(NULL::{table.name}, CAST(:rows AS json))"
            f" ON CONFLICT ({', '.join(table.c[name].name for name in unique)}) DO NOTHING"
        ),
        {"rows": as_json(list(rows))},
    )
