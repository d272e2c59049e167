"""Receivables: shipping an order raises what it asks, due after the customer's payment terms;
a shipment may be raised on its own; payments (partial, several) settle them; every bad value is
refused naming its field and changes nothing; a customer's balance, overdue amount and oldest
overdue day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.core.refusals import ValidationError
from hub.crm.customers.models import AuditEntry, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.sales.order_changes import create_order, set_status
from hub.crm.sales.receivable_models import Payment, Receivable
from hub.crm.sales.receivables import customer_figures, raise_receivable, record_payment

TODAY = date(2026, 6, 30)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def _customer(db, owner, terms=None):
    customer = Customer(name="Northwind Trading", owner_id=owner.id, credit_term_days=terms)
    db.add(customer)
    db.flush()
    return customer


def _order(db, actor, customer, number="HT-1", amount="1000", currency="CNY", on="2026-06-01"):
    return create_order(db, actor, customer, {
        "contract_number": number, "order_date": on, "currency": currency,
        "lines": [{"product": "Steel", "quantity": "1", "unit_price": amount}],
    })


def _errors(excinfo) -> dict[str, str]:
    return {e.field: e.message for e in excinfo.value.errors}


def test_shipping_an_order_raises_its_amount_due_after_the_customers_terms(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    with_terms, without = _customer(db, rep, terms=45), _customer(db, rep)
    first = _order(db, rep, with_terms, "HT-1", "1200.50")
    second = _order(db, rep, without, "HT-2", "80")
    set_status(db, rep, first, "shipped", ship_date=date(2026, 6, 10))
    set_status(db, rep, second, "delivered", ship_date=date(2026, 6, 12), delivered_on=date(2026, 6, 13))
    db.flush()
    raised = {r.order_id: r for r in db.scalars(sa.select(Receivable))}
    assert raised[first.id].amount == Decimal("1200.50")
    assert raised[first.id].due_on == date(2026, 7, 25)  # 45 days after shipping
    assert raised[first.id].next_chase_on == date(2026, 7, 25)
    assert raised[second.id].due_on == date(2026, 7, 12)  # the default 30 days
    timeline = db.scalars(sa.select(FollowUp.summary).where(FollowUp.receivable_id == raised[first.id].id)).all()
    assert timeline == ["Amount due raised: CNY 1200.50, due on 2026-07-25."]


def test_a_shipment_raised_on_its_own_leaves_only_the_rest_for_the_ship_move(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    customer = _customer(db, rep)
    order = _order(db, rep, customer, amount="1000")
    part = raise_receivable(db, rep, customer, {"amount": "400", "raised_on": "2026-06-05",
                                                "due_on": "2026-06-20"}, order=order, today=TODAY)
    with pytest.raises(ValidationError) as too_much:
        raise_receivable(db, rep, customer, {"amount": "600.01"}, order=order, today=TODAY)
    assert _errors(too_much)["amount"] == "Only CNY 600.00 of this order is not yet raised."
    set_status(db, rep, order, "shipped", ship_date=date(2026, 6, 8))
    db.flush()
    amounts = sorted(r.amount for r in db.scalars(sa.select(Receivable).where(Receivable.order_id == order.id)))
    assert amounts == [Decimal("400.00"), Decimal("600.00")]
    assert part.due_on == date(2026, 6, 20)


def test_bad_receivables_name_their_field_and_store_nothing(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    customer = _customer(db, rep)
    order = _order(db, rep, customer, currency="USD", on="2026-06-01")
    cases = [
        ({"amount": "-5"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "10.005"}, "amount"),
        ({"amount": "10", "currency": "CNY"}, "currency"),
        ({"amount": "10", "raised_on": "2026-05-31"}, "raised_on"),
        ({"amount": "10", "raised_on": "2026-07-01"}, "raised_on"),
        ({"amount": "10", "raised_on": "2026-06-10", "due_on": "2026-06-09"}, "due_on"),
        ({"amount": "10", "colour": "red"}, "colour"),
    ]
    for data, field in cases:
        with pytest.raises(ValidationError) as excinfo:
            raise_receivable(db, rep, customer, data, order=order, today=TODAY)
        assert field in _errors(excinfo), (data, _errors(excinfo))
    assert db.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 0


def test_payments_partial_and_several_settle_and_bad_ones_change_nothing(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    customer = _customer(db, rep)
    due = raise_receivable(db, rep, customer, {"amount": "1000", "raised_on": "2026-06-01"}, today=TODAY)
    record_payment(db, rep, due, {"amount": "300", "paid_on": "2026-06-10", "method": "bank_transfer",
                                  "reference": "TX-1"}, today=TODAY)
    assert (due.paid, due.status, due.outstanding) == (Decimal("300"), "open", Decimal("700"))
    bad = [
        ({"amount": "700.01", "method": "cash"}, "amount", "More than is owed: CNY 700.00 is left to pay."),
        ({"amount": "-1", "method": "cash"}, "amount", None),
        ({"amount": "10", "method": "cash", "currency": "USD"}, "currency", None),
        ({"amount": "10", "method": "cash", "paid_on": "2026-05-31"}, "paid_on", None),
        ({"amount": "10", "method": "cash", "paid_on": "2026-07-01"}, "paid_on", None),
        ({"amount": "10", "method": "barter"}, "method", None),
    ]
    for data, field, message in bad:
        with pytest.raises(ValidationError) as excinfo:
            record_payment(db, rep, due, data, today=TODAY)
        assert field in _errors(excinfo), (data, _errors(excinfo))
        if message:
            assert _errors(excinfo)[field] == message
    assert due.paid == Decimal("300") and db.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
    record_payment(db, rep, due, {"amount": "700", "paid_on": "2026-06-20", "method": "alipay"}, today=TODAY)
    assert (due.status, due.settled_on, due.next_chase_on) == ("settled", date(2026, 6, 20), None)
    with pytest.raises(ValidationError) as settled:
        record_payment(db, rep, due, {"amount": "1", "method": "cash"}, today=TODAY)
    assert _errors(settled)["amount"] == "Nothing is owed on this receivable any more."
    audited = db.scalars(sa.select(AuditEntry.entity).where(AuditEntry.customer_id == customer.id)).all()
    assert audited.count("payment") == 2 and audited.count("receivable") == 1


def test_a_customers_balance_overdue_amount_and_oldest_overdue_day(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    customer = _customer(db, rep)
    for amount, due_in in (("100", -40), ("250", -3), ("75", 10)):
        raise_receivable(db, rep, customer, {"amount": amount, "raised_on": "2026-05-01",
                                             "due_on": (TODAY + timedelta(days=due_in)).isoformat()}, today=TODAY)
    usd = raise_receivable(db, rep, customer, {"amount": "20", "currency": "usd", "raised_on": "2026-05-01",
                                               "due_on": "2026-05-02"}, today=TODAY)
    oldest = db.scalars(sa.select(Receivable).where(Receivable.amount == Decimal("100"))).one()
    record_payment(db, rep, oldest, {"amount": "40", "method": "cash", "paid_on": "2026-06-01"}, today=TODAY)
    record_payment(db, rep, usd, {"amount": "20", "method": "card", "paid_on": "2026-06-01"}, today=TODAY)
    [cny] = customer_figures(db, customer.id, TODAY)
    assert (cny.currency, cny.balance, cny.overdue_amount, cny.oldest_overdue_days, cny.open_count) == (
        "CNY", Decimal("385.00"), Decimal("310.00"), 40, 3)
