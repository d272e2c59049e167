"""Customers, their contacts, tags, custom fields, consent, ownership history, audit and settings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base

MONEY = sa.Numeric(14, 2)


class CustomerClass(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class CustomerKind(StrEnum):
    ORGANIZATION = "organization"
    PERSON = "person"


class Stage(StrEnum):
    LEAD = "lead"
    PROSPECT = "prospect"
    CUSTOMER = "customer"
    INACTIVE = "inactive"


class LeadSource(StrEnum):
    WEBSITE = "website"
    IMPORT = "import"
    REFERRAL = "referral"
    EXHIBITION = "exhibition"
    CALL = "call"
    MANUAL = "manual"
    SMS = "sms"  # an unknown number texted in
    EMAIL = "email"  # an unknown address wrote in


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    CALL = "call"


customer_tags = sa.Table(
    "customer_tags",
    Base.metadata,
    sa.Column("customer_id", sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default=CustomerKind.ORGANIZATION.value)
    stage: Mapped[str] = mapped_column(sa.String(20), default=Stage.CUSTOMER.value, index=True)
    lead_source: Mapped[str] = mapped_column(sa.String(20), default=LeadSource.MANUAL.value)
    # basic
    name: Mapped[str] = mapped_column(sa.String(200))
    # The name without legal suffix or punctuation (hub.crm.intake.cleaning.company_key), kept by
    # _set_company_key below; likely duplicates are found by it.
    company_key: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # Two characters of the key after the city's name: similar names in a city are compared
    # within one block (hub.crm.intake.cleaning.match_block), not with every company there.
    match_block: Mapped[str] = mapped_column(sa.String(8), default="", server_default="")
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)  # E.164
    fax: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    website: Mapped[str | None] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    postcode: Mapped[str | None] = mapped_column(sa.String(20))
    city: Mapped[str | None] = mapped_column(sa.String(80))
    region: Mapped[str] = mapped_column(sa.String(80), default="")
    industry: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    size: Mapped[str | None] = mapped_column(sa.String(20))
    tax_number: Mapped[str | None] = mapped_column(sa.String(40))
    registration_number: Mapped[str | None] = mapped_column(sa.String(40))
    # credit
    registered_capital: Mapped[Decimal | None] = mapped_column(MONEY)
    year_founded: Mapped[int | None]
    credit_limit: Mapped[Decimal | None] = mapped_column(MONEY)
    credit_term_days: Mapped[int | None]
    payment_terms: Mapped[str | None] = mapped_column(sa.String(200))
    credit_rating: Mapped[str | None] = mapped_column(sa.String(20))
    last_credit_review: Mapped[date | None]
    next_credit_review: Mapped[date | None] = mapped_column(index=True)
    # Shipments stopped by a credit event's action: new orders are refused until it is closed.
    credit_hold: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # business
    staff_count: Mapped[int | None]
    sales_staff_count: Mapped[int | None]
    coverage_area: Mapped[str | None] = mapped_column(sa.String(200))
    delivery_method: Mapped[str | None] = mapped_column(sa.String(100))
    competing_products: Mapped[str | None] = mapped_column(sa.Text)
    # other
    purchase_plans: Mapped[str | None] = mapped_column(sa.Text)
    purchase_timing: Mapped[str | None] = mapped_column(sa.String(100))
    competitors: Mapped[str | None] = mapped_column(sa.Text)
    past_suppliers: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    # classification and follow-up
    customer_class: Mapped[str] = mapped_column(sa.String(1), default=CustomerClass.C.value)
    class_reason: Mapped[str | None] = mapped_column(sa.String(300))
    class_set_at: Mapped[datetime | None]
    owner_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    next_contact_on: Mapped[date | None] = mapped_column(index=True)
    last_contact_at: Mapped[datetime | None] = mapped_column(index=True)
    after_sale_since: Mapped[datetime | None]
    converted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.id"
    )
    tags: Mapped[list[Tag]] = relationship(secondary=customer_tags, order_by="Tag.name")
    custom_values: Mapped[list[CustomFieldValue]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint(sa.column("customer_class").in_(["A", "B", "C"]), name="class_known"),
        sa.CheckConstraint(sa.column("kind").in_(["organization", "person"]), name="kind_known"),
        sa.CheckConstraint(sa.column("stage").in_([s.value for s in Stage]), name="stage_known"),
        sa.Index("ix_customers_owner_next_contact", "owner_id", "next_contact_on"),
        # The list's default order; with the id, a deep page is an index-only walk.
        sa.Index("ix_customers_name_id", "name", "id"),
        sa.Index("ix_customers_company_key_city", "company_key", "city"),
        sa.Index("ix_customers_city_match_block", "city", "match_block"),
        # Class and region each lead an index, as they did alone; with the other one and the
        # id, the dashboards' class and region filters are index-only scans, not a walk over
        # the wide rows of a quarter of the table (migration 0011).
        sa.Index("ix_customers_class_region", "customer_class", "region", "id"),
        sa.Index("ix_customers_region_class", "region", "customer_class", "id"),
    )


@sa.event.listens_for(Customer, "before_insert")
@sa.event.listens_for(Customer, "before_update")
def _set_company_key(_mapper: Any, _conn: Any, target: Customer) -> None:
    from hub.crm.intake.cleaning import company_key, match_block

    target.company_key = company_key(target.name)
    target.match_block = match_block(target.company_key, target.city)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(120), index=True)  # same person, two companies
    title: Mapped[str | None] = mapped_column(sa.String(120))
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)  # E.164
    phone_ext: Mapped[str | None] = mapped_column(sa.String(10))  # "123" of "... 转 123"
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    is_decision_maker: Mapped[bool] = mapped_column(default=False)
    birthday: Mapped[date | None]
    preferences: Mapped[str | None] = mapped_column(sa.Text)
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    language: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")
    consents: Mapped[list[Consent]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="Consent.channel"
    )


class Consent(Base):
    """The current consent of a contact for one channel, with where it came from and when."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(sa.ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.String(10))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(sa.String(100))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="consents")

    __table_args__ = (
        sa.UniqueConstraint("contact_id", "channel"),
        sa.CheckConstraint(
            sa.column("channel").in_([c.value for c in Channel]), name="channel_known"
        ),
    )


class CustomField(Base):
    """A field an admin adds to customers: text, number, date or a choice."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    label: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(10))
    choices: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(
            sa.column("kind").in_(["text", "number", "date", "choice"]), name="kind_known"
        ),
    )


class CustomFieldValue(Base):
    """One customer's value of a custom field, in the column of its type so it filters as one."""

    __tablename__ = "custom_field_values"

    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    field_id: Mapped[int] = mapped_column(
        sa.ForeignKey("custom_fields.id", ondelete="CASCADE"), primary_key=True
    )
    value_text: Mapped[str | None] = mapped_column(sa.String(500))
    value_number: Mapped[Decimal | None] = mapped_column(sa.Numeric(18, 4))
    value_date: Mapped[date | None]

    field: Mapped[CustomField] = relationship()

    __table_args__ = (
        sa.Index("ix_custom_field_values_field_text", "field_id", "value_text"),
        sa.Index("ix_custom_field_values_field_number", "field_id", "value_number"),
        sa.Index("ix_custom_field_values_field_date", "field_id", "value_date"),
    )

    @property
    def value(self) -> Any:
        kind = self.field.kind
        if kind == "number" and self.value_number is not None:
            # 120, not 120.0000: the column's scale is storage, not what was typed.
            return Decimal(format(self.value_number.normalize(), "f"))
        if kind == "date":
            return self.value_date
        return self.value_text


class Assignment(Base):
    """A change of owner: who moved the customer from whom to whom, when and why."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    from_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    by_user: Mapped[User | None] = relationship(foreign_keys=[by_user_id])


class AuditEntry(Base):
    """Who changed what, when, with the values before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(sa.String(30))
    entity_id: Mapped[int]
    customer_id: Mapped[int | None] = mapped_column(index=True)  # no FK: the trail outlives deletes
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(20))
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_audit_log_entity", "entity", "entity_id"),)


class CrmSetting(Base):
    """A configurable rule (cadences, thresholds, pipeline stages), stored as JSON."""

    __tablename__ = "crm_settings"

    key: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
