"""Creating and changing customers and contacts: validation, tags, custom values, consent, and
the audit entry every change writes."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.clock import utcnow
from hub.core.refusals import FieldError, Forbidden, ValidationError
from hub.core.validation import parse, unknown_keys
from hub.crm.customers import audit
from hub.crm.customers.fields import CONTACT_FIELDS, CUSTOMER_CREATE_EXTRA, CUSTOMER_FIELDS
from hub.crm.customers.lookup import can_create, can_edit, custom_value
from hub.crm.customers.models import (
    Channel,
    Consent,
    Contact,
    Customer,
    CustomField,
    CustomFieldValue,
    Tag,
)


def _tags(db: Session, names: Sequence[str]) -> list[Tag]:
    if not names:
        return []
    existing = {t.name: t for t in db.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name not in existing:
            existing[name] = Tag(name=name)
            db.add(existing[name])
    return [existing[n] for n in names]


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
            value = custom_value(cf, raw)
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
