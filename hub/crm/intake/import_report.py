"""What an import did with each row of its file: stored a chunk at a time as the rows go in, read
back a page at a time (by outcome) for the run's page, and streamed whole as the report CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, sessionmaker

from hub.core.bulk import insert_rows
from hub.core.cells import neutralize
from hub.core.pagination import Page, paginate
from hub.core.problems import problem_text
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.models import Customer
from hub.crm.intake.import_models import ROW_OUTCOMES, ImportRowOutcome
from hub.crm.intake.import_rows import ImportRow

PER_PAGE = 50
BATCH = 5000  # rows of the report CSV read per statement


def refused_outcome(run_id: int, number: int, errors: Sequence[FieldError]) -> dict[str, Any]:
    """The stored outcome of a refused row: its problems as parse_row found them."""
    return {
        "run_id": run_id,
        "row": number,
        "outcome": "refused",
        "customer_id": None,
        # The code and its parameters word the problem in the reader's language later on.
        "problems": [
            {"field": e.field, "message": e.message, "code": e.code, "params": e.params or {}}
            for e in errors
        ],
    }


def applied_outcomes(
    run_id: int, rows: Sequence[ImportRow], applied: Sequence[tuple[str, int]]
) -> list[dict[str, Any]]:
    """The stored outcomes of the rows apply_rows took, each with its customer."""
    return [
        {
            "run_id": run_id,
            "row": row.number,
            "outcome": outcome,
            "customer_id": customer_id,
            "problems": None,
        }
        for row, (outcome, customer_id) in zip(rows, applied, strict=True)
    ]


def record_outcomes(db: Session, outcomes: Sequence[dict[str, Any]]) -> None:
    """One chunk's outcomes in one statement (COPY on PostgreSQL), in the chunk's transaction:
    a chunk's customers and its report are committed together."""
    insert_rows(db, ImportRowOutcome.__table__, sorted(outcomes, key=lambda o: o["row"]))


def worded(problems: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """Stored problems as `field`/`message`, the message in the current language where its
    code is known (a row stored before codes keeps the words it was stored with)."""
    return [
        {"field": p["field"], "message": problem_text(p.get("code"), p.get("params"), p["message"])}
        for p in problems or ()
    ]


def reason_text(problems: Sequence[dict[str, Any]] | None) -> str:
    """A refused row's problems as one line, as the refused rows' error column has them."""
    return "; ".join(f"{p['field']}: {p['message']}" for p in worded(problems))


def check_outcome(outcome: str) -> str:
    """The outcome filter of the row table: empty (every row) or one of ROW_OUTCOMES."""
    if outcome and outcome not in ROW_OUTCOMES:
        raise ValidationError(
            [
                FieldError(
                    "outcome",
                    _("Choose one of: %(choices)s.", choices=", ".join(ROW_OUTCOMES)),
                )
            ]
        )
    return outcome


def has_outcomes(db: Session, run_id: int) -> bool:
    """Whether the run stored its rows' outcomes (imports from before they were kept did not)."""
    return (
        db.scalar(sa.select(ImportRowOutcome.row).where(ImportRowOutcome.run_id == run_id).limit(1))
        is not None
    )


def outcome_page(db: Session, run_id: int, outcome: str = "", number: int = 1) -> Page:
    """One page of the run's rows in file order, of one outcome or all; each item is
    (outcome row, the customer's name or None when it no longer exists)."""
    stmt = sa.select(ImportRowOutcome).where(ImportRowOutcome.run_id == run_id)
    if check_outcome(outcome):
        stmt = stmt.where(ImportRowOutcome.outcome == outcome)
    page = paginate(db, stmt.order_by(ImportRowOutcome.row), number, PER_PAGE)
    names = _names(db, [o.customer_id for o in page.items])
    items = [(o, names.get(o.customer_id)) for o in page.items]
    return Page(items=items, total=page.total, number=page.number, per_page=page.per_page)


def rows_after(
    db: Session, run_id: int, outcome: str = "", after: int = 0, limit: int = PER_PAGE
) -> list[ImportRowOutcome]:
    """`limit` of the run's rows after row number `after`, of one outcome or all: keyset pages
    for the API."""
    stmt = sa.select(ImportRowOutcome).where(
        ImportRowOutcome.run_id == run_id, ImportRowOutcome.row > after
    )
    if check_outcome(outcome):
        stmt = stmt.where(ImportRowOutcome.outcome == outcome)
    return list(db.scalars(stmt.order_by(ImportRowOutcome.row).limit(limit)))


def _names(db: Session, ids: Sequence[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(sa.select(Customer.id, Customer.name).where(Customer.id.in_(wanted)))
    return {cid: name for cid, name in rows}


def report_header() -> list[str]:
    return [_("Row"), _("Outcome"), _("Customer id"), _("Customer"), _("Link"), _("Reason")]


def report_lines(
    factory: sessionmaker[Session],
    run_id: int,
    label: Callable[[str], str],
    customer_url: Callable[[int], str],
) -> Iterator[list[Any]]:
    """Every row of the run, one line each (row, outcome, customer id, name, page URL, reason),
    read in keyset batches by row on a session of its own, so memory stays flat and the stream
    may outlive the request's session."""
    with factory() as s:
        last = 0
        while batch := list(
            s.scalars(
                sa.select(ImportRowOutcome)
                .where(ImportRowOutcome.run_id == run_id, ImportRowOutcome.row > last)
                .order_by(ImportRowOutcome.row)
                .limit(BATCH)
            )
        ):
            names = _names(s, [o.customer_id for o in batch])
            for o in batch:
                cid = o.customer_id
                yield [
                    o.row,
                    label(o.outcome),
                    cid,
                    neutralize(names.get(cid, "")) if cid is not None else "",
                    customer_url(cid) if cid is not None else "",
                    neutralize(reason_text(o.problems)),
                ]
            last = batch[-1].row
            s.expunge_all()
