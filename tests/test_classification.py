"""A/B/C rules: revenue (Pareto) and horizon suggestions, applying them, and the credit review date
that follows the class."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.core.auth import User
from hub.core.clock import business_today
from hub.core.refusals import Forbidden
from hub.crm.customers import classification as svc
from hub.crm.customers.lifecycle import set_class
from hub.crm.customers.models import AuditEntry, Customer
from hub.crm.followups.reminders import add_months
from hub.crm.rules import update_rules
from hub.crm.sales.models import Opportunity, Order
from tests.conftest import csrf_token
from tests.crm_helpers import api, token_for

TODAY = date(2026, 3, 2)


@pytest.fixture
def ctx(app):
    # A request context: messages are translated for the request's locale.
    with app.test_request_context():
        yield


def customers(db, n, prefix="Customer", **kw):
    rows = [Customer(name=f"{prefix} {i:03d}", **kw) for i in range(n)]
    db.add_all(rows)
    db.flush()
    return rows


def order(db, cust, amount, status="delivered", on=TODAY):
    db.add(
        Order(
            customer_id=cust.id,
            contract_number=f"HT-{cust.id}-{amount}-{status}-{on.isoformat()}",
            status=status,
            amount=Decimal(amount),
            order_date=on,
        )
    )


def test_when_ten_percent_make_seventy_percent_of_revenue_exactly_those_are_a(db):
    book = customers(db, 100)
    top, rest = book[:10], book[10:]
    # The rest make 1..90 (4095 in all); the top ten make 951..960 (9555): 70% of 13650.
    for i, c in enumerate(top):
        order(db, c, 951 + i)
    for i, c in enumerate(rest):
        order(db, c, 1 + i)
    # A cancelled order does not count: with it, the top ten would pass 70% on their own.
    order(db, rest[0], 100000, status="cancelled")
    db.commit()

    revenue = svc.revenue(db)
    assert sum(revenue.values()) == Decimal(13650)
    # The fallback used while hub.crm.sales.orders had no revenue_by_customer sums the same way.
    assert svc._revenue_from_orders(db, None) == revenue
    classes = svc.suggest_by_revenue(db, revenue)
    assert {cid for cid, cls in classes.items() if cls == "A"} == {c.id for c in top}
    # B follows down the ranking until 90%: the largest of the rest, and only they.
    b = sorted(revenue[cid] for cid, cls in classes.items() if cls == "B")
    c = sorted(revenue[cid] for cid, cls in classes.items() if cls == "C")
    assert b and c and min(b) > max(c)
    before_last_b = Decimal(9555) + sum(b) - min(b)
    assert before_last_b < Decimal(13650) * Decimal("0.9") <= Decimal(9555) + sum(b)


def test_customers_with_no_revenue_are_c(db):
    paying, idle = customers(db, 1, "Paying"), customers(db, 2, "Idle")
    order(db, paying[0], 500)
    order(db, idle[0], 800, status="cancelled")
    order(db, idle[1], 900, on=TODAY - timedelta(days=400))
    db.commit()
    classes = svc.suggest_by_revenue(db, svc.revenue(db, since=TODAY - timedelta(days=365)))
    assert classes == {paying[0].id: "A", idle[0].id: "C", idle[1].id: "C"}


def test_equal_revenue_gets_the_same_class():
    # 40 then two at 30: the second 30 starts at 70%, but a tie never splits a class.
    assert svc.suggest_by_revenue(None, {1: Decimal(40), 2: Decimal(30), 3: Decimal(30)}) == {
        1: "A",
        2: "A",
        3: "A",
    }
    four = {i: Decimal(25) for i in range(1, 5)}
    assert set(svc.suggest_by_revenue(None, four).values()) == {"A"}
    mixed = {1: Decimal(70), 2: Decimal(10), 3: Decimal(10), 4: Decimal(5), 5: Decimal(5)}
    assert svc.suggest_by_revenue(None, mixed) == {1: "A", 2: "B", 3: "B", 4: "C", 5: "C"}


def test_an_empty_book_and_a_book_without_revenue():
    assert svc.suggest_by_revenue(None, {}) == {}
    assert svc.suggest_by_revenue(None, {1: Decimal(0), 2: Decimal(0)}) == {1: "C", 2: "C"}
    assert svc.pareto({}, {}).points == []


def test_other_percentages_move_the_cuts():
    revenue = {1: Decimal(50), 2: Decimal(30), 3: Decimal(20)}
    assert svc.suggest_by_revenue(None, revenue, {"A": 50, "B": 30}) == {1: "A", 2: "B", 3: "C"}
    assert svc.suggest_by_revenue(None, revenue, {"A": 80, "B": 20}) == {1: "A", 2: "A", 3: "B"}


def test_the_horizon_rule_uses_the_nearest_open_opportunity(db):
    names = ["in10", "in45", "in80", "in120", "won", "nodate", "two", "late"]
    rows = {n: c for n, c in zip(names, customers(db, len(names)), strict=True)}

    def opp(name, days, stage="proposal"):
        close = None if days is None else TODAY + timedelta(days=days)
        db.add(
            Opportunity(customer_id=rows[name].id, title=name, stage=stage, expected_close=close)
        )

    opp("in10", 10)
    opp("in45", 45)
    opp("in80", 80)
    opp("in120", 120)
    opp("won", 5, stage="won")
    opp("won", 6, stage="lost")
    opp("nodate", None)
    opp("two", 70)
    opp("two", 20)
    opp("late", -15)
    db.commit()
    got = svc.suggest_by_horizon(db, today=TODAY)
    by_name = {n: got.get(c.id) for n, c in rows.items()}
    assert by_name == {
        "in10": "A",
        "in45": "B",
        "in80": "C",
        "in120": None,
        "won": None,
        "nodate": None,
        "two": "A",
        "late": "A",
    }
    edges = svc.suggest_by_horizon(db, {"A": 10, "B": 44, "C": 200}, today=TODAY)
    assert (edges[rows["in10"].id], edges[rows["in45"].id], edges[rows["in120"].id]) == (
        "A",
        "C",
        "C",
    )


def test_apply_writes_audited_changes_only_where_the_class_changes(ctx, db, make_user):
    director = db.get(User, make_user("director").id)
    up, same, down = customers(db, 3, customer_class="B")
    same.customer_class = "A"
    db.commit()
    reason = svc.rule_reason("revenue", {"A": 70, "B": 20, "since": TODAY})
    changed = svc.apply_suggestions(
        db, director, {up.id: "A", same.id: "A", down.id: "C"}, reason, today=TODAY
    )
    db.commit()
    assert changed == 2
    assert (up.customer_class, same.customer_class, down.customer_class) == ("A", "A", "C")
    entries = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "classify")).all()
    assert sorted(e.customer_id for e in entries) == sorted([up.id, down.id])
    assert all(e.user_id == director.id for e in entries)
    assert all(e.changes["reason"].startswith("Revenue rule") for e in entries)
    assert up.class_reason == reason


def test_an_agent_cannot_apply_rules(ctx, db, make_user):
    agent = db.get(User, make_user("agent").id)
    (c,) = customers(db, 1, owner_id=agent.id)
    with pytest.raises(Forbidden):
        svc.apply_suggestions(db, agent, {c.id: "A"}, "mine")


def test_the_credit_review_date_follows_the_class(ctx, db, make_user):
    director = db.get(User, make_user("director").id)
    reviewed, fresh = customers(db, 2)
    reviewed.last_credit_review = date(2026, 1, 31)
    db.commit()

    assert set_class(db, director, reviewed, "A", "big orders", today=TODAY)
    assert reviewed.next_credit_review == date(2026, 7, 31)  # six months after the last review
    assert set_class(db, director, reviewed, "B", "smaller now", today=TODAY)
    assert reviewed.next_credit_review == date(2026, 4, 30)  # three months; April has 30 days
    assert set_class(db, director, fresh, "A", "new and big", today=TODAY)
    assert fresh.next_credit_review == date(2026, 9, 2)  # never reviewed: from today

    update_rules(db, {"credit_review_months": {"A": 12, "B": 3, "C": 1}})
    assert set_class(db, director, fresh, "C", "gone quiet", today=TODAY)
    assert fresh.next_credit_review == date(2026, 4, 2)
    assert set_class(db, director, fresh, "A", "back", today=TODAY)
    assert fresh.next_credit_review == date(2027, 3, 2)
    before = fresh.next_credit_review
    assert not set_class(db, director, fresh, "A", "no change", today=TODAY + timedelta(days=9))
    assert fresh.next_credit_review == before


def test_the_class_set_through_the_api_moves_the_review_in_the_business_time_zone(
    app, db, make_user
):
    director = make_user("director")
    (c,) = customers(db, 1)
    db.commit()
    r = api(app.test_client(), token_for(app, director)).post(
        f"/customers/{c.id}/class", json={"customer_class": "B", "reason": "steady"}
    )
    assert r.status_code == 200, r.json
    with app.app_context():
        expected = add_months(business_today(), 3)
    assert r.json["next_credit_review"] == expected.isoformat()


def test_the_page_shows_suggestions_and_the_revenue_curve(app, client, db, signed_in):
    signed_in("director")
    big, small, none = customers(db, 3, customer_class="B")
    none.name = "<b>Zero & Co</b>"
    with app.app_context():
        day = business_today()
    order(db, big, 600, on=day)
    order(db, small, 400, on=day)
    db.commit()
    r = client.get("/classification")
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    assert "3 customers would change class" in body
    assert "<polyline" in body and "<title>" in body
    assert "Top 1 customers (33.3%): 60.0% of revenue" in body
    assert "&lt;b&gt;Zero &amp; Co&lt;/b&gt;" in body and "<b>Zero" not in body
    horizon = client.get("/classification?rule=horizon").get_data(as_text=True)
    assert "0 customers would change class" in horizon
    assert client.get("/classification?rule=magic").status_code == 422
    assert client.get("/classification?since=yesterday").status_code == 422


def test_applying_from_the_page_changes_the_ticked_or_all(app, client, db, signed_in):
    signed_in("director")
    big, small, none = customers(db, 3, customer_class="B")
    with app.app_context():
        day = business_today()
    order(db, big, 600, on=day)
    order(db, small, 400, on=day)
    db.commit()
    token = csrf_token(client, "/classification")
    form = {"csrf_token": token, "rule": "revenue", "since": "", "scope": "selected"}
    nothing = client.post("/classification/apply", data=form)
    assert nothing.status_code == 422
    assert "Tick at least one customer" in nothing.get_data(as_text=True)

    r = client.post("/classification/apply", data={**form, "customer_id": [str(big.id)]})
    assert r.status_code == 302
    db.expire_all()
    assert [c.customer_class for c in (big, small, none)] == ["A", "B", "B"]

    r = client.post("/classification/apply", data={**form, "scope": "all"})
    assert r.status_code == 302
    assert re.search(r"rule=revenue", r.headers["Location"])
    db.expire_all()
    assert [c.customer_class for c in (big, small, none)] == ["A", "A", "C"]
    reasons = db.scalars(sa.select(AuditEntry.changes).where(AuditEntry.action == "classify")).all()
    assert len(reasons) == 3
    assert all("Revenue rule" in r["reason"] for r in reasons)


def test_agents_cannot_open_the_classification_page(client, signed_in):
    signed_in("agent")
    assert client.get("/classification").status_code == 403


def test_applying_many_changes_runs_on_a_worker(app, client, db, signed_in, run_jobs):
    director = signed_in("director")
    many = svc.APPLY_INLINE_MAX + 1
    db.execute(
        sa.insert(Customer), [{"name": f"Idle {i:04d}", "customer_class": "B"} for i in range(many)]
    )
    db.commit()
    token = csrf_token(client, "/classification")
    r = client.post(
        "/classification/apply",
        data={"csrf_token": token, "rule": "revenue", "since": "", "scope": "all"},
    )
    assert r.status_code == 302
    assert db.scalar(sa.select(sa.func.count()).where(Customer.customer_class == "C")) == 0
    assert "being applied in the background" in client.get(r.headers["Location"]).get_data(
        as_text=True
    )

    assert run_jobs()
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).where(Customer.customer_class == "C")) == many
    audits = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "classify")).all()
    assert len(audits) == many
    assert {a.user_id for a in audits} == {director.id}
    assert all(a.changes["reason"].startswith("Revenue rule") for a in audits)
