"""Writing many new rows at once (COPY on PostgreSQL, a multi-row INSERT elsewhere), and
matching many keys at once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Session


def _complete(table: sa.Table, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    # COPY applies no Python-side defaults: fill the scalar ones (customer_class "C", region "").
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.default is not None and c.default.is_scalar and c.name not in rows[0]
    }
    return [{**defaults, **r} for r in rows]


def insert_rows(
    db: Session, table: sa.Table, rows: Sequence[dict[str, Any]], return_ids: bool = False
) -> list[int]:
    """Insert `rows` (dicts with the same keys) in the session's transaction; with `return_ids`,
    their new ids in order. On PostgreSQL the ids are taken from the table's sequence first and
    the rows sent with COPY, many times faster than INSERT for an import's thousands of rows."""
    if not rows:
        return []
    full = _complete(table, rows)
    conn = db.connection()
    if conn.dialect.name != "postgresql":
        if not return_ids:
            db.execute(table.insert(), full)
            return []
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        return list(db.scalars(stmt, full))
    ids: list[int] = []
    if return_ids:
        ids = list(
            db.scalars(
                sa.text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": len(full)},
            )
        )
        full = [{"id": i, **r} for i, r in zip(ids, full, strict=True)]
    columns = list(full[0])
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    raw = conn.connection.driver_connection
    names = ", ".join(f'"{c}"' for c in columns)
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for r in full:
            copy.write_row([json.dumps(r[c]) if c in json_columns else r[c] for c in columns])
    return ids


def prefer_btree_lookups(db: Session) -> None:
    """For the rest of this transaction, look keys up through btree indexes.

    PostgreSQL would answer `phone IN (...500 numbers)` from the trigram index kept for search
    (GIN, which only bitmap scans can use): every number shares trigrams with thousands of
    others, and one chunk's lookup took seconds instead of milliseconds.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.text("SET LOCAL enable_bitmapscan = off"))


def one_of(
    db: Session, column: sa.ColumnElement[Any], values: Iterable[Any]
) -> sa.ColumnElement[bool]:
    """`column IN (values)`. On PostgreSQL the values travel as one JSON text expanded
    server-side: thousands of keys as parameters (or as an array, which psycopg writes one element
    at a time in Python) cost more to render and parse than the statement costs to run."""
    values = list(values)
    if db.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    # lower(email) has no type of its own; it is text.
    item = sa.Text() if isinstance(column.type, sa.types.NullType) else column.type
    elements = sa.func.json_array_elements_text(
        sa.cast(sa.bindparam(None, json.dumps(values, default=str), type_=sa.Text), JSON)
    ).table_valued("value")
    return column.in_(sa.select(sa.cast(elements.c.value, item)))
