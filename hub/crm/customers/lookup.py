"""Customers and their contacts: who may see and change which, creating, editing, searching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload, selectinload

from hub.core.auth import Role, User
from hub.core.normalize import halfwidth, phone_search_key
from hub.core.refusals import FieldError, Forbidden, NotFound
from hub.core.validation import MAX_ID
from hub.crm.customers.models import (
    Channel,
    Consent,
    Contact,
    Customer,
    CustomField,
    CustomFieldValue,
)

# --- who may see and change what ----------------------------------------------------------------


def can_view(user: User, customer: Customer) -> bool:
    """Agents see their own customers; directors, specialists and admins see all."""
    return user.role != Role.AGENT or customer.owner_id == user.id


def can_edit(user: User, customer: Customer) -> bool:
    """Agents edit their own customers; directors and admins edit all; specialists none."""
    if user.role in (Role.ADMIN, Role.DIRECTOR):
        return True
    return user.role == Role.AGENT and customer.owner_id == user.id


def can_create(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.DIRECTOR, Role.AGENT)


def can_assign(user: User) -> bool:
    return user.role in (Role.ADMIN, Role.DIRECTOR)


def visible_customers(user: User) -> sa.Select[Any]:
    stmt = sa.select(Customer)
    if user.role == Role.AGENT:
        stmt = stmt.where(Customer.owner_id == user.id)
    return stmt


def load_customer(db: Session, user: User, customer_id: int, edit: bool = False) -> Customer:
    """The customer, if the user may see it (and change it, with `edit`)."""
    customer = db.get(Customer, customer_id) if 0 < customer_id <= MAX_ID else None
    if customer is None:
        raise NotFound(_("There is no customer %(id)s.", id=customer_id))
    if not can_view(user, customer):
        raise Forbidden(_("This customer belongs to another rep."))
    if edit and not can_edit(user, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    return customer


def load_contact(db: Session, user: User, contact_id: int, edit: bool = False) -> Contact:
    contact = db.get(Contact, contact_id) if 0 < contact_id <= MAX_ID else None
    if contact is None:
        raise NotFound(_("There is no contact %(id)s.", id=contact_id))
    load_customer(db, user, contact.customer_id, edit=edit)
    return contact


# --- searching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Needle:
    """A search text, read once: as a phone number, as digits, and whether it has letter case."""

    text: str
    e164: str | None
    digits: str | None

    @classmethod
    def of(cls, query: str, region: str) -> Needle | None:
        text = halfwidth(query).strip()
        if not text:
            return None
        digits = re.sub(r"\D", "", text)
        mostly_digits = len(digits) >= 4 and len(digits) >= len(re.sub(r"[\s()+-]", "", text)) - 1
        return cls(text, phone_search_key(text, region), digits if mostly_digits else None)

    def matches(self, name: Any, email: Any, phone: Any) -> sa.ColumnElement[bool]:
        if self.e164:
            # A whole number: equality, which the phone index answers.
            return phone == self.e164
        # lower() only where it changes something: Chinese and digits have no case, and
        # skipping it halves the scan a short Chinese fragment still needs.
        cased = self.text.lower() != self.text.upper()
        needle = self.text.lower()

        def like(column: Any) -> sa.ColumnElement[bool]:
            return (sa.func.lower(column) if cased else column).contains(needle, autoescape=True)

        conditions = [like(name), like(email)]
        if self.digits:
            conditions.append(phone.contains(self.digits, autoescape=True))  # part of a number
        return sa.or_(*conditions)

    def hit(self, name: str | None, email: str | None, phone: str | None) -> str | None:
        """Which of the values `matches` would find the search in ("name", "email", "phone"),
        read in Python for the few rows of a page: the list says why a row matched."""
        if self.e164:
            return "phone" if phone == self.e164 else None
        needle = self.text.lower()
        for field_name, value in (("name", name), ("email", email)):
            if value and needle in value.lower():
                return field_name
        if self.digits and phone and self.digits in phone:
            return "phone"
        return None


def contact_condition(query: str, region: str) -> sa.ColumnElement[bool] | None:
    """Matches a contact by name, email, or phone in any format."""
    needle = Needle.of(query, region)
    return None if needle is None else needle.matches(Contact.name, Contact.email, Contact.phone)


def search_condition(query: str, region: str) -> sa.ColumnElement[bool] | None:
    """Matches a customer by its name, email or phone, or a contact's name, email or phone.

    A phone number matches in any format: "138 0013 8000", "+86 138-0013-8000", "13800138000".
    The ids come from a UNION of one select per table, so each side uses its own indexes
    (docs/benchmarks.md has the plans that led here).
    """
    needle = Needle.of(query, region)
    if needle is None:
        return None
    ids = sa.union(
        sa.select(Customer.id).where(needle.matches(Customer.name, Customer.email, Customer.phone)),
        sa.select(Contact.customer_id).where(
            needle.matches(Contact.name, Contact.email, Contact.phone)
        ),
    )
    return Customer.id.in_(ids)


def text_or_customer(query: str, customer_id: Any, *columns: Any) -> sa.ColumnElement[bool] | None:
    """A record (opportunity, order, complaint) whose own text or whose customer's name matches."""
    text = halfwidth(query).strip().lower()
    if not text:
        return None
    by_customer = sa.select(Customer.id).where(
        sa.func.lower(Customer.name).contains(text, autoescape=True)
    )
    own = [sa.func.lower(c).contains(text, autoescape=True) for c in columns]
    return sa.or_(*own, customer_id.in_(by_customer))


def class_counts(db: Session, user: User) -> dict[str, int]:
    sub = visible_customers(user).subquery()
    rows = db.execute(
        sa.select(sub.c.customer_class, sa.func.count()).group_by(sub.c.customer_class)
    ).all()
    counts = {"A": 0, "B": 0, "C": 0}
    counts.update({cls: n for cls, n in rows})
    return counts


def custom_value(cf: CustomField, raw: Any) -> Any:
    if cf.kind == "number":
        try:
            return Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise FieldError(cf.key, _("Expected a number.")) from None
    if cf.kind == "date":
        try:
            return raw if isinstance(raw, date) else date.fromisoformat(str(raw).strip())
        except ValueError:
            raise FieldError(cf.key, _("Expected a date like 2026-03-31.")) from None
    text = str(raw).strip()[:500]
    if cf.kind == "choice" and text not in cf.choices:
        raise FieldError(cf.key, _("Choose one of: %(choices)s.", choices=", ".join(cf.choices)))
    return text


def consent_state(contact: Contact) -> dict[str, Consent | None]:
    by_channel = {c.channel: c for c in contact.consents}
    return {ch.value: by_channel.get(ch.value) for ch in Channel}


def customer_with_everything(db: Session, customer_id: int) -> Customer | None:
    return db.scalar(
        sa.select(Customer)
        .where(Customer.id == customer_id)
        .options(
            selectinload(Customer.contacts).selectinload(Contact.consents),
            selectinload(Customer.tags),
            selectinload(Customer.custom_values).joinedload(CustomFieldValue.field),
            joinedload(Customer.owner),
        )
    )
