"""One imported row: cleaned and checked, then matched to a customer (exact phone or email,
compared without case) and either created or merged into the one it matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from hub.core.auth import User
from hub.core.bulk import insert_rows, one_of, prefer_btree_lookups
from hub.core.clock import utcnow
from hub.core.problems import problem
from hub.core.refusals import FieldError
from hub.crm.customers import audit
from hub.crm.customers.models import AuditEntry, Contact, Customer, CustomerKind, LeadSource
from hub.crm.intake.cleaning import (
    clean_email,
    company_key,
    email_key,
    phone_extensions,
    split_phones,
)
from hub.crm.intake.import_customers import NewCustomer, Target, absorb, insert_customers
from hub.crm.intake.import_files import TARGETS

# Longest value each field stores; a longer cell is refused, not cut.
LIMITS = {
    "name": 200,
    "contact_name": 120,
    "title": 120,
    "address": 300,
    "city": 80,
    "region": 80,
    "industry": 80,
    "postcode": 20,
    "website": 200,
    "notes": 20000,
}


@dataclass
class ImportRow:
    number: int  # the row's number in the spreadsheet (the header is usually 1)
    cells: list[str]
    name: str
    kind: str
    contact_name: str = ""
    title: str = ""
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)  # E.164 -> "123" of "... 转 123"

    @property
    def key(self) -> str:
        return company_key(self.name)


def parse_row(
    number: int, cells: Sequence[str], headers: Sequence[str], mapping: Sequence[str], region: str
) -> ImportRow | list[FieldError]:
    """The row cleaned, or every problem in it, each naming its column as the file heads it."""
    errors: list[FieldError] = []
    values: dict[str, str] = {}
    phones: list[str] = []
    emails: list[str] = []
    extensions: dict[str, str] = {}
    for i, target in enumerate(mapping):
        text = cells[i] if i < len(cells) else ""
        if not target or not text:
            continue
        column = headers[i] if i < len(headers) and headers[i] else _("column %(n)d", n=i + 1)
        if target == "phone":
            try:
                phones.extend(p for p in split_phones(text, region) if p not in phones)
                extensions.update(phone_extensions(text, region))
            except FieldError as exc:
                errors.append(FieldError(column, exc.message, exc.code, exc.params))
        elif target == "email":
            try:
                email = clean_email(text)
            except FieldError as exc:
                errors.append(FieldError(column, exc.message, exc.code, exc.params))
            else:
                if email and email_key(email) not in {email_key(e) for e in emails}:
                    emails.append(email)
        elif len(text) > LIMITS[target]:
            errors.append(problem(column, "too_long", count=LIMITS[target]))
        else:
            values[target] = text
    name = values.pop("name", "")
    contact_name = values.pop("contact_name", "")
    if not name and not contact_name:
        name_columns = [
            headers[i] for i, t in enumerate(mapping) if t == "name" and i < len(headers)
        ]
        errors.append(problem(name_columns[0] if name_columns else str(TARGETS["name"]), "no_name"))
    if errors:
        return errors
    return ImportRow(
        number=number,
        cells=list(cells),
        # A row with only a person's name is a person customer.
        name=name or contact_name,
        kind=CustomerKind.ORGANIZATION.value if name else CustomerKind.PERSON.value,
        contact_name=contact_name if name else "",
        title=values.pop("title", ""),
        phones=phones,
        emails=emails,
        values=values,
        extensions=extensions,
    )


@dataclass
class ChunkContext:
    """What every row of one run shares."""

    run_id: int
    actor: User | None
    owner_id: int | None
    stage: str
    started_at: datetime


def apply_rows(db: Session, ctx: ChunkContext, rows: Sequence[ImportRow]) -> list[tuple[str, int]]:
    """Create or merge every row; returns each row's outcome (created, updated, merged,
    unchanged) and the id of its customer. Rows of one chunk that match each other merge too."""
    found = existing_matches(db, rows)
    # Matches among the rows of this chunk, and the customers found for them.
    by_phone: dict[str, Target] = {}
    by_email: dict[str, Target] = {}
    by_name: dict[str, Target] = {}
    touched: list[tuple[Target, ImportRow, str, dict[str, list[object]]]] = []
    new: list[NewCustomer] = []
    for row in rows:
        customer = _match(row, by_phone, by_email, by_name) or found.match(row)
        if customer is None:
            # Not in the session: new customers are written together below, in bulk.
            customer = NewCustomer(
                name=row.name,
                kind=row.kind,
                stage=ctx.stage,
                lead_source=LeadSource.IMPORT.value,
                owner_id=ctx.owner_id,
            )
            new.append(customer)
            changes = absorb(customer, row)
            outcome = "created"
        else:
            changes = absorb(customer, row)
            new_this_run = isinstance(customer, NewCustomer) or (
                customer.created_at >= ctx.started_at
            )
            if new_this_run:
                outcome = "merged"  # a second row of this file for the same customer
            elif not changes:
                outcome = "unchanged"
            else:
                outcome = "updated" if company_key(customer.name) == row.key else "merged"
        for p in row.phones:
            by_phone.setdefault(p, customer)
        for e in row.emails:
            by_email.setdefault(e.lower(), customer)
        if not row.phones and not row.emails:
            by_name.setdefault(row.name, customer)
        touched.append((customer, row, outcome, changes))
    db.flush()  # the stored customers this chunk changed
    insert_customers(db, new)
    entries = [
        {
            "entity": "customer",
            "entity_id": customer.id,
            "customer_id": customer.id,
            "user_id": ctx.actor.id if ctx.actor else None,
            "action": "import",
            "changes": {
                "import_run": ctx.run_id,
                "row": row.number,
                "outcome": outcome,
                **{k: audit.jsonable(v) for k, v in changes.items()},
            },
        }
        for customer, row, outcome, changes in touched
        if outcome != "unchanged"
    ]
    now = utcnow()
    insert_rows(db, AuditEntry.__table__, [{**e, "at": now} for e in entries])
    return [(outcome, customer.id) for customer, _row, outcome, _changes in touched]


def _match(
    row: ImportRow,
    by_phone: dict[str, Target],
    by_email: dict[str, Target],
    by_name: dict[str, Target],
) -> Target | None:
    for p in row.phones:
        if p in by_phone:
            return by_phone[p]
    for e in row.emails:
        if e.lower() in by_email:
            return by_email[e.lower()]
    if not row.phones and not row.emails:
        return by_name.get(row.name)
    return None


@dataclass
class _Found:
    """Stored customers matching a chunk's phones, emails and (for rows with neither) names."""

    by_phone: dict[str, Target]
    by_email: dict[str, Target]
    by_name: dict[str, Target]

    def match(self, row: ImportRow) -> Target | None:
        return _match(row, self.by_phone, self.by_email, self.by_name)


def existing_matches(db: Session, rows: Sequence[ImportRow]) -> _Found:
    prefer_btree_lookups(db)
    phones = {p for r in rows for p in r.phones}
    emails = {e.lower() for r in rows for e in r.emails}
    names = {r.name for r in rows if not r.phones and not r.emails}
    hits: list[tuple[int, str | None, str | None]] = []
    # One select per table and key, each answered by its own index (lower(email) has one).
    for model, id_col in ((Customer, Customer.id), (Contact, Contact.customer_id)):
        if phones:
            hits += db.execute(
                sa.select(id_col, model.phone, sa.null()).where(one_of(db, model.phone, phones))
            ).all()
        if emails:
            hits += db.execute(
                sa.select(id_col, sa.null(), sa.func.lower(model.email)).where(
                    one_of(db, sa.func.lower(model.email), emails)
                )
            ).all()
    name_hits = (
        db.execute(
            sa.select(Customer.id, Customer.name).where(one_of(db, Customer.name, names))
        ).all()
        if names
        else []
    )
    ids = {h[0] for h in hits} | {h[0] for h in name_hits}
    customers = {
        c.id: c
        for c in db.scalars(
            sa.select(Customer)
            .where(one_of(db, Customer.id, ids))
            .options(selectinload(Customer.contacts))
        )
    }
    found = _Found({}, {}, {})
    # The oldest customer wins when a number is on several.
    for cid, phone, email in sorted(hits, key=lambda h: h[0]):
        if phone:
            found.by_phone.setdefault(phone, customers[cid])
        if email:
            found.by_email.setdefault(email, customers[cid])
    for cid, name in sorted(name_hits, key=lambda h: h[0]):
        found.by_name.setdefault(name, customers[cid])
    return found
