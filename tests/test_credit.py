"""Credit control: a review rated worse opens a credit event; the daily job opens one for a long
overdue amount, once; stopping shipments holds the customer and closing the event frees it; the
order credit check refuses (hold, over the limit) with the reason and stores nothing, unless a
director overrides with a reason, which is stored, audited and on the timeline."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.core.refusals import Conflict, Forbidden, ValidationError
from hub.crm.customers.models import AuditEntry, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.sales.credit import (
    add_action,
    close_event,
    is_worse,
    open_manual,
    open_overdue_events,
    record_review,
)
from hub.crm.sales.models import Order
from hub.crm.sales.order_changes import create_order
from hub.crm.sales.receivable_models import CreditEvent
from hub.crm.sales.receivables import raise_receivable
from tests.sales_api_helpers import order_body

TODAY = date(2026, 9, 1)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def _customer(db, rep, **kw):
    customer = Customer(name="Northwind Trading", owner_id=rep.id, **kw)
    db.add(customer)
    db.flush()
    return customer


def _owe(db, rep, customer, amount, due):
    return raise_receivable(db, rep, customer, {
        "amount": amount, "raised_on": "2026-05-01", "due_on": due}, today=date(2026, 5, 1))


def _order_data(amount, number="HT-9", **extra):
    return order_body(number, "2026-08-30", amount, currency="CNY", **extra)


def test_the_rating_scale_compares_only_ratings_on_it():
    assert is_worse("AA", "BBB") and is_worse("a", "B ")
    assert not is_worse("BBB", "AA") and not is_worse("A", "A")
    assert not is_worse("good", "D") and not is_worse(None, "C")


def test_a_review_sets_the_next_review_and_a_worse_rating_opens_an_event(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    customer = _customer(db, rep, customer_class="B", credit_rating="A")
    assert record_review(db, rep, customer, {"credit_rating": "AA", "credit_limit": "5000"},
                         today=TODAY) is None
    assert (customer.last_credit_review, customer.next_credit_review) == (TODAY, date(2026, 12, 1))
    assert customer.credit_limit == Decimal("5000")
    event = record_review(db, rep, customer, {"credit_rating": "BB", "note": "Late twice"},
                          today=TODAY)
    assert event is not None and event.trigger == "rating_worse"
    assert event.reason == "Rating went from AA to BB."
    # One open event at a time: a further drop is written down but opens no second one.
    assert record_review(db, rep, customer, {"credit_rating": "C"}, today=TODAY) is None
    with pytest.raises(ValidationError) as bad:
        record_review(db, rep, customer, {"credit_rating": "excellent", "credit_limit": "-1"})
    assert set(e.field for e in bad.value.errors) == {"credit_rating", "credit_limit"}
    assert customer.credit_rating == "C"
    summaries = db.scalars(sa.select(FollowUp.summary).where(
        FollowUp.customer_id == customer.id).order_by(FollowUp.id)).all()
    assert "Credit event opened: Rating went from AA to BB." in summaries


def test_the_overdue_job_opens_exactly_one_event(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    late = _customer(db, rep)
    recent = _customer(db, rep)
    _owe(db, rep, late, "100", "2026-06-01")  # 92 days overdue on TODAY
    _owe(db, rep, late, "100", "2026-06-02")
    _owe(db, rep, recent, "100", "2026-07-15")  # 48 days
    assert open_overdue_events(db, TODAY) == 1
    assert open_overdue_events(db, TODAY) == 0
    [event] = db.scalars(sa.select(CreditEvent)).all()
    assert (event.customer_id, event.trigger) == (late.id, "overdue")


def test_shipments_stopped_hold_orders_until_a_director_closes_the_event(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    director = db.merge(make_user("director"))
    customer = _customer(db, rep)
    with pytest.raises(Forbidden):
        open_manual(db, rep, customer, {"reason": "Rumours"})
    with pytest.raises(ValidationError):
        open_manual(db, director, customer, {"reason": " "})
    event = open_manual(db, director, customer, {"reason": "Owner left the country"})
    with pytest.raises(Conflict):
        open_manual(db, director, customer, {"reason": "again"})
    with pytest.raises(Forbidden):
        add_action(db, rep, event, {"kind": "deposit", "note": "x"})
    with pytest.raises(ValidationError) as bad:
        add_action(db, director, event, {"kind": "prayer", "note": ""})
    assert {e.field for e in bad.value.errors} == {"kind", "note"}
    add_action(db, director, event, {"kind": "shipments_stopped", "note": "Until paid"})
    assert customer.credit_hold

    with pytest.raises(Conflict) as refused:
        create_order(db, rep, customer, _order_data("10"))
    assert str(refused.value) == (
        "The customer is on credit hold: shipments are stopped by a credit event.")
    assert db.scalar(sa.select(sa.func.count(Order.id))) == 0

    close_event(db, director, event, {"note": "Paid in full"})
    assert not customer.credit_hold and event.closed_at is not None
    with pytest.raises(Conflict):
        add_action(db, director, event, {"kind": "deposit", "note": "late"})
    create_order(db, rep, customer, _order_data("10"))
    actions = db.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.entity == "credit_event", AuditEntry.entity_id == event.id)).all()
    assert actions == ["create", "action", "close"]


def test_over_the_limit_is_refused_unless_a_director_overrides(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    director = db.merge(make_user("director"))
    customer = _customer(db, rep, credit_limit=Decimal("1000"))
    _owe(db, rep, customer, "700", "2026-09-30")
    create_order(db, rep, customer, _order_data("300", "HT-1"))  # exactly the limit is fine
    with pytest.raises(Conflict) as refused:
        create_order(db, rep, customer, _order_data("300.01", "HT-2"))
    assert str(refused.value) == (
        "The open balance (CNY 700.00) plus this order (CNY 300.01) exceeds the credit limit "
        "(CNY 1000.00).")
    with pytest.raises(Forbidden):
        create_order(db, rep, customer, _order_data("300.01", "HT-2",
                                                    credit_override_reason="I know them"))
    assert db.scalar(sa.select(sa.func.count(Order.id))) == 1
    order = create_order(db, director, customer, _order_data(
        "5000", "HT-2", credit_override_reason="Bank guarantee received"))
    assert order.credit_override_reason == "Bank guarantee received"
    assert order.credit_override_by_id == director.id
    audit = db.scalars(sa.select(AuditEntry.changes).where(
        AuditEntry.entity == "order", AuditEntry.entity_id == order.id)).one()
    assert audit["credit_override_reason"] == "Bank guarantee received"
    assert db.scalar(sa.select(FollowUp.summary).where(
        FollowUp.order_id == order.id, FollowUp.status == "credit_override")) == (
        "Credit check overridden for order HT-2: Bank guarantee received")
