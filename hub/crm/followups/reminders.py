"""Reminders: each user's due list, and the morning digest recorded for each rep."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.clock import business_today, business_zone, day_end
from hub.core.db import session_scope
from hub.core.pagination import Page, paginate
from hub.core.refusals import NotFound
from hub.crm.customers.list_extras import fallback_phones
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Digest
from hub.crm.rules import Rules
from hub.crm.sales.collection import chase_due, chase_list
from hub.crm.sales.receivable_models import Receivable
from hub.crm.service.models import Complaint

# --- business days ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; the 31st becomes the month's last day where there is none."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def next_credit_review_on(
    rules: Rules, customer_class: str, last_review: date | None, today: date
) -> date:
    """The next credit review: the class's interval after the last review (or after today)."""
    return add_months(last_review or today, rules.credit_review_months(customer_class))


# --- the due list -------------------------------------------------------------------------------

DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class DueEntry:
    """One thing to do: call a customer, review its credit, move a complaint on, or collect."""

    kind: str  # "contact", "credit_review", "complaint" or "collection"
    customer_id: int
    customer_name: str
    customer_class: str
    due_on: date
    overdue_days: int
    last_contact_at: datetime | None
    next_contact_on: date | None
    complaint_id: int | None = None
    complaint_step: str | None = None
    phone: str | None = None  # the customer's main number, for a call button
    # collection: what is overdue per currency, the oldest overdue days, a promise not kept
    overdue_amounts: dict[str, str] | None = None
    oldest_overdue_days: int = 0
    promise_broken: bool = False

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("due_on", "last_contact_at", "next_contact_on"):
            out[key] = out[key].isoformat() if out[key] is not None else None
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DueEntry:
        values = dict(data)
        for key in ("due_on", "next_contact_on"):
            values[key] = date.fromisoformat(values[key]) if values.get(key) else None
        last = values.get("last_contact_at")
        values["last_contact_at"] = datetime.fromisoformat(last) if last else None
        return cls(**values)


@dataclass(frozen=True)
class DueList:
    """A user's work list for one day; `totals` count everything, the lists hold the first ones."""

    for_date: date
    contacts: list[DueEntry] = field(default_factory=list)
    credit_reviews: list[DueEntry] = field(default_factory=list)
    complaints: list[DueEntry] = field(default_factory=list)
    collections: list[DueEntry] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    overdue: int = 0  # contacts whose date has passed, counted over the whole list

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DueList:
        """A list as a digest recorded it."""
        return cls(
            for_date=date.fromisoformat(data["for_date"]),
            totals=dict(data.get("totals") or {}),
            overdue=int(data.get("overdue") or 0),
            **{
                kind: [DueEntry.from_json(e) for e in data.get(kind) or []]
                for kind in ("contacts", "credit_reviews", "complaints", "collections")
            },
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "for_date": self.for_date.isoformat(),
            "totals": dict(self.totals),
            "overdue": self.overdue,
            "contacts": [e.as_json() for e in self.contacts],
            "credit_reviews": [e.as_json() for e in self.credit_reviews],
            "complaints": [e.as_json() for e in self.complaints],
            "collections": [e.as_json() for e in self.collections],
        }


def _contacts_due(user_id: int, today: date) -> sa.ColumnElement[bool]:
    return sa.and_(Customer.owner_id == user_id, Customer.next_contact_on <= today)


def _reviews_due(user_id: int, today: date) -> sa.ColumnElement[bool]:
    return sa.and_(Customer.owner_id == user_id, Customer.next_credit_review <= today)


def _complaints_due(user_id: int, today: date, tz: ZoneInfo) -> sa.ColumnElement[bool]:
    # A step due at any time today is on today's list: the list is what to do before the day ends.
    return sa.and_(
        Complaint.owner_id == user_id,
        Complaint.step != "followed_up",
        Complaint.step_due_at < day_end(today, tz),
    )


def _collections(db: Session, user_id: int, today: date, limit: int) -> list[DueEntry]:
    return [
        _entry("collection", c, chase, today, overdue_amounts=amounts,
               oldest_overdue_days=oldest, promise_broken=broken)
        for c, chase, amounts, oldest, broken in chase_list(db, user_id, today, limit)
    ]


def _entry(kind: str, customer: Customer, due_on: date, today: date, **extra: Any) -> DueEntry:
    return DueEntry(
        kind=kind,
        customer_id=customer.id,
        customer_name=customer.name,
        customer_class=customer.customer_class,
        due_on=due_on,
        overdue_days=max(0, (today - due_on).days),
        last_contact_at=customer.last_contact_at,
        next_contact_on=customer.next_contact_on,
        **{"phone": customer.phone} | extra,
    )


def due_items(
    db: Session, user: User, today: date, tz: ZoneInfo | None = None, limit: int = DEFAULT_LIMIT
) -> DueList:
    """What `user` has to do on `today`: contacts and credit reviews due, complaint steps due.

    Oldest first, so the most overdue work leads; each list holds at most `limit` entries.
    """
    tz = tz or business_zone()
    contacts = db.scalars(
        sa.select(Customer)
        .where(_contacts_due(user.id, today))
        .order_by(Customer.next_contact_on, Customer.customer_class, Customer.name, Customer.id)
        .limit(limit)
    )
    reviews = db.scalars(
        sa.select(Customer)
        .where(_reviews_due(user.id, today))
        .order_by(Customer.next_credit_review, Customer.customer_class, Customer.name, Customer.id)
        .limit(limit)
    )
    complaints = db.execute(
        sa.select(Complaint, Customer)
        .join(Customer, Complaint.customer_id == Customer.id)
        .where(_complaints_due(user.id, today, tz))
        .order_by(Complaint.step_due_at, Complaint.id)
        .limit(limit)
    ).all()
    contacts = list(contacts)
    # A customer without a number of its own is called on its first contact's, as on the list.
    phones = {cid: p.phone for cid, p in fallback_phones(db, contacts).items()}
    return DueList(
        for_date=today,
        contacts=[
            _entry("contact", c, c.next_contact_on, today, phone=c.phone or phones.get(c.id))
            for c in contacts
        ],
        credit_reviews=[_entry("credit_review", c, c.next_credit_review, today) for c in reviews],
        complaints=[
            _entry(
                "complaint",
                customer,
                complaint.step_due_at.astimezone(tz).date(),
                today,
                complaint_id=complaint.id,
                complaint_step=complaint.step,
            )
            for complaint, customer in complaints
        ],
        collections=_collections(db, user.id, today, limit),
        totals=_counts(db, user.id, today, tz),
        overdue=db.scalar(
            sa.select(sa.func.count(Customer.id)).where(
                Customer.owner_id == user.id, Customer.next_contact_on < today
            )
        )
        or 0,
    )


def _counts(db: Session, user_id: int, today: date, tz: ZoneInfo) -> dict[str, int]:
    def count(stmt: sa.Select[Any]) -> int:
        return db.scalar(stmt) or 0

    return {
        "contacts": count(
            sa.select(sa.func.count(Customer.id)).where(_contacts_due(user_id, today))
        ),
        "credit_reviews": count(
            sa.select(sa.func.count(Customer.id)).where(_reviews_due(user_id, today))
        ),
        "complaints": count(
            sa.select(sa.func.count(Complaint.id)).where(_complaints_due(user_id, today, tz))
        ),
        "collections": count(_collection_count().where(Customer.owner_id == user_id,
                                                      chase_due(today))),
    }


def _collection_count() -> sa.Select[Any]:
    return sa.select(sa.func.count(sa.distinct(Customer.id))).join(
        Receivable, Receivable.customer_id == Customer.id)


def due_count(db: Session, user: User, today: date, tz: ZoneInfo | None = None) -> int:
    """How many things are on the user's list today (for the navigation badge)."""
    return sum(_counts(db, user.id, today, tz or business_zone()).values())


@dataclass(frozen=True)
class RepCounts:
    user: User
    due: int
    overdue: int
    credit_reviews: int
    complaints: int
    collections: int = 0

    @property
    def total(self) -> int:
        return self.due + self.credit_reviews + self.complaints + self.collections


def team_counts(db: Session, today: date, tz: ZoneInfo | None = None) -> list[RepCounts]:
    """Per rep (every active user who owns customers or open complaints), what is due today."""
    tz = tz or business_zone()
    contact_rows = db.execute(
        sa.select(
            Customer.owner_id,
            sa.func.count(Customer.id).filter(Customer.next_contact_on <= today),
            sa.func.count(Customer.id).filter(Customer.next_contact_on < today),
            sa.func.count(Customer.id).filter(Customer.next_credit_review <= today),
        )
        .where(Customer.owner_id.is_not(None))
        .group_by(Customer.owner_id)
    ).all()
    complaint_rows = db.execute(
        sa.select(
            Complaint.owner_id,
            sa.func.count(Complaint.id).filter(Complaint.step_due_at < day_end(today, tz)),
        )
        .where(Complaint.owner_id.is_not(None), Complaint.step != "followed_up")
        .group_by(Complaint.owner_id)
    ).all()
    by_user: dict[int, list[int]] = {}
    for owner_id, due, overdue, reviews in contact_rows:
        by_user[owner_id] = [due, overdue, reviews, 0, 0]
    for owner_id, complaints in complaint_rows:
        by_user.setdefault(owner_id, [0, 0, 0, 0, 0])[3] = complaints
    for collections, owner_id in db.execute(
        _collection_count().add_columns(Customer.owner_id)
        .where(Customer.owner_id.is_not(None), chase_due(today)).group_by(Customer.owner_id)
    ).all():
        by_user.setdefault(owner_id, [0, 0, 0, 0, 0])[4] = collections
    if not by_user:
        return []
    users = db.scalars(
        sa.select(User).where(User.id.in_(by_user), User.active).order_by(User.name, User.email)
    )
    return [RepCounts(u, *by_user[u.id]) for u in users]


def can_see_list_of(viewer: User, user_id: int) -> bool:
    """Directors and admins read any rep's list; everyone else only their own."""
    return viewer.id == user_id or viewer.role in (Role.ADMIN, Role.DIRECTOR)


# --- the morning digest -------------------------------------------------------------------------


def build_digests(db: Session, for_date: date, tz: ZoneInfo | None = None) -> int:
    """Record one digest per rep with something due on `for_date`; returns how many were written.

    A rep who already has that day's digest is skipped, so a second run (or a second scheduler)
    writes nothing twice; the unique key settles a race between two runs.
    """
    tz = tz or business_zone()
    done = set(db.scalars(sa.select(Digest.user_id).where(Digest.for_date == for_date)))
    reps = db.scalars(
        sa.select(User)
        .where(
            User.active,
            User.id.in_(sa.select(Customer.owner_id).where(Customer.owner_id.is_not(None))),
        )
        .order_by(User.id)
    )
    written = 0
    for rep in reps:
        if rep.id in done:
            continue
        items = due_items(db, rep, for_date, tz)
        if items.total == 0:
            continue
        try:
            with db.begin_nested():
                db.add(Digest(user_id=rep.id, for_date=for_date, content=items.as_json()))
        except IntegrityError:
            continue  # another run wrote this rep's digest first
        written += 1
    return written


def send_morning_digests() -> int:
    """RQ job, daily: record today's digests (today in HUB_TIMEZONE). Returns how many."""
    with session_scope() as s:
        return build_digests(s, business_today())


def user_digests(db: Session, user: User, page: int = 1) -> Page:
    stmt = (
        sa.select(Digest)
        .where(Digest.user_id == user.id)
        .order_by(Digest.for_date.desc(), Digest.id.desc())
    )
    return paginate(db, stmt, page)


def load_digest(db: Session, user: User, digest_id: int) -> Digest:
    """One of the user's own digests; another's is as unknown as a missing one."""
    digest = db.get(Digest, digest_id)
    if digest is None or digest.user_id != user.id:
        raise NotFound(_("There is no digest %(id)s.", id=digest_id))
    return digest
