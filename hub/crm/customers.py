"""Customers and their contacts: who may see and change which, creating, editing, searching."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload, selectinload

from hub.auth import Role, User
from hub.crm import audit
from hub.crm.fields import CONTACT_FIELDS, CUSTOMER_CREATE_EXTRA, CUSTOMER_FIELDS
from hub.crm.models import (
    Channel,
    Consent,
    Contact,
    Customer,
    CustomField,
    CustomFieldValue,
    Tag,
)
from hub.db import utcnow
from hub.normalize import halfwidth, phone_search_key
from hub.pagination import Page, paginate_by_id
from hub.validation import (
    MAX_ID,
    FieldError,
    Forbidden,
    NotFound,
    ValidationError,
    parse,
    unknown_keys,
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

SORTS = {
    "name": Customer.name,
    "created": Customer.created_at,
    "next_contact": Customer.next_contact_on,
    "last_contact": Customer.last_contact_at,
    "class": Customer.customer_class,
}


@dataclass(frozen=True)
class CustomerFilters:
    customer_class: str | None = None
    stage: str | None = None
    owner_id: int | None = None
    region: str | None = None
    industry: str | None = None
    lead_source: str | None = None
    tag: str | None = None
    # {key: value} for text and choice fields, {key: (min, max)} for numbers and dates
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Needle:
    """A search text, read once: as a phone number, as digits, and whether it has letter case."""

    text: str
    e164: str | None
    digits: str | None

    @classmethod
    def of(cls, query: str, region: str) -> _Needle | None:
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


def contact_condition(query: str, region: str) -> sa.ColumnElement[bool] | None:
    """Matches a contact by name, email, or phone in any format."""
    needle = _Needle.of(query, region)
    return None if needle is None else needle.matches(Contact.name, Contact.email, Contact.phone)


def search_condition(query: str, region: str) -> sa.ColumnElement[bool] | None:
    """Matches a customer by its name, email or phone, or a contact's name, email or phone.

    A phone number matches in any format: "138 0013 8000", "+86 138-0013-8000", "13800138000".
    The ids come from a UNION of one select per table, so each side uses its own indexes
    (docs/benchmarks.md has the plans that led here).
    """
    needle = _Needle.of(query, region)
    if needle is None:
        return None
    ids = sa.union(
        sa.select(Customer.id).where(needle.matches(Customer.name, Customer.email, Customer.phone)),
        sa.select(Contact.customer_id).where(
            needle.matches(Contact.name, Contact.email, Contact.phone)
        ),
    )
    return Customer.id.in_(ids)


def _custom_condition(db: Session, key: str, value: Any) -> sa.ColumnElement[bool]:
    cf = db.scalar(sa.select(CustomField).where(CustomField.key == key))
    if cf is None:
        raise ValidationError([FieldError(f"cf_{key}", _("Unknown custom field."))])
    sub = sa.select(CustomFieldValue.customer_id).where(CustomFieldValue.field_id == cf.id)
    if cf.kind in ("number", "date"):
        low, high = value if isinstance(value, tuple) else (value, value)
        column = (
            CustomFieldValue.value_number if cf.kind == "number" else CustomFieldValue.value_date
        )
        try:
            if low not in (None, ""):
                sub = sub.where(column >= _custom_value(cf, low))
            if high not in (None, ""):
                sub = sub.where(column <= _custom_value(cf, high))
        except FieldError as exc:
            raise ValidationError([FieldError(f"cf_{key}", exc.message)]) from None
    else:
        sub = sub.where(CustomFieldValue.value_text == str(value))
    return Customer.id.in_(sub)


def filtered_customers(
    db: Session,
    user: User,
    query: str = "",
    filters: CustomerFilters | None = None,
    region: str = "CN",
) -> sa.Select[Any]:
    f = filters or CustomerFilters()
    stmt = visible_customers(user)
    cond = search_condition(query, region)
    if cond is not None:
        stmt = stmt.where(cond)
    for column, value in (
        (Customer.customer_class, f.customer_class),
        (Customer.stage, f.stage),
        (Customer.owner_id, f.owner_id),
        (Customer.region, f.region),
        (Customer.industry, f.industry),
        (Customer.lead_source, f.lead_source),
    ):
        if value not in (None, ""):
            stmt = stmt.where(column == value)
    if f.tag:
        stmt = stmt.where(Customer.tags.any(Tag.name == f.tag))
    for key, value in f.custom.items():
        stmt = stmt.where(_custom_condition(db, key, value))
    return stmt


def search_customers(
    db: Session,
    user: User,
    query: str = "",
    filters: CustomerFilters | None = None,
    sort: str = "name",
    page: int = 1,
    per_page: int = 25,
    region: str = "CN",
) -> Page:
    """One page of the customers the user may see that match the search and filters."""
    stmt = filtered_customers(db, user, query, filters, region)
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"), Customer.name)
    order = column.desc() if descending else column.asc()
    stmt = stmt.order_by(order.nulls_last(), Customer.id)
    return paginate_by_id(db, stmt, Customer, page, per_page, options=(joinedload(Customer.owner),))


def class_counts(db: Session, user: User) -> dict[str, int]:
    sub = visible_customers(user).subquery()
    rows = db.execute(
        sa.select(sub.c.customer_class, sa.func.count()).group_by(sub.c.customer_class)
    ).all()
    counts = {"A": 0, "B": 0, "C": 0}
    counts.update({cls: n for cls, n in rows})
    return counts


# --- creating and changing ----------------------------------------------------------------------


def _tags(db: Session, names: Sequence[str]) -> list[Tag]:
    if not names:
        return []
    existing = {t.name: t for t in db.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in existing:
            existing[name] = Tag(name=name)
            db.add(existing[name])
    return [existing[n] for n in names]


def _custom_value(cf: CustomField, raw: Any) -> Any:
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


def _set_custom(db: Session, customer: Customer, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    fields = {cf.key: cf for cf in db.scalars(sa.select(CustomField))}
    errors: list[FieldError] = []
    changes: dict[str, list[Any]] = {}
    current = {v.field.key: v for v in customer.custom_values}
    for key, raw in values.items():
        cf = fields.get(key)
        if cf is None:
            errors.append(FieldError(f"custom.{key}", _("Unknown custom field.")))
            continue
        old = current.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if old is not None:
                changes[f"custom.{key}"] = [audit.jsonable(old.value), None]
                customer.custom_values.remove(old)
            continue
        try:
            value = _custom_value(cf, raw)
        except FieldError as exc:
            errors.append(FieldError(f"custom.{key}", exc.message))
            continue
        row = old or CustomFieldValue(field=cf, field_id=cf.id)
        before = old.value if old else None
        row.value_text = value if cf.kind in ("text", "choice") else None
        row.value_number = value if cf.kind == "number" else None
        row.value_date = value if cf.kind == "date" else None
        if old is None:
            customer.custom_values.append(row)
        if before != value:
            changes[f"custom.{key}"] = [audit.jsonable(before), audit.jsonable(value)]
    if errors:
        raise ValidationError(errors)
    return changes


def _contact_values(
    data: Mapping[str, Any], region: str, prefix: str, partial: bool
) -> dict[str, Any]:
    values = parse(CONTACT_FIELDS, data, partial=partial, prefix=prefix, region=region)
    tz = values.get("timezone")
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError(
                [FieldError(prefix + "timezone", _("Not a time zone such as Asia/Shanghai."))]
            ) from None
    return values


def _owner(db: Session, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    user = db.get(User, owner_id)
    if user is None or not user.active:
        raise ValidationError([FieldError("owner_id", _("No active user has this id."))])
    return user


def create_customer(
    db: Session, actor: User, data: Mapping[str, Any], region: str = "CN"
) -> Customer:
    """Create a customer, with its contacts (`contacts`) and custom values (`custom`), in one go.

    Every problem in the input is reported at once, each naming its field (`contacts.1.phone`).
    """
    if not can_create(actor):
        raise Forbidden(_("Your role may not add customers."))
    extra = ("contacts", "custom", "owner_id", "customer_class")
    unknown_keys(CUSTOMER_FIELDS, data, allowed=extra)
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    try:
        values = parse(CUSTOMER_FIELDS, data, region=region)
    except ValidationError as exc:
        errors.extend(exc.errors)
    try:
        values.update(parse(CUSTOMER_CREATE_EXTRA, data))
    except ValidationError as exc:
        errors.extend(exc.errors)
    contacts_in = data.get("contacts") or []
    contacts: list[dict[str, Any]] = []
    if not isinstance(contacts_in, list):
        errors.append(FieldError("contacts", _("Expected a list of contacts.")))
        contacts_in = []
    for i, item in enumerate(contacts_in):
        if not isinstance(item, Mapping):
            errors.append(FieldError(f"contacts.{i}", _("Expected a contact object.")))
            continue
        try:
            unknown_keys(CONTACT_FIELDS, item)
            contacts.append(_contact_values(item, region, f"contacts.{i}.", partial=False))
        except ValidationError as exc:
            errors.extend(
                FieldError(
                    e.field if e.field.startswith("contacts.") else f"contacts.{i}.{e.field}",
                    e.message,
                )
                for e in exc.errors
            )
    if errors:
        raise ValidationError(errors)

    owner_id = values.pop("owner_id", None)
    if actor.role == Role.AGENT:
        if owner_id not in (None, actor.id):
            raise Forbidden(_("An agent adds customers for themselves; a director assigns them."))
        owner = actor
    else:
        owner = _owner(db, owner_id) or actor
    tags = values.pop("tags", None) or []
    customer = Customer(**{k: v for k, v in values.items() if v is not None}, owner=owner)
    customer.tags = _tags(db, tags)
    if values.get("customer_class"):
        customer.class_reason = _("Set when the customer was added")
        customer.class_set_at = utcnow()
    for item in contacts:
        customer.contacts.append(Contact(**{k: v for k, v in item.items() if v is not None}))
    db.add(customer)
    db.flush()
    custom_changes = (
        _set_custom(db, customer, data.get("custom") or {}) if data.get("custom") else {}
    )
    snapshot = {k: audit.jsonable(v) for k, v in values.items() if v is not None}
    snapshot.update({k: v[1] for k, v in custom_changes.items()})
    snapshot["owner_id"] = owner.id
    if tags:
        snapshot["tags"] = tags
    audit.record(db, actor, "customer", customer.id, "create", snapshot, customer.id)
    for contact in customer.contacts:
        audit.record(
            db, actor, "contact", contact.id, "create", {"name": contact.name}, customer.id
        )
    return customer


def update_customer(
    db: Session, actor: User, customer: Customer, data: Mapping[str, Any], region: str = "CN"
) -> dict[str, list[Any]]:
    """Change the fields present in `data`; returns (and audits) what really changed."""
    if not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    unknown_keys(CUSTOMER_FIELDS, data, allowed=("custom",))
    values = parse(CUSTOMER_FIELDS, data, partial=True, region=region)
    tags = values.pop("tags", None)
    changes = audit.apply_changes(customer, values)
    if tags is not None:
        before = sorted(t.name for t in customer.tags)
        if before != tags:
            customer.tags = _tags(db, tags)
            changes["tags"] = [before, tags]
    if "custom" in data:
        if not isinstance(data["custom"], Mapping):
            raise ValidationError([FieldError("custom", _("Expected an object of custom values."))])
        changes.update(_set_custom(db, customer, data["custom"]))
    if changes:
        customer.updated_at = utcnow()
    audit.record(db, actor, "customer", customer.id, "update", changes, customer.id)
    db.flush()
    return changes


def delete_customer(db: Session, actor: User, customer: Customer) -> None:
    if actor.role not in (Role.ADMIN, Role.DIRECTOR):
        raise Forbidden(_("Only a director or an admin may delete a customer."))
    audit.record(db, actor, "customer", customer.id, "delete", {"name": customer.name}, customer.id)
    db.delete(customer)
    db.flush()


def add_contact(
    db: Session, actor: User, customer: Customer, data: Mapping[str, Any], region: str = "CN"
) -> Contact:
    if not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    unknown_keys(CONTACT_FIELDS, data)
    values = _contact_values(data, region, "", partial=False)
    contact = Contact(**{k: v for k, v in values.items() if v is not None})
    customer.contacts.append(contact)
    db.flush()
    if contact.is_decision_maker:
        _only_decision_maker(customer, contact)
    audit.record(
        db,
        actor,
        "contact",
        contact.id,
        "create",
        {k: audit.jsonable(v) for k, v in values.items() if v is not None},
        customer.id,
    )
    return contact


def update_contact(
    db: Session, actor: User, contact: Contact, data: Mapping[str, Any], region: str = "CN"
) -> dict[str, list[Any]]:
    if not can_edit(actor, contact.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    unknown_keys(CONTACT_FIELDS, data)
    values = _contact_values(data, region, "", partial=True)
    changes = audit.apply_changes(contact, values)
    if values.get("is_decision_maker"):
        _only_decision_maker(contact.customer, contact)
    audit.record(db, actor, "contact", contact.id, "update", changes, contact.customer_id)
    db.flush()
    return changes


def _only_decision_maker(customer: Customer, chosen: Contact) -> None:
    # One decision maker per customer: marking one unmarks the others.
    for other in customer.contacts:
        if other is not chosen and other.is_decision_maker:
            other.is_decision_maker = False


def delete_contact(db: Session, actor: User, contact: Contact) -> None:
    if not can_edit(actor, contact.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    audit.record(
        db, actor, "contact", contact.id, "delete", {"name": contact.name}, contact.customer_id
    )
    db.delete(contact)
    db.flush()


def set_consent(
    db: Session, actor: User | None, contact: Contact, channel: str, granted: bool, source: str
) -> Consent:
    """Record a contact's consent for a channel, with where it came from; kept in the audit too."""
    if channel not in [c.value for c in Channel]:
        raise ValidationError(
            [FieldError("channel", _("Choose one of: %(choices)s.", choices="email, sms, call"))]
        )
    source = source.strip()[:100] or "manual"
    row = next((c for c in contact.consents if c.channel == channel), None)
    before = None if row is None else row.granted
    if row is None:
        row = Consent(channel=channel, granted=granted, source=source)
        contact.consents.append(row)
    else:
        row.granted, row.source, row.recorded_at = granted, source, utcnow()
    audit.record(
        db,
        actor,
        "contact",
        contact.id,
        "consent",
        {f"consent.{channel}": [before, granted], "source": source},
        contact.customer_id,
    )
    db.flush()
    return row


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
