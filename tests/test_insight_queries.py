"""The director's rewritten queries (the revenue Pareto in one sort, the pipeline in one scan)
give exactly what the plain queries they replaced gave, on a data set with ties, zero and
cancelled revenue, every filter, and after the data changes."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from hub.core.charts import number
from hub.crm.customers.classification import suggest_by_revenue
from hub.crm.customers.models import Customer
from hub.crm.sales.models import Opportunity, Order
from hub.crm.sales.opportunities import CLOSED_STAGES
from hub.insight import director, pareto, summaries
from hub.insight.filters import Filters
from hub.insight.slicing import customer_conditions, summary_conditions, with_customer_filters
from tests.insight_data import NOW

UTC = ZoneInfo("UTC")
START, END = date(2026, 1, 1), date(2026, 3, 15)
CLASSES, REGIONS = ("A", "B", "C"), ("North", "South", "East")
# Few distinct amounts, so customers tie on revenue (the cut rule's groups of equals).
AMOUNTS = ("100", "250", "250.50", "999.99", "1000", "0.01", "0")


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def people(make_user):
    return make_user("agent", name="Ann"), make_user("agent", name="Bob")


def add_data(db: Any, people: tuple[Any, ...], seed: int, customers: int = 90) -> list[int]:
    rnd = random.Random(seed)
    ids = []
    for i in range(customers):
        owner = rnd.choice([*people, None])
        c = Customer(name=f"C{seed}-{i}", customer_class=rnd.choice(CLASSES),
                     region=rnd.choice(REGIONS), owner_id=owner.id if owner else None)
        db.add(c)
        db.flush()
        ids.append(c.id)
    for n in range(customers * 3):
        db.add(Order(customer_id=rnd.choice(ids[: customers // 2]) if n % 3 else rnd.choice(ids),
                     contract_number=f"Q{seed}-{n}", amount=Decimal(rnd.choice(AMOUNTS)),
                     order_date=START + timedelta(days=rnd.randint(-30, 90)),
                     status=rnd.choice(["confirmed", "delivered", "pending", "cancelled"])))
    for n in range(customers):
        stage = rnd.choice(["new", "qualified", "proposal", "negotiation", "won", "lost"])
        amount = rnd.choice([None, *AMOUNTS])
        db.add(Opportunity(
            customer_id=rnd.choice(ids), title=f"O{seed}-{n}", stage=stage,
            owner_id=rnd.choice(people).id, amount=Decimal(amount) if amount else None,
            expected_close=rnd.choice([None, START + timedelta(days=rnd.randint(0, 200))]),
        ))
    db.commit()
    return ids


def filter_sets(people: tuple[Any, ...]) -> list[Filters]:
    ann, bob = people
    cuts: list[dict[str, Any]] = [
        {}, {"customer_class": "A"}, {"region": "South"}, {"customer_class": "B", "region": "North"},
        {"owner_id": ann.id}, {"owner_id": bob.id, "customer_class": "C"},
        {"customer_class": "A", "region": "Nowhere"},
    ]
    out = [Filters(START, END, NOW, UTC, **kw) for kw in cuts]
    out.append(Filters(START - timedelta(days=40), END + timedelta(days=40), NOW, UTC))
    out.append(Filters(START, START, NOW, UTC))
    return out


# --- the plain queries, as they were before the rewrite -----------------------------------------


def plain_pareto_points(db: Any, f: Filters, customers: int, percents: dict[str, int]) -> list:
    revenue = (
        sa.select(Order.customer_id.label("cid"), sa.func.sum(Order.amount).label("rev"))
        .where(Order.status != "cancelled", Order.order_date >= f.start,
               Order.order_date <= f.end)
        .group_by(Order.customer_id)
    )
    if customer_conditions(f):
        revenue = revenue.join(Customer, Customer.id == Order.customer_id).where(
            *customer_conditions(f))
    positive = revenue.having(sa.func.sum(Order.amount) > 0).subquery()
    order = (positive.c.rev.desc(), positive.c.cid)
    ranked = sa.select(
        sa.func.row_number().over(order_by=order).label("n"),
        sa.func.sum(positive.c.rev).over(order_by=order, rows=(None, 0)).label("running"),
        (
            sa.func.sum(positive.c.rev).over(order_by=positive.c.rev.desc())
            - positive.c.rev * sa.func.count().over(partition_by=positive.c.rev)
        ).label("above"),
        sa.func.sum(positive.c.rev).over().label("total"),
        sa.func.count().over().label("ranked"),
    ).subquery()
    step = max(1, customers // pareto.PARETO_POINTS)
    a_cut = ranked.c.total * int(percents["A"])
    b_cut = ranked.c.total * (int(percents["A"]) + int(percents["B"]))
    counted = sa.select(
        ranked.c.n, ranked.c.running, ranked.c.total, ranked.c.ranked,
        sa.func.sum(sa.case((ranked.c.above * 100 < a_cut, 1), else_=0)).over().label("a"),
        sa.func.sum(sa.case((ranked.c.above * 100 < b_cut, 1), else_=0)).over().label("b"),
    ).subquery()
    return db.execute(
        sa.select(counted.c.n, counted.c.running, counted.c.total, counted.c.a, counted.c.b)
        .where(sa.or_(counted.c.n % step == 0, counted.c.n == counted.c.ranked))
        .order_by(counted.c.n)
    ).all()


def plain_pipeline(db: Any, f: Filters) -> tuple[list, list]:
    by_stage = with_customer_filters(
        sa.select(Opportunity.stage, sa.func.sum(Opportunity.amount), sa.func.count())
        .where(Opportunity.stage.not_in(CLOSED_STAGES)).group_by(Opportunity.stage),
        f, Opportunity.customer_id, Opportunity.owner_id,
    )
    year = sa.cast(sa.extract("year", Opportunity.expected_close), sa.Integer)
    month = sa.cast(sa.extract("month", Opportunity.expected_close), sa.Integer)
    by_month = with_customer_filters(
        sa.select(year, month, sa.func.sum(Opportunity.amount))
        .where(Opportunity.stage.not_in(CLOSED_STAGES)).group_by(year, month),
        f, Opportunity.customer_id, Opportunity.owner_id,
    )
    stages = {s: (number(t or 0), n) for s, t, n in db.execute(by_stage)}
    months = sorted(((y, m, number(t or 0)) for y, m, t in db.execute(by_month)),
                    key=lambda r: (r[0] is None, r[0] or 0, r[1] or 0))
    return sorted(stages.items()), months


# --- the checks ---------------------------------------------------------------------------------


def check_pareto(db: Any, f: Filters) -> None:
    percents = {"A": 70, "B": 20}
    chart = director.revenue_pareto(db, f)
    customers = int(db.scalar(sa.select(sa.func.sum(summaries.InsightCustomerFacts.customers))
                              .where(*summary_conditions(
                                  summaries.InsightCustomerFacts, f))) or 0)
    plain = plain_pareto_points(db, f, customers, percents)
    new = db.execute(pareto._pareto_points(db, f, 70, 20,
                                             max(1, customers // pareto.PARETO_POINTS))).all()
    assert [r.n for r in new] == [r.n for r in plain]
    assert [(int(r.a), int(r.b)) for r in new] == [(int(r.a), int(r.b)) for r in plain]
    scale = 100 if db.get_bind().dialect.name == "postgresql" else 1  # cents there
    assert [Decimal(r.running) for r in new] == [Decimal(r.running) * scale for r in plain]
    # What the chart shows, against the same figures worked out in Python.
    revenue = python_revenue(db, f)
    ranked = sorted((v for v in revenue.values() if v > 0), reverse=True)
    if not customers or not ranked:
        assert chart.rows == [] and chart.cuts == []
        return
    total = sum(ranked)
    step = max(1, customers // pareto.PARETO_POINTS)
    expected = [("0", [0])]
    for n in range(1, len(ranked) + 1):
        if n % step == 0 or n == len(ranked):
            expected.append((pareto._share(n, customers),
                             [number(100 * sum(ranked[:n]) / total, 1)]))
    if len(ranked) < customers:
        expected.append(("100", [100]))
    assert [(label, values) for label, values in chart.rows] == expected
    classes = suggest_by_revenue(None, revenue, percents)
    a = sum(1 for v in classes.values() if v == "A")
    ab = sum(1 for v in classes.values() if v in "AB")
    assert [v for _label, v in chart.cuts] == [number(100 * a / customers, 1),
                                              number(100 * ab / customers, 1)]


def python_revenue(db: Any, f: Filters) -> dict[int, Decimal]:
    wanted = {
        c.id for c in db.scalars(sa.select(Customer))
        if (f.customer_class is None or c.customer_class == f.customer_class)
        and (f.region is None or c.region == f.region)
        and (f.owner_id is None or c.owner_id == f.owner_id)
    }
    revenue = dict.fromkeys(wanted, Decimal(0))
    for o in db.scalars(sa.select(Order)):
        if o.customer_id in wanted and o.status != "cancelled" and f.start <= o.order_date <= f.end:
            revenue[o.customer_id] += Decimal(o.amount)
    return revenue


def check_pipeline(db: Any, f: Filters) -> None:
    stages, months = plain_pipeline(db, f)
    by_stage = dict(director.pipeline_by_stage(db, f).rows)
    for stage, (value, _n) in stages:
        assert by_stage[str(director.stage_label(stage))] == [value]
    month_rows = director.pipeline_by_month(db, f).rows
    assert [values[0] for _label, values in month_rows] == [t for _y, _m, t in months]
    assert [label for label, _v in month_rows] == [
        f"{y:04d}-{m:02d}" if y is not None else "No date" for y, m, _t in months
    ]


@pytest.mark.parametrize(("seed", "customers"), [(1, 90), (2, 250)])
def test_the_rewritten_director_queries_equal_the_plain_ones(db, people, ctx, seed, customers):
    add_data(db, people, seed, customers)
    summaries.refresh_all(db, UTC, NOW)
    db.commit()
    for f in filter_sets(people):
        check_pareto(db, f)
        check_pipeline(db, f)


def test_they_stay_equal_after_the_data_changes_and_the_summaries_refresh(db, people, ctx):
    ids = add_data(db, people, 3)
    summaries.refresh_all(db, UTC, NOW)
    db.commit()
    # New buyers (ties with the old), a cancellation, a class and region change, new customers,
    # a won deal: then the periodic refresh, as the job runs it.
    for n, cid in enumerate(ids[-10:]):
        db.add(Order(customer_id=cid, contract_number=f"late-{n}", amount=Decimal("250.50"),
                     order_date=START + timedelta(days=n), status="delivered"))
    db.execute(sa.update(Order).where(Order.customer_id == ids[0]).values(status="cancelled"))
    db.execute(sa.update(Customer).where(Customer.id.in_(ids[:20]))
               .values(customer_class="A", region="South"))
    db.execute(sa.update(Opportunity).where(Opportunity.customer_id == ids[1])
               .values(stage="won"))
    add_data(db, people, 4, customers=15)
    summaries.refresh_recent(db, UTC, NOW)
    db.commit()
    for f in filter_sets(people):
        check_pareto(db, f)
        check_pipeline(db, f)


def test_no_orders_in_the_range_draws_no_curve(db, people, ctx):
    add_data(db, people, 5, customers=10)
    summaries.refresh_all(db, UTC, NOW)
    db.commit()
    empty = Filters(date(2020, 1, 1), date(2020, 1, 31), NOW, UTC)
    chart = director.revenue_pareto(db, empty)
    assert chart.rows == [] and chart.cuts == []
