"""Numbered pages over a select, for lists people browse."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

PER_PAGE = 25
MAX_PER_PAGE = 200


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
