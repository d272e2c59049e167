"""The customer list's search: filters, sorts and pages over the customers a user may see, with what a customer owes overdue among the filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from hub.core.auth import User
from hub.core.clock import business_today
from hub.core.pagination import Page, paginate_by_id
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.lookup import custom_value, search_condition, visible_customers
from hub.crm.customers.models import (
    Customer,
    CustomField,
    CustomFieldValue,
    Tag,
)
from hub.crm.sales.receivables import oldest_overdue_due_expr, overdue_amount_expr

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
    # As typed (checked by filtered_customers): at least this much overdue in CNY, and the
    # oldest overdue amount at least this many days past due.
    overdue_amount: str | None = None
    overdue_days: str | None = None


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
                sub = sub.where(column >= custom_value(cf, low))
            if high not in (None, ""):
                sub = sub.where(column <= custom_value(cf, high))
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
    return stmt.where(*overdue_conditions(f.overdue_amount, f.overdue_days))


def overdue_conditions(amount: str | None, days: str | None,
                       today: date | None = None) -> list[sa.ColumnElement[bool]]:
    """Customers owing at least `amount` CNY overdue, and overdue for at least `days` days (the
    oldest overdue due date); each refused naming its query field when it is not a number."""
    today = today or business_today()
    errors: list[FieldError] = []
    conds: list[sa.ColumnElement[bool]] = []
    if amount not in (None, ""):
        try:
            number = Decimal(str(amount).strip().replace(",", ""))
            if not number.is_finite() or number < 0:
                raise InvalidOperation
            conds.append(overdue_amount_expr(today) >= number)
        except InvalidOperation:
            errors.append(FieldError("overdue_amount", _("The overdue amount must be a number of 0 or more.")))
    if days not in (None, ""):
        raw = str(days).strip()
        if raw.isdigit() and int(raw) <= 100_000:
            conds.append(oldest_overdue_due_expr(today) <= today - timedelta(days=int(raw)))
        else:
            errors.append(FieldError("overdue_days", _("The overdue days must be a whole number.")))
    if errors:
        raise ValidationError(errors)
    return conds


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
