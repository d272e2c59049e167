"""The aging of receivables at a fixed day: the seven buckets' edges (30/31, 730/731), not yet
due kept apart, partial payments, currencies, the groups, and what the API answers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from hub.crm.customers.models import Customer
from hub.crm.sales.aging import AgingFilters, aging, bucket_of, buckets_json, top_overdue
from hub.crm.sales.receivables import raise_receivable, record_payment
from tests.conftest import business_day
from tests.crm_helpers import api, token_for

TODAY = date(2026, 6, 30)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def _customer(db, owner, name, cls="B"):
    customer = Customer(name=name, owner_id=owner.id if owner else None, customer_class=cls)
    db.add(customer)
    db.flush()
    return customer


def _owe(db, customer, amount, days_overdue, currency="CNY", today=TODAY):
    """A receivable due `days_overdue` days before `today` (negative: due later)."""
    due = today - timedelta(days=days_overdue)
    raised = min(due, today) - timedelta(days=5)
    return raise_receivable(db, None, customer, {
        "amount": amount, "currency": currency, "raised_on": raised.isoformat(),
        "due_on": due.isoformat()}, today=today)


def test_bucket_edges():
    assert [bucket_of(d) for d in (1, 30, 31, 60, 61, 90, 91, 180, 181, 365, 366, 730, 731, 5000)] == [
        "0-30", "0-30", "31-60", "31-60", "61-90", "61-90", "91-180", "91-180",
        "181-365", "181-365", "366-730", "366-730", "730+", "730+"]
    assert bucket_of(0) == "not_yet_due"


def test_each_amount_lands_in_its_bucket_at_the_edges(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    a = _customer(db, rep, "Alpha")
    b = _customer(db, rep, "Beta")
    _owe(db, a, "30", 30)
    _owe(db, a, "31", 31)
    _owe(db, b, "730", 730)
    _owe(db, b, "731", 731)
    _owe(db, b, "1", 1)
    _owe(db, a, "0.5", 0)  # due today: not yet overdue
    _owe(db, a, "99", -10)
    _owe(db, a, "500", 45, currency="USD")  # another currency is reported apart
    db.flush()
    result = aging(db, TODAY, AgingFilters(currency="CNY"))
    assert {k: str(v) for k, v in result.totals.buckets.items()} == {
        "0-30": "31.00", "31-60": "31.00", "61-90": "0.00", "91-180": "0.00",
        "181-365": "0.00", "366-730": "730.00", "730+": "731.00"}
    assert result.totals.not_yet_due == Decimal("99.50")
    assert result.customers == {"0-30": 2, "31-60": 1, "61-90": 0, "91-180": 0,
                                "181-365": 0, "366-730": 1, "730+": 1}
    by_name = {r.label: r for r in result.rows}
    assert by_name["Alpha"].overdue == Decimal("61.00")
    assert by_name["Beta"].overdue == Decimal("1462.00")
    assert [r.label for r in result.rows] == ["Beta", "Alpha"]  # most overdue first
    usd = aging(db, TODAY, AgingFilters(currency="USD"))
    assert usd.totals.buckets["31-60"] == Decimal("500.00")
    assert usd.totals.overdue == Decimal("500.00")


def test_partial_payments_leave_the_outstanding_and_settled_ones_leave(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    a = _customer(db, rep, "Alpha")
    part = _owe(db, a, "1000", 70)
    whole = _owe(db, a, "200", 100)
    db.flush()
    record_payment(db, None, part, {"amount": "400", "method": "cash",
                                    "paid_on": TODAY.isoformat()}, today=TODAY)
    record_payment(db, None, whole, {"amount": "200", "method": "cash",
                                     "paid_on": TODAY.isoformat()}, today=TODAY)
    db.flush()
    result = aging(db, TODAY)
    assert result.totals.buckets["61-90"] == Decimal("600.00")
    assert result.totals.buckets["91-180"] == Decimal("0.00")
    assert result.customers["91-180"] == 0


def test_groups_and_filters(ctx, db, make_user):
    one = db.merge(make_user("agent", name="One"))
    two = db.merge(make_user("agent", name="Two"))
    _owe(db, _customer(db, one, "Alpha", "A"), "10", 5)
    _owe(db, _customer(db, one, "Beta", "B"), "20", 5)
    _owe(db, _customer(db, two, "Gamma", "A"), "40", 5)
    db.flush()
    by_owner = {r.label: r.overdue for r in aging(db, TODAY, group="owner").rows}
    assert by_owner == {"One": Decimal("30.00"), "Two": Decimal("40.00")}
    by_class = {r.label: r.overdue for r in aging(db, TODAY, group="class").rows}
    assert by_class == {"A": Decimal("50.00"), "B": Decimal("20.00")}
    only = aging(db, TODAY, AgingFilters(owner_id=one.id, customer_class="A"))
    assert [r.label for r in only.rows] == ["Alpha"]
    # An agent sees their own customers only, whatever the filter.
    assert [r.label for r in aging(db, TODAY, user=two).rows] == ["Gamma"]
    top = top_overdue(db, TODAY)
    assert [(c.name, amount, days) for c, amount, days in top] == [
        ("Gamma", Decimal("40.00"), 5), ("Beta", Decimal("20.00"), 5),
        ("Alpha", Decimal("10.00"), 5)]


def test_buckets_json_has_all_seven_in_order_with_strings(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    _owe(db, _customer(db, rep, "Alpha"), "12.30", 400)
    db.flush()
    out = buckets_json(aging(db, TODAY))
    assert [b["label"] for b in out["buckets"]] == [
        "0-30", "31-60", "61-90", "91-180", "181-365", "366-730", "730+"]
    assert out["buckets"][5] == {"label": "366-730", "amount": "12.30", "customers": 1}
    assert out["buckets"][0] == {"label": "0-30", "amount": "0.00", "customers": 0}
    assert out["total"] == "12.30"


def test_the_aging_api_answers_exactly_the_documented_shape(app, db, make_user):
    director = make_user("director")
    agent = make_user("agent")
    today = business_day(app)
    with app.test_request_context():
        c = _customer(db, db.merge(agent), "Alpha", "A")
        _owe(db, c, "100", 31, today=today)
        _owe(db, c, "50", -3, today=today)
        db.commit()
    client = api(app.test_client(), token_for(app, director))
    answer = client.get("/receivables/aging")
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"buckets", "total"}
    assert body["total"] == "100.00"
    assert body["buckets"][1] == {"label": "31-60", "amount": "100.00", "customers": 1}
    assert all(set(b) == {"label", "amount", "customers"} for b in body["buckets"])
    assert client.get("/receivables/aging?class=B").get_json()["total"] == "0.00"
    assert client.get(f"/receivables/aging?owner_id={agent.id}").get_json()["total"] == "100.00"
    assert client.get("/receivables/aging?currency=USD").get_json()["total"] == "0.00"
    for query, field in (("class=Z", "class"), ("owner_id=x", "owner_id"), ("currency=EURO", "currency")):
        bad = client.get(f"/receivables/aging?{query}")
        assert bad.status_code == 422
        assert [e["field"] for e in bad.get_json()["errors"]] == [field]


def test_the_director_dashboard_plots_age_and_top_debtors_with_csv(app, client, signed_in, db):
    director = signed_in("director")
    today = business_day(app)
    with app.test_request_context():
        for i in range(12):
            _owe(db, _customer(db, db.merge(director), f"Debtor {i:02d}"), str(100 + i), 10 * i + 1,
                 today=today)
        db.commit()
    page = client.get("/insight/director").get_data(as_text=True)
    assert 'id="chart-receivables_age"' in page and 'id="chart-top_overdue"' in page
    ages = list(csv.reader(io.StringIO(
        client.get("/insight/director/receivables_age.csv").get_data(as_text=True))))
    assert [r[0] for r in ages[1:]] == ["0-30", "31-60", "61-90", "91-180", "181-365", "366-730", "730+"]
    # Debtors 0-2 are 1, 11, 21 days overdue; 3-5: 31-51; 6-8: 61-81; 9-11: 91-111
    assert float(ages[1][1]) == 303 and float(ages[4][1]) == 109 + 110 + 111
    top = list(csv.reader(io.StringIO(
        client.get("/insight/director/top_overdue.csv").get_data(as_text=True))))
    assert len(top) == 11  # the heading and ten customers
    assert top[1][0] == "Debtor 11 (111 days)" and float(top[1][1]) == 111
    assert top[10][0] == "Debtor 02 (21 days)"


def test_demo_receivables_fill_every_bucket_with_payments_and_credit_events(app, db, make_user):
    import random

    import sqlalchemy as sa

    from hub.crm.sales.demo import demo_sales
    from hub.crm.sales.receivable_models import CreditEvent, Payment, Receivable

    staff = [db.merge(u) for u in (make_user("director"), make_user("agent"))]
    for i in range(60):
        db.add(Customer(name=f"Demo {i}", owner_id=staff[1].id))
    db.commit()
    with app.test_request_context():
        demo_sales(db, random.Random(5), list(db.scalars(sa.select(Customer))), staff)
        db.commit()
        today = business_day(app)
        result = aging(db, today)
    assert all(result.totals.buckets[label] > 0 for label in result.totals.buckets)
    assert result.totals.not_yet_due > 0
    receivables = db.scalars(sa.select(Receivable)).all()
    assert {r.status for r in receivables} == {"open", "settled"}
    assert any(r.status == "open" and 0 < r.paid < r.amount for r in receivables)  # partly paid
    for r in receivables:  # what is paid is the sum of its payments
        assert r.paid == sum((p.amount for p in r.payments), Decimal("0"))
    assert db.scalar(sa.select(sa.func.count()).select_from(Payment)) > 0
    events = db.scalars(sa.select(CreditEvent)).all()
    assert len(events) == 3 and all(e.actions for e in events)
    stopped = [e.customer for e in events if any(a.kind == "shipments_stopped" for a in e.actions)]
    assert stopped and all(c.credit_hold for c in stopped)
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer).where(Customer.credit_hold)) == len(stopped)
