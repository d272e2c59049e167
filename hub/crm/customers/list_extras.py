"""What the customer list shows beside a customer's own fields, read for the ids of one page only
(never a query per row): why a search matched the row, and the number of its first contact when
the customer has none of its own (an import puts a person's mobile on the contact)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.core.formatting import phone_display
from hub.crm.customers.lookup import Needle
from hub.crm.customers.models import Contact, Customer


@dataclass(frozen=True)
class Matched:
    """The part of a row that a search matched and the row does not show by itself."""

    field: str  # "name", "email" or "phone"
    value: str  # as stored: the name, the email, the E.164 number
    contact_id: int | None = None  # None: the customer's own field
    contact_name: str | None = None
    # The contact's other way to reach them, shown after the match (its phone, else its email).
    context: str | None = None
    # What the page shows for `value`, split around the matched part: (before, match, after).
    parts: tuple[str, str, str] = ("", "", "")

    def as_json(self) -> dict[str, object]:
        return {
            "field": self.field,
            "value": self.value,
            "contact_id": self.contact_id,
            "contact_name": self.contact_name,
        }


@dataclass(frozen=True)
class FallbackPhone:
    """A customer without a number of its own, shown with its first contact's."""

    phone: str
    contact_id: int
    contact_name: str


def fallback_phones(db: Session, customers: Sequence[Customer]) -> dict[int, FallbackPhone]:
    """The first contact with a number (by id, as the customer's page lists them) of each
    customer here that has no number itself: one statement for the page."""
    ids = [c.id for c in customers if not c.phone]
    if not ids:
        return {}
    first = (
        sa.select(sa.func.min(Contact.id).label("id"))
        .where(Contact.customer_id.in_(ids), Contact.phone.is_not(None))
        .group_by(Contact.customer_id)
    )
    rows = db.execute(
        sa.select(Contact.customer_id, Contact.id, Contact.name, Contact.phone).where(
            Contact.id.in_(first)
        )
    )
    return {cid: FallbackPhone(phone, id_, name) for cid, id_, name, phone in rows}


def search_matches(
    db: Session,
    customers: Sequence[Customer],
    query: str,
    region: str,
    phones: dict[int, FallbackPhone] | None = None,
) -> dict[int, Matched]:
    """For each customer here that the search found through something its row does not show
    (a contact, or its own email), what that was; one statement for the page's contacts."""
    needle = Needle.of(query, region)
    if needle is None or not customers:
        return {}
    phones = phones or {}
    ids = [c.id for c in customers]
    # The first matching contact of each customer; the database decides what matches, as the
    # search did, so a row is never explained by something the search did not find.
    first = (
        sa.select(sa.func.min(Contact.id))
        .where(
            Contact.customer_id.in_(ids),
            needle.matches(Contact.name, Contact.email, Contact.phone),
        )
        .group_by(Contact.customer_id)
    )
    contacts = {
        c.customer_id: c for c in db.scalars(sa.select(Contact).where(Contact.id.in_(first)))
    }
    out: dict[int, Matched] = {}
    for customer in customers:
        shown = phones.get(customer.id)
        shown_phone = customer.phone or (shown.phone if shown else None)
        if needle.hit(customer.name, None, shown_phone):
            continue  # the name or number on the row is the match
        contact = contacts.get(customer.id)
        if contact is not None:
            out[customer.id] = _contact_match(needle, contact)
        elif needle.hit(None, customer.email, None) == "email" and customer.email:
            out[customer.id] = Matched(
                "email", customer.email, parts=_text_parts(customer.email, needle.text)
            )
    return out


def _contact_match(needle: Needle, contact: Contact) -> Matched:
    found = needle.hit(contact.name, contact.email, contact.phone)
    if found == "phone" and contact.phone:
        return Matched(
            "phone",
            contact.phone,
            contact.id,
            contact.name,
            parts=_phone_parts(contact.phone, needle),
        )
    if found == "email" and contact.email:
        return Matched(
            "email",
            contact.email,
            contact.id,
            contact.name,
            context=phone_display(contact.phone) or None,
            parts=_text_parts(contact.email, needle.text),
        )
    # The name (or a spelling the database matched and Python reads otherwise: no highlight).
    return Matched(
        "name",
        contact.name,
        contact.id,
        contact.name,
        context=phone_display(contact.phone) or contact.email,
        parts=_text_parts(contact.name, needle.text),
    )


def _text_parts(value: str, text: str) -> tuple[str, str, str]:
    at = value.lower().find(text.lower())
    if at < 0 or len(value.lower()) != len(value):
        return (value, "", "")
    return (value[:at], value[at : at + len(text)], value[at + len(text) :])


def _phone_parts(e164: str, needle: Needle) -> tuple[str, str, str]:
    """The number as the page shows it ("+86 150 9221 6676"), split around the digits typed."""
    shown = phone_display(e164)
    if needle.e164:
        return ("", shown, "")
    digits = needle.digits or ""
    # Where each digit of the displayed number sits, to map the typed digits back onto it.
    places = [m.start() for m in re.finditer(r"\d", shown)]
    at = "".join(shown[i] for i in places).find(digits) if digits else -1
    if at < 0:
        return (shown, "", "")
    start, end = places[at], places[at + len(digits) - 1] + 1
    return (shown[:start], shown[start:end], shown[end:])
