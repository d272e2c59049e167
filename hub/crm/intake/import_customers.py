"""The customers an import writes to: new ones as plain attributes, written in bulk, and what a
row adds to any customer it matches (stored or new) without losing what is already there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

from sqlalchemy.orm import Session

from hub.core.bulk import insert_rows
from hub.core.clock import utcnow
from hub.core.quick_phone import quick_is_mobile
from hub.crm.customers.models import Contact, Customer
from hub.crm.intake.cleaning import company_key, email_key, match_block
from hub.crm.intake.import_files import TARGETS

if TYPE_CHECKING:
    # import_rows imports this module; here the row is only named in annotations.
    from hub.crm.intake.import_rows import ImportRow

# Filled on a customer when empty; a different stored value is kept and the new one noted.
PLAIN_FIELDS = ("address", "city", "region", "industry", "postcode", "website")


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
