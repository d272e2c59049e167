"""The revenue Pareto of the director's dashboard: cumulative share of revenue against share of
customers, with the A/B cut lines of the revenue class rule, in one statement whose cost is one
sort of the range's buying customers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.charts import Chart, number
from hub.crm.customers.models import Customer
from hub.crm.rules import get_rules
from hub.crm.sales.models import Order
from hub.insight.filters import Filters
from hub.insight.slicing import customer_conditions, summary_conditions
from hub.insight.summaries import InsightCustomerFacts as Facts

PARETO_POINTS = 100


def revenue_pareto(db: Session, f: Filters) -> Chart:
    """Cumulative share of revenue against share of customers, with the A/B cut lines.

    Revenue is non-cancelled orders dated in the range; every customer matching the filters
    counts in the share of customers, with or without revenue. Cut lines follow the revenue
    class rule (hub.crm.customers.classification.suggest_by_revenue): a customer is A while the revenue
    of the customers above its group of equal revenue is under A% of the total.
    """
    percents = get_rules(db)["revenue_class_percent"]
    customers = int(db.scalar(
        sa.select(sa.func.sum(Facts.customers)).where(*summary_conditions(Facts, f))
    ) or 0)
    step = max(1, customers // PARETO_POINTS)
    points = db.execute(_pareto_points(db, f, int(percents["A"]), int(percents["B"]), step)).all()
    a_count, b_count = (int(points[0].a), int(points[0].b)) if points else (0, 0)
    rows: list[tuple[str, list[Any]]] = []
    cuts: list[tuple[str, float]] = []
    if customers and points:
        total = Decimal(points[0].total)
        rows.append(("0", [0]))
        for n, running, *_rest in points:
            rows.append((_share(n, customers), [number(100 * Decimal(running) / total, 1)]))
        if points[-1].n < customers:
            rows.append(("100", [100]))
        cuts = [
            (_("A cut"), number(100 * a_count / customers, 1)),
            (_("B cut"), number(100 * b_count / customers, 1)),
        ]
    return Chart(
        "pareto", _("Revenue Pareto"), "pareto", _("Share of customers (%)"),
        [_("Share of revenue (%)")], rows, unit="%", cuts=cuts,
        note=_("Orders dated in the range; cut lines from the revenue class rule."),
    )


def _pareto_points(db: Session, f: Filters, a_percent: int, b_percent: int,
                   step: int) -> sa.Select[Any]:
    """One statement: every `step`-th customer by revenue (and the last) with the revenue of the
    customers up to it, the total, and how many customers the A and B cut lines take in.

    Its cost is one sort of the buying customers: one window pass ranks them, and three plain
    passes over that result find the total and the cut lines. (A window per figure, as first
    written, took most of a second for a year at a million customers: 126,000 buyers.)
    """
    cents = db.get_bind().dialect.name == "postgresql"
    amount: Any = sa.func.sum(Order.amount)
    if cents:
        # Whole cents: bigint sums and comparisons are exact like numeric ones, and cheaper.
        amount = sa.cast(amount * 100, sa.BigInteger)
    # 'cancelled' written into the statement, not bound: the partial indexes of counted orders
    # (migration 0011) serve only a query whose condition is known to match theirs, which a
    # parameter is not to SQLite, nor to a generic plan of a prepared statement on PostgreSQL.
    counted = Order.status != sa.literal("cancelled", literal_execute=True)
    revenue = (
        sa.select(Order.customer_id.label("cid"), amount.label("rev"))
        .where(
            counted,
            Order.order_date >= f.start,
            Order.order_date <= f.end,
        )
        .group_by(Order.customer_id)
        .having(sa.func.sum(Order.amount) > 0)
    )
    if customer_conditions(f):
        revenue = revenue.join(Customer, Customer.id == Order.customer_id).where(
            *customer_conditions(f)
        )
    positive = revenue.subquery("positive")
    # One window (the same ORDER BY and frame), so the rank and the running sum agree.
    by_revenue = {"order_by": (positive.c.rev.desc(), positive.c.cid), "rows": (None, 0)}
    running: Any = sa.func.sum(positive.c.rev).over(**by_revenue)
    if cents:
        running = sa.cast(running, sa.BigInteger)  # a bigint's sum is numeric
    ranked = sa.select(
        positive.c.rev,
        sa.func.row_number().over(**by_revenue).label("n"),
        running.label("running"),
    ).cte("ranked")
    totals = sa.select(
        sa.func.max(ranked.c.n).label("ranked"), sa.func.max(ranked.c.running).label("total")
    ).cte("totals")
    # The cut rule looks at the revenue above a customer's group of equal revenue. That revenue
    # only grows down the ranking, so the customers under a cut are those ranked up to the last
    # one whose revenue before it is under the cut, with all of that one's equals: every
    # customer with at least its revenue. Compared without a division (SQLite would divide
    # whole numbers as integers).
    before = (ranked.c.running - ranked.c.rev) * 100
    limits = sa.select(
        sa.func.min(ranked.c.rev).filter(before < totals.c.total * a_percent).label("a_rev"),
        sa.func.min(ranked.c.rev).filter(
            before < totals.c.total * (a_percent + b_percent)
        ).label("b_rev"),
    ).select_from(ranked.join(totals, sa.true())).cte("limits")
    counts = sa.select(
        sa.func.count().filter(ranked.c.rev >= limits.c.a_rev).label("a"),
        sa.func.count().filter(ranked.c.rev >= limits.c.b_rev).label("b"),
    ).select_from(ranked.join(limits, sa.true())).cte("counts")
    return (
        sa.select(ranked.c.n, ranked.c.running, totals.c.total, counts.c.a, counts.c.b)
        .select_from(ranked.join(totals, sa.true()).join(counts, sa.true()))
        .where(sa.or_(ranked.c.n % step == 0, ranked.c.n == totals.c.ranked))
        .order_by(ranked.c.n)
    )


def _share(n: int, of: int) -> str:
    return str(number(100 * n / of, 1))
