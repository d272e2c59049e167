"""One imported row: cleaned and checked, then matched to a customer (exact phone or email,
compared without case) and either created or merged into the one it matches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Union

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from hub.auth import User
from hub.crm import audit
from hub.crm.bulk import insert_rows, one_of, prefer_btree_lookups
from hub.crm.cleaning import (
    clean_email,
    company_key,
    email_key,
    match_block,
    phone_extensions,
    split_phones,
)
from hub.crm.import_files import TARGETS
from hub.crm.models import AuditEntry, Contact, Customer, CustomerKind, LeadSource
from hub.db import utcnow
from hub.problems import problem
from hub.quick_phone import quick_is_mobile
from hub.validation import FieldError

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
# Filled on a customer when empty; a different stored value is kept and the new one noted.
PLAIN_FIELDS = ("address", "city", "region", "industry", "postcode", "website")


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


@dataclass(slots=True)
class NewContact:
    """A contact of a NewCustomer: plain attributes, written with COPY."""

    name: str
    title: str | None = None
    phone: str | None = None
    phone_ext: str | None = None
    email: str | None = None


@dataclass(slots=True)
class NewCustomer:
    """A customer an import creates, as plain attributes: absorb() fills it like a stored
    Customer, insert_customers() writes it. The ORM's bookkeeping on a transient Customer (and
    its Contacts) cost more than the rest of a new row's work."""

    name: str
    kind: str
    stage: str
    lead_source: str
    owner_id: int | None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str = ""
    industry: str = ""
    postcode: str | None = None
    website: str | None = None
    notes: str | None = None
    id: int | None = None
    contacts: list[NewContact] = field(default_factory=list)


# A row is merged into a stored customer (ORM) or into one this import creates (plain).
Target = Union[Customer, NewCustomer]  # noqa: UP007 - a runtime alias


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


_NEW_COLUMNS = (
    "name", "kind", "stage", "lead_source", "owner_id", "phone", "email", "address", "city",
    "region", "industry", "postcode", "website", "notes",
)  # fmt: skip


def insert_customers(db: Session, customers: Sequence[NewCustomer]) -> None:
    """Write new customers and their contacts in bulk (COPY on PostgreSQL); each customer gets
    its id."""
    if not customers:
        return
    now = utcnow()
    table = Customer.__table__
    # A None where the column has a default (customer_class "C") takes the default.
    defaults = {
        n: table.c[n].default.arg
        for n in _NEW_COLUMNS
        if table.c[n].default is not None and table.c[n].default.is_scalar
    }
    rows = []
    for c in customers:
        key = company_key(c.name)
        row = {n: getattr(c, n) for n in _NEW_COLUMNS}
        row.update({n: d for n, d in defaults.items() if row[n] is None})
        row.update(
            company_key=key, match_block=match_block(key, c.city), created_at=now, updated_at=now
        )
        rows.append(row)
    ids = insert_rows(db, table, rows, return_ids=True)
    contacts = []
    for c, cid in zip(customers, ids, strict=True):
        c.id = cid
        contacts.extend(
            {
                "customer_id": cid,
                "name": ct.name,
                "title": ct.title,
                "phone": ct.phone,
                "phone_ext": ct.phone_ext,
                "email": ct.email,
                "created_at": now,
                "updated_at": now,
            }
            for ct in c.contacts
        )
    insert_rows(db, Contact.__table__, contacts)


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


def absorb(customer: Target, row: ImportRow) -> dict[str, list[object]]:
    """Put what the row says on the customer without losing anything already stored: empty
    fields are filled, new numbers and addresses added, a differing value noted."""
    changes: dict[str, list[object]] = {}
    noted: list[str] = []
    if customer.name != row.name:
        noted.append(f"{TARGETS['name']}: {row.name}")
    for name in PLAIN_FIELDS:
        value = row.values.get(name)
        if not value:
            continue
        current = getattr(customer, name)
        if not current:
            setattr(customer, name, value)
            changes[name] = [current or None, value]
        elif current != value:
            noted.append(f"{TARGETS[name]}: {value}")
    if row.values.get("notes"):
        noted.append(row.values["notes"])
    notes = customer.notes or ""
    fresh = [line for line in noted if line not in notes]
    if fresh:
        customer.notes = "\n".join([notes, *fresh]).strip()
        changes["notes"] = [notes or None, customer.notes]
    _place_contact_info(customer, row, changes)
    return changes


def _place_contact_info(customer: Target, row: ImportRow, changes: dict[str, list[object]]) -> None:
    contacts: list = customer.contacts
    contact_type = NewContact if isinstance(customer, NewCustomer) else Contact
    known_phones = {customer.phone} | {c.phone for c in contacts}
    known_emails = {email_key(customer.email)} | {email_key(c.email) for c in contacts}
    new_phones = [p for p in row.phones if p not in known_phones]
    new_emails = [e for e in row.emails if email_key(e) not in known_emails]
    person = None
    if row.contact_name:
        person = next((c for c in contacts if c.name == row.contact_name), None)
        if person is None:
            person = contact_type(name=row.contact_name, title=row.title or None)
            contacts.append(person)
            changes.setdefault("contacts", []).append(row.contact_name)
        elif row.title and not person.title:
            person.title = row.title
            changes["contact.title"] = [None, row.title]

    def extra(**kw: str) -> None:
        # A number or address with no free place gets a contact of its own, so none is dropped.
        contacts.append(contact_type(name=row.contact_name or customer.name, **kw))
        changes.setdefault("contacts", []).append(next(iter(kw.values())))

    for p in new_phones:
        ext = row.extensions.get(p)
        if ext:
            # Only a contact keeps an extension: the person's, else one of its own.
            if person is not None and person.phone is None:
                person.phone, person.phone_ext = p, ext
            else:
                extra(phone=p, phone_ext=ext)
                continue
        # A person's mobile goes on the contact, the company's landline on the customer.
        elif person is not None and person.phone is None and quick_is_mobile(p):
            person.phone = p
        elif customer.phone is None:
            customer.phone = p
        elif person is not None and person.phone is None:
            person.phone = p
        else:
            extra(phone=p)
            continue
        changes.setdefault("phones", []).append(p)
    for e in new_emails:
        if person is not None and person.email is None:
            person.email = e
        elif customer.email is None:
            customer.email = e
        else:
            extra(email=e)
            continue
        changes.setdefault("emails", []).append(e)
