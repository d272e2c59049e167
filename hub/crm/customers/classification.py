"""A/B/C classification rules: suggest classes from revenue or from the sales horizon, and apply
them through the audited `set_class`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.db import session_scope
from hub.core.formatting import date_text
from hub.core.refusals import FieldError, Forbidden, ValidationError
from hub.crm.customers import lifecycle
from hub.crm.customers.models import Customer
from hub.crm.rules import get_rules
from hub.crm.sales.models import Opportunity, Order
from hub.crm.sales.opportunities import CLOSED_STAGES

try:  # written alongside this module; until it lands, the same sum is computed here
    from hub.crm.sales.orders import revenue_by_customer as _orders_revenue
except ImportError:
    _orders_revenue = None

RULES = ("revenue", "horizon")
DEFAULT_PERCENTS = {"A": 70, "B": 20}
DEFAULT_DAYS = {"A": 30, "B": 60, "C": 90}


# --- revenue ------------------------------------------------------------------------------------


def _revenue_from_orders(db: Session, since: date | None) -> dict[int, Decimal]:
    stmt = (
        sa.select(Order.customer_id, sa.func.sum(Order.amount))
        .where(Order.status != "cancelled")
        .group_by(Order.customer_id)
    )
    if since is not None:
        stmt = stmt.where(Order.order_date >= since)
    return {cid: Decimal(total or 0) for cid, total in db.execute(stmt)}


def revenue(db: Session, since: date | None = None) -> dict[int, Decimal]:
    """Non-cancelled order amounts per customer since `since`, for every customer (0 if none)."""
    if _orders_revenue is not None:
        by_customer = {k: Decimal(v) for k, v in _orders_revenue(db, since).items()}
    else:
        by_customer = _revenue_from_orders(db, since)
    everyone = dict.fromkeys(db.scalars(sa.select(Customer.id)), Decimal(0))
    everyone.update({k: v for k, v in by_customer.items() if k in everyone})
    return everyone


def _ranked(revenue: Mapping[int, Decimal]) -> list[tuple[int, Decimal]]:
    # Highest first; the id breaks ties so the order, and the chart, is stable.
    return sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))


def suggest_by_revenue(
    db: Session | None,
    revenue: Mapping[int, Decimal],
    percents: Mapping[str, int] = DEFAULT_PERCENTS,
) -> dict[int, str]:
    """Pareto classes: A while the revenue of the customers ranked above is under A% of the
    total, B while under (A+B)%, else C; no revenue is C.

    Customers with equal revenue share a class (the one the first of them gets), so which of two
    equal customers is "above" never decides a class.
    """
    total = sum((v for v in revenue.values() if v > 0), Decimal(0))
    a_cut = total * Decimal(percents["A"]) / 100
    b_cut = total * Decimal(percents["A"] + percents["B"]) / 100
    out: dict[int, str] = {}
    before = Decimal(0)
    group_value: Decimal | None = None
    group_class = "C"
    for customer_id, value in _ranked(revenue):
        if value <= 0:
            out[customer_id] = "C"
            continue
        if value != group_value:
            group_value = value
            group_class = "A" if before < a_cut else "B" if before < b_cut else "C"
        out[customer_id] = group_class
        before += value
    return out


@dataclass(frozen=True)
class ParetoPoint:
    customers: float  # share of customers ranked so far, 0..1
    revenue: float  # their share of revenue, 0..1
    count: int


@dataclass(frozen=True)
class Pareto:
    points: list[ParetoPoint]
    total: Decimal
    customers: int
    a_share: float  # share of customers that the rule makes A
    b_share: float  # share of customers that are A or B


def pareto(
    revenue: Mapping[int, Decimal],
    suggestions: Mapping[int, str],
    max_points: int = 120,
) -> Pareto:
    """The cumulative revenue curve, thinned to at most `max_points` points for drawing."""
    ranked = _ranked(revenue)
    n = len(ranked)
    total = sum((v for _cid, v in ranked if v > 0), Decimal(0))
    if n == 0 or total == 0:
        return Pareto([], total, n, 0.0, 0.0)
    step = max(1, n // max_points)
    points = [ParetoPoint(0.0, 0.0, 0)]
    running = Decimal(0)
    for i, (_cid, value) in enumerate(ranked, start=1):
        running += max(value, Decimal(0))
        if i % step == 0 or i == n:
            points.append(ParetoPoint(i / n, float(running / total), i))
    a = sum(1 for c in suggestions.values() if c == "A")
    b = sum(1 for c in suggestions.values() if c == "B")
    return Pareto(points, total, n, a / n, (a + b) / n)


# --- horizon ------------------------------------------------------------------------------------


def suggest_by_horizon(
    db: Session, days: Mapping[str, int] | None = None, *, today: date
) -> dict[int, str]:
    """From each customer's nearest open opportunity (not won or lost): expected to close within
    A days is A, B days B, C days C; later, or no date, gives no suggestion."""
    days = days or DEFAULT_DAYS
    rows = db.execute(
        sa.select(Opportunity.customer_id, sa.func.min(Opportunity.expected_close))
        .where(Opportunity.stage.not_in(CLOSED_STAGES), Opportunity.expected_close.is_not(None))
        .group_by(Opportunity.customer_id)
    ).all()
    out = {}
    for customer_id, closes in rows:
        # An open opportunity past its expected date is still the nearest sale: A.
        left = (closes - today).days
        for cls in ("A", "B", "C"):
            if left <= int(days[cls]):
                out[customer_id] = cls
                break
    return out


# --- one rule, as the page and the job run it -----------------------------------------------------


@dataclass(frozen=True)
class Suggested:
    """What a rule suggests today, with the parameters it ran with (for the reason and the page)."""

    rule: str
    since: date | None
    today: date
    params: dict[str, Any]
    suggestions: dict[int, str]
    revenue: dict[int, Decimal] | None  # the revenue rule's input, for its chart


def suggest(db: Session, rule: str, since: date | None, today: date) -> Suggested:
    """Run `rule` ("revenue" over orders since `since`, or "horizon") with the stored settings."""
    rules = get_rules(db)
    if rule == "revenue":
        percents = dict(rules["revenue_class_percent"])
        by_customer = revenue(db, since)
        suggestions = suggest_by_revenue(db, by_customer, percents)
        return Suggested(rule, since, today, {**percents, "since": since}, suggestions, by_customer)
    if rule == "horizon":
        days = dict(rules["horizon_class_days"])
        suggestions = suggest_by_horizon(db, days, today=today)
        return Suggested(rule, None, today, {**days, "today": today}, suggestions, None)
    raise ValidationError(
        [FieldError("rule", _("Choose one of: %(choices)s.", choices=", ".join(RULES)))]
    )


# --- applying -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    customer_id: int
    name: str
    current: str
    suggested: str


def changes(db: Session, suggestions: Mapping[int, str]) -> list[Change]:
    """The customers whose class the suggestions would change, by suggested class then name."""
    if not suggestions:
        return []
    rows = db.execute(
        sa.select(Customer.id, Customer.name, Customer.customer_class).order_by(
            Customer.name, Customer.id
        )
    )
    out = [
        Change(cid, name, current, suggestions[cid])
        for cid, name, current in rows
        if cid in suggestions and suggestions[cid] != current
    ]
    out.sort(key=lambda c: c.suggested)  # stable: the name order holds within a class
    return out


def rule_reason(rule: str, params: Mapping[str, Any]) -> str:
    """The reason written on each class change: the rule and its parameters."""
    if rule == "revenue":
        since = params.get("since")
        return _(
            "Revenue rule: A %(a)s%%, B %(b)s%% of revenue since %(since)s",
            a=params["A"],
            b=params["B"],
            since=date_text(since) if since else _("the first order"),
        )
    return _(
        "Horizon rule: closing within %(a)s days A, %(b)s B, %(c)s C (as of %(today)s)",
        a=params["A"],
        b=params["B"],
        c=params["C"],
        today=date_text(params["today"]),
    )


def apply_suggestions(
    db: Session,
    actor: User,
    suggestions: Mapping[int, str],
    reason: str,
    today: date | None = None,
) -> int:
    """Set the suggested classes through `set_class` (audited, with `reason`); returns how many
    changed. Customers already in their suggested class are left alone."""
    if actor.role not in ("admin", "director"):
        raise Forbidden(_("Only a director or an admin applies classification rules."))
    if not reason.strip():
        raise ValidationError([FieldError("reason", _("Say why the class changes."))])
    ids = sorted(suggestions)
    changed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for customer in db.scalars(sa.select(Customer).where(Customer.id.in_(chunk))):
            wanted = suggestions[customer.id]
            if customer.customer_class != wanted and lifecycle.set_class(
                db, actor, customer, wanted, reason, today=today
            ):
                changed += 1
    return changed


# Above this many changes, "apply all" runs as a job: each change is an audited write.
APPLY_INLINE_MAX = 500


def apply_rule_job(actor_id: int, rule: str, since: str | None, today: str, reason: str) -> int:
    """RQ job: run a rule again and apply every change it suggests. Returns how many changed.

    The reason comes ready-made: it was written in the requesting director's language.
    """
    with session_scope() as s:
        actor = s.get(User, actor_id)
        if actor is None or not actor.active:
            return 0
        day = date.fromisoformat(today)
        found = suggest(s, rule, date.fromisoformat(since) if since else None, day)
        return apply_suggestions(s, actor, found.suggestions, reason, today=day)
