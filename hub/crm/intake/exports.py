"""Customer lists out to CSV and XLSX, with every cell safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from hub.core.auth import User
from hub.core.cells import neutralize
from hub.core.formatting import csv_date, csv_datetime
from hub.crm.customers.models import Customer
from hub.crm.customers.search import CustomerFilters, filtered_customers

BATCH = 1000


COLUMNS: tuple[tuple[str, Any], ...] = (
    ("id", _l("Id")),
    ("name", _l("Name")),
    ("stage", _l("Stage")),
    ("customer_class", _l("Class")),
    ("phone", _l("Phone")),
    ("email", _l("Email")),
    ("address", _l("Address")),
    ("city", _l("City")),
    ("region", _l("Region")),
    ("industry", _l("Industry")),
    ("owner", _l("Owner")),
    ("contacts", _l("Contacts")),
    ("next_contact_on", _l("Next contact")),
    ("notes", _l("Notes")),
)


def header() -> list[str]:
    return [str(label) for _key, label in COLUMNS]


def _cells(c: Customer) -> list[Any]:
    contacts = "; ".join(
        " ".join(x for x in (ct.name, ct.phone or "", ct.email or "") if x) for ct in c.contacts
    )
    values = {
        "owner": c.owner.display_name if c.owner else "",
        "contacts": contacts,
    }
    return [neutralize(values[k] if k in values else getattr(c, k)) for k, _label in COLUMNS]


def rows_in_own_session(
    factory: sessionmaker[Session],
    user: User,
    query: str = "",
    filters: CustomerFilters | None = None,
    region: str = "CN",
) -> Iterator[list[Any]]:
    """`export_rows` on a session of its own, closed when the rows end (or the download is
    cut off): a streamed response outlives its request's session."""
    with factory() as s:
        yield from export_rows(s, user, query, filters, region)


def export_rows(
    db: Session,
    user: User,
    query: str = "",
    filters: CustomerFilters | None = None,
    region: str = "CN",
) -> Iterator[list[Any]]:
    """The customers the user may see that match the list's search and filters, as rows of
    neutralized cells, read in keyset batches by id so memory stays flat however many."""
    stmt = filtered_customers(db, user, query, filters, region)
    last = 0
    while True:
        batch = list(
            db.scalars(
                stmt.where(Customer.id > last)
                .order_by(Customer.id)
                .limit(BATCH)
                .options(selectinload(Customer.contacts), joinedload(Customer.owner))
            ).unique()
        )
        if not batch:
            return
        for c in batch:
            yield _cells(c)
        last = batch[-1].id
        db.expunge_all()


def _csv_cell(value: Any) -> Any:
    # Dates and instants as ISO 8601 on the business's clock, the same in every CSV file.
    if isinstance(value, datetime):
        return csv_datetime(value)
    if isinstance(value, date):
        return csv_date(value)
    return "" if value is None else value


def disposition(filename: str) -> dict[str, str]:
    """Content-Disposition options for a download named `filename`: a header is Latin-1, so a
    Chinese name travels as RFC 5987 `filename*` beside an ASCII fallback (as send_file does)."""
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
        return {"filename": simple, "filename*": f"UTF-8''{quote(filename, safe='!#$&+^`|~')}"}
    return {"filename": filename}


def csv_stream(rows: Iterator[list[Any]], headings: list[str]) -> Iterator[str]:
    """CSV text in pieces, with a BOM so Excel reads the UTF-8 right (Chinese included)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(headings)
    for i, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(v) for v in row])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(rows: Iterator[list[Any]], path: Path) -> None:
    """An .xlsx written in openpyxl's write-only mode (rows go straight to the file)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(str(_l("Customers")))
    ws.append(header())
    for row in rows:
        ws.append(row)
    wb.save(path)
