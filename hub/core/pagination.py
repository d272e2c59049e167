"""Numbered pages over a select, for lists people browse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import Session

PER_PAGE = 25
MAX_PER_PAGE = 200


def page_arg() -> int:
    """The `page` query argument of the current request; anything that is not a page is page 1."""
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(db: Session, stmt: sa.Select[Any], number: int = 1, per_page: int = PER_PAGE) -> Page:
    """One page of `stmt` (which must be ordered) and the total it pages over."""
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    total = db.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    number = min(max(1, number), max(1, -(-total // per_page)))
    items = list(db.scalars(stmt.limit(per_page).offset((number - 1) * per_page)))
    return Page(items=items, total=total, number=number, per_page=per_page)


def paginate_by_id(
    db: Session,
    stmt: sa.Select[Any],
    model: Any,
    number: int = 1,
    per_page: int = PER_PAGE,
    options: tuple[Any, ...] = (),
) -> Page:
    """`paginate` for wide tables: the page's ids first (a deep offset walks only the sort
    index), then those rows. A filtered list takes its total from the same statement
    (count(*) OVER ()), so a search is scanned once rather than twice."""
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    number = max(1, number)
    filtered = stmt.whereclause is not None

    def count() -> int:
        return (
            db.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
        )

    def page_rows(n: int) -> list[Any]:
        total = sa.func.count().over() if filtered else sa.literal(None)
        ids = stmt.with_only_columns(model.id, total)
        return list(db.execute(ids.limit(per_page).offset((n - 1) * per_page)))

    total = None if filtered else count()
    if total is not None:
        number = min(number, max(1, -(-total // per_page)))
    rows = page_rows(number)
    if filtered and rows:
        total = rows[0][1]
    elif filtered:  # past the last page, or no match: count, then show the last page
        total = count()
        number = max(1, -(-total // per_page))
        rows = page_rows(number) if total else []
    ids = [r[0] for r in rows]
    by_id = {
        m.id: m for m in db.scalars(sa.select(model).where(model.id.in_(ids)).options(*options))
    }
    return Page(items=[by_id[i] for i in ids], total=total or 0, number=number, per_page=per_page)
