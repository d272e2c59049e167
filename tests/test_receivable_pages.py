"""Receivable pages: a receivable with its payments and the payment form, the customer's money
card and raising by hand, the open list and its filters, the aging page and CSV; who may see and
change which; both languages."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.crm.customers.models import Customer
from hub.crm.sales.order_changes import create_order
from hub.crm.sales.receivable_models import Payment, Receivable
from hub.crm.sales.receivables import raise_receivable
from tests.conftest import business_day, csrf_token


def _owing(app, owner, name="Northwind Trading", amount="1000", days_overdue=40, currency="CNY",
           cls="B"):
    """A customer of `owner` with one receivable due `days_overdue` days ago; their ids."""
    today = business_day(app)
    due = today - timedelta(days=days_overdue)
    with app.test_request_context(), hubdb.session_scope(app) as s:
        customer = Customer(name=name, owner_id=owner.id if owner else None, customer_class=cls)
        s.add(customer)
        s.flush()
        r = raise_receivable(s, None, customer, {
            "amount": amount, "currency": currency,
            "raised_on": (min(due, today) - timedelta(days=30)).isoformat(),
            "due_on": due.isoformat()}, today=today)
        return customer.id, r.id


def _fresh(app, model, id_):
    with hubdb.session_scope(app) as s:
        obj = s.get(model, id_)
        s.expunge(obj)
        return obj


def test_a_payment_recorded_on_the_page_lowers_what_is_owed(app, client, signed_in):
    director = signed_in("director")
    customer_id, rid = _owing(app, director)
    page = client.get(f"/receivables/{rid}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Northwind Trading" in text and "CNY 1,000.00" in text
    assert ">40<" in text  # days overdue
    token = csrf_token(client, f"/receivables/{rid}")
    done = client.post(f"/receivables/{rid}/payments", data={
        "csrf_token": token, "amount": "250.50", "paid_on": business_day(app).isoformat(),
        "method": "alipay", "reference": "ZFB-77", "notes": ""}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Payment of CNY 250.50 recorded." in text
    assert "Alipay" in text and "ZFB-77" in text
    assert "CNY 749.50" in text
    assert _fresh(app, Receivable, rid).paid == Decimal("250.50")
    card = client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Money owed" in card and "CNY 749.50" in card


def test_a_bad_payment_is_named_beside_its_field_and_nothing_changes(app, client, signed_in):
    director = signed_in("director")
    _, rid = _owing(app, director, amount="100")
    token = csrf_token(client, f"/receivables/{rid}")
    tomorrow = (business_day(app) + timedelta(days=1)).isoformat()
    refused = client.post(f"/receivables/{rid}/payments", data={
        "csrf_token": token, "amount": "100.01", "paid_on": tomorrow, "method": "cash"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="amount-error"' in text and "More than is owed: CNY 100.00 is left to pay." in text
    assert 'id="paid_on-error"' in text and "The date is in the future." in text
    assert 'value="100.01"' in text  # what was typed stays in the form
    with hubdb.session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_agents_see_their_own_and_specialists_may_not_pay(app, client, signed_in, make_user):
    other = make_user("agent")
    _, theirs = _owing(app, other, name="Other Rep's Customer")
    agent = signed_in("agent")
    _, mine = _owing(app, agent, name="My Customer")
    assert client.get(f"/receivables/{theirs}").status_code == 403
    assert client.get(f"/receivables/{mine}").status_code == 200
    listing = client.get("/receivables").get_data(as_text=True)
    assert "My Customer" in listing and "Other Rep" not in listing
    assert client.get("/receivables/999999").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    signed_in("specialist")
    page = client.get(f"/receivables/{mine}").get_data(as_text=True)
    assert "Record a payment" not in page
    token = csrf_token(client, "/receivables")
    refused = client.post(f"/receivables/{mine}/payments", data={
        "csrf_token": token, "amount": "1", "method": "cash"})
    assert refused.status_code == 403


def test_the_money_card_raises_an_amount_due_by_hand(app, client, signed_in):
    director = signed_in("director")
    today = business_day(app)
    with app.test_request_context(), hubdb.session_scope(app) as s:
        customer = Customer(name="Handmade Ltd", owner_id=director.id)
        s.add(customer)
        s.flush()
        order = create_order(s, s.get(type(director), director.id), customer, {
            "contract_number": "HT-9", "order_date": today.isoformat(), "currency": "CNY",
            "lines": [{"product": "Steel", "quantity": "1", "unit_price": "300"}]})
        customer_id, order_id = customer.id, order.id
    page = client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Nothing owed." in page and "Raise an amount due" in page
    token = csrf_token(client, f"/customers/{customer_id}")
    refused = client.post(f"/customers/{customer_id}/receivables", data={
        "csrf_token": token, "amount": "400", "currency": "CNY", "raised_on": today.isoformat(),
        "due_on": "", "description": "", "order_id": str(order_id)})
    assert refused.status_code == 422
    assert "Only CNY 300.00 of this order is not yet raised." in refused.get_data(as_text=True)
    done = client.post(f"/customers/{customer_id}/receivables", data={
        "csrf_token": token, "amount": "120", "currency": "CNY", "raised_on": today.isoformat(),
        "due_on": (today + timedelta(days=10)).isoformat(), "description": "Deposit",
        "order_id": str(order_id)}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "Amount due raised: CNY 120.00." in text
    assert "Deposit" in text and "CNY 120.00" in text
    with hubdb.session_scope(app) as s:
        r = s.scalar(sa.select(Receivable))
        assert (r.order_id, r.amount, r.due_on) == (order_id, Decimal("120.00"), today + timedelta(days=10))


def test_the_list_searches_filters_and_puts_the_most_overdue_first(app, client, signed_in):
    director = signed_in("director")
    _owing(app, director, name="Young Debt", days_overdue=5, cls="A")
    _owing(app, director, name="Old Debt", days_overdue=300, cls="B")
    _owing(app, director, name="Not Due", days_overdue=-5, cls="B")
    _owing(app, director, name="Dollar Debt", days_overdue=50, currency="USD", cls="C")
    text = client.get("/receivables").get_data(as_text=True)
    order = [text.index(n) for n in ("Old Debt", "Dollar Debt", "Young Debt", "Not Due")]
    assert order == sorted(order)
    overdue = client.get("/receivables?overdue=1").get_data(as_text=True)
    assert "Not Due" not in overdue and "Old Debt" in overdue
    assert "Old Debt" not in client.get("/receivables?class=A").get_data(as_text=True)
    usd = client.get("/receivables?currency=USD").get_data(as_text=True)
    assert "Dollar Debt" in usd and "Young Debt" not in usd
    found = client.get("/receivables?q=young").get_data(as_text=True)
    assert "Young Debt" in found and "Old Debt" not in found


def test_the_aging_page_chart_and_csv(app, client, signed_in):
    director = signed_in("director")
    _owing(app, director, name="Alpha", amount="100", days_overdue=31)
    _owing(app, director, name="Beta", amount="200", days_overdue=800)
    _owing(app, director, name="Gamma", amount="50", days_overdue=-1)
    page = client.get("/receivables/aging")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Receivables by age" in text and "<svg" in text
    assert "CNY 300.00" in text  # total overdue
    rows = list(csv.reader(io.StringIO(client.get("/receivables/aging.csv").get_data(as_text=True))))
    heading = rows[0]
    assert heading[3:10] == ["0-30", "31-60", "61-90", "91-180", "181-365", "366-730", "730+"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Alpha"][heading.index("31-60")] == "100.00"
    assert by_name["Beta"][heading.index("730+")] == "200.00"
    assert by_name["Gamma"][heading.index("Not yet due")] == "50.00"
    assert by_name["Total"][heading.index("Overdue")] == "300.00"
    by_class = client.get("/receivables/aging?group=class").get_data(as_text=True)
    assert "<th>Class</th>" in by_class


def test_the_pages_in_chinese(app, client, signed_in):
    director = signed_in("director")
    customer_id, rid = _owing(app, director)
    client.post("/language", data={"lang": "zh_Hans", "next": "/", "csrf_token": csrf_token(client, "/")})
    assert "记录付款" in client.get(f"/receivables/{rid}").get_data(as_text=True)
    assert "应收账款" in client.get("/receivables").get_data(as_text=True)
    assert "账龄" in client.get("/receivables/aging").get_data(as_text=True)
    assert "欠款" in client.get(f"/customers/{customer_id}").get_data(as_text=True)


def test_an_agents_aging_is_their_own_and_a_specialist_sees_no_forms(app, client, signed_in, make_user):
    _owing(app, make_user("agent"), name="Someone Else's", amount="700", days_overdue=70)
    agent = signed_in("agent")
    customer_id, _ = _owing(app, agent, name="Mine", amount="90", days_overdue=70)
    text = client.get("/receivables/aging?owner=&group=customer").get_data(as_text=True)
    assert "Mine" in text and "Someone Else" not in text
    assert "CNY 700.00" not in text
    assert "Raise an amount due" in client.get(f"/customers/{customer_id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    signed_in("specialist")
    card = client.get(f"/customers/{customer_id}").get_data(as_text=True)
    assert "Money owed" in card and "CNY 90.00" in card
    assert "Raise an amount due" not in card
    token = csrf_token(client, "/receivables")
    refused = client.post(f"/customers/{customer_id}/receivables", data={
        "csrf_token": token, "amount": "5", "currency": "CNY"})
    assert refused.status_code == 403
    with hubdb.session_scope(app) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Receivable)) == 2
