"""Website lead capture: per-form keys (created and revoked by an admin), the lead matched to an
existing customer or created, assigned by rules (region, industry) or round-robin, and put on its
owner's due list at once."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from redis import Redis
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.core.auth import Role, User
from hub.core.clock import business_today, utcnow
from hub.core.db import Base
from hub.core.refusals import FieldError, NotFound, ValidationError
from hub.crm.customers import audit
from hub.crm.customers.models import Customer, LeadSource, Stage
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.intake.cleaning import clean_text
from hub.crm.intake.import_customers import absorb
from hub.crm.intake.import_files import guess_target
from hub.crm.intake.import_rows import ImportRow, existing_matches, parse_row

HONEYPOT = "_hp"  # a field hidden from people; a bot that fills it is answered but ignored
# On a web form "name" is the person writing; the company has its own field.
FORM_KEYS = {
    "name": "contact_name",
    "your_name": "contact_name",
    "full_name": "contact_name",
    "company": "name",
    "company_name": "name",
    "message": "notes",
    "留言": "notes",
    "咨询内容": "notes",
}
RULE_FIELDS = ("region", "industry", "city")
_RULE_LINE = re.compile(r"^\s*(\w+)\s*[:：]\s*(.+?)\s*=\s*(\S+@\S+)\s*$")


class LeadForm(Base):
    __tablename__ = "lead_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # Round-robin over these users, after the rules: [{"field", "value", "owner_id"}].
    owner_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.revoked_at is None


# --- admin ---------------------------------------------------------------------------------------


def parse_rules(db: Session, text: str) -> list[dict[str, Any]]:
    """Rule lines such as "region: 华南 = li@example.com"; every bad line is named."""
    rules, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _RULE_LINE.match(clean_text(line))
        if not match or match.group(1).lower() not in RULE_FIELDS:
            errors.append(
                FieldError(
                    "rules",
                    _(
                        "Line %(n)d: write a rule as “region: 华南 = owner@example.com” "
                        "(region, industry or city).",
                        n=number,
                    ),
                )
            )
            continue
        field, value, email = match.group(1).lower(), match.group(2), match.group(3)
        owner = _active_user(db, email)
        if owner is None:
            errors.append(
                FieldError(
                    "rules", _("Line %(n)d: no active user %(email)s.", n=number, email=email)
                )
            )
            continue
        rules.append({"field": field, "value": value, "owner_id": owner.id})
    if errors:
        raise ValidationError(errors)
    return rules


def _active_user(db: Session, email: str) -> User | None:
    user = db.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
    return user if user is not None and user.active else None


def create_form(
    db: Session, actor: User, name: str, owner_ids: list[int], rules_text: str = ""
) -> LeadForm:
    """A new form with its own key; leads go to these owners in turn unless a rule picks one."""
    errors: list[FieldError] = []
    name = clean_text(name)
    if not name:
        errors.append(FieldError("name", _("Give the form a name.")))
    elif len(name) > 100:
        errors.append(FieldError("name", _("At most %(count)d characters.", count=100)))
    owners = list(db.scalars(sa.select(User).where(User.id.in_(owner_ids), User.active.is_(True))))
    if not owners or len(owners) != len(set(owner_ids)):
        errors.append(FieldError("owner_ids", _("Choose at least one active owner.")))
    rules: list[dict[str, Any]] = []
    try:
        rules = parse_rules(db, rules_text)
    except ValidationError as exc:
        errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)
    form = LeadForm(
        name=name,
        key=secrets.token_urlsafe(24),
        owner_ids=[u.id for u in sorted(owners, key=lambda u: u.id)],
        rules=rules,
        created_by_id=actor.id,
    )
    db.add(form)
    db.flush()
    return form


def forms_query(query: str = "") -> sa.Select[tuple[LeadForm]]:
    """Lead forms whose name holds `query` (without case); unordered."""
    stmt = sa.select(LeadForm)
    text = clean_text(query).lower()
    if text:
        stmt = stmt.where(sa.func.lower(LeadForm.name).contains(text, autoescape=True))
    return stmt


def load_form(db: Session, form_id: int) -> LeadForm:
    form = db.get(LeadForm, form_id) if 0 < form_id < 2**31 else None
    if form is None:
        raise NotFound(_("There is no such form."))
    return form


def revoke_form(db: Session, form: LeadForm) -> None:
    """The key stops working at once; leads already captured stay."""
    if form.revoked_at is None:
        form.revoked_at = utcnow()


def form_for_key(db: Session, key: str) -> LeadForm:
    """The active form with this key; a wrong or revoked key is not found."""
    form = db.scalar(sa.select(LeadForm).where(LeadForm.key == key)) if len(key) <= 64 else None
    if form is None or not form.active:
        raise NotFound(_("There is no such form."))
    return form


# --- capture -------------------------------------------------------------------------------------


@dataclass
class Captured:
    customer: Customer
    created: bool


def capture_lead(
    db: Session,
    form: LeadForm,
    data: Mapping[str, Any],
    conn: Redis,
    region: str = "CN",
    today: date | None = None,
) -> Captured:
    """Match the lead to a customer (exact phone or email) or create one, write the follow-up
    and make it due today for its owner."""
    keys = [k for k in data if isinstance(k, str) and k != HONEYPOT]
    cells = [clean_text(data[k]) if data[k] is not None else "" for k in keys]
    mapping = [FORM_KEYS.get(k.strip().lower()) or guess_target(k) for k in keys]
    parsed = parse_row(0, cells, keys, mapping, region)
    errors = parsed if isinstance(parsed, list) else []
    if not isinstance(parsed, list) and not parsed.phones and not parsed.emails:
        errors = [FieldError("phone", _("Leave a phone number or an email to be reached at."))]
    if errors:
        raise ValidationError(errors)
    assert isinstance(parsed, ImportRow)
    row = parsed
    # The message goes on the follow-up, not into the customer's notes.
    note = row.values.pop("notes", "")
    today = today or business_today()
    customer = existing_matches(db, [row]).match(row)
    created = customer is None
    if customer is None:
        customer = Customer(
            name=row.name,
            kind=row.kind,
            stage=Stage.LEAD.value,
            lead_source=LeadSource.WEBSITE.value,
            owner_id=assign_owner(db, form, row, conn),
        )
        db.add(customer)
    changes = absorb(customer, row)
    db.flush()
    if created:
        snapshot = {"lead_form": form.name, **changes}
        audit.record(db, None, "customer", customer.id, "create", snapshot, customer.id)
    elif changes:
        audit.record(db, None, "customer", customer.id, "update", changes, customer.id)
    # Fields the hub has no place for (utm_source, a product picked) stay readable on the record.
    extra = [f"{k}: {c}" for k, c, t in zip(keys, cells, mapping, strict=True) if c and not t]
    message = "\n".join([note, *extra]).strip()
    log_follow_up(
        db,
        None,
        customer,
        FollowUpChannel.NOTE.value,
        _("Website form %(form)s: %(message)s", form=form.name, message=message or "—"),
        direction=Direction.INBOUND.value,
        next_contact_on=today,  # on the owner's due list at once
        today=today,
    )
    return Captured(customer, created)


def assign_owner(db: Session, form: LeadForm, row: ImportRow, conn: Redis) -> int | None:
    """The first rule that matches the lead (region, industry, city), else the next owner in
    turn; the turn is counted in Redis so every web process shares it."""
    active = set(
        db.scalars(sa.select(User.id).where(User.active.is_(True), User.role != Role.SPECIALIST))
    )
    for rule in form.rules:
        value = clean_text(row.values.get(rule["field"], "")).lower()
        if value and value == clean_text(rule["value"]).lower() and rule["owner_id"] in active:
            return int(rule["owner_id"])
    pool = [i for i in form.owner_ids if i in active]
    if not pool:
        return None
    turn = int(conn.incr(f"hub:lead-form:{form.id}:turn")) - 1
    return pool[turn % len(pool)]
