"""/api/v1/receivables: raising by hand (201 with Location), the keyset list and its filters,
one receivable with its payments, payments; 404, 403 and 422 naming the field."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.crm.customers.models import Customer
from hub.crm.sales.receivable_models import Payment, Receivable
from tests.conftest import business_day
from tests.sales_api_helpers import api_as, created, error_fields, expect, items


def _customer(app, owner, name="Northwind Trading"):
    with hubdb.session_scope(app) as s:
        c = Customer(name=name, owner_id=owner.id)
        s.add(c)
        s.flush()
        return c.id


def _count(app, model):
    with hubdb.session_scope(app) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_raise_read_pay_and_settle(app, director_api):
    client, director = director_api
    customer_id = _customer(app, director)
    today = business_day(app)
    body = created(client, "/receivables", {
        "customer_id": customer_id, "amount": "500", "raised_on": (today - timedelta(days=60)).isoformat(),
        "due_on": (today - timedelta(days=20)).isoformat(), "description": "Spare parts"})
    assert (body["amount"], body["outstanding"], body["status"], body["days_overdue"]) == (
        "500.00", "500.00", "open", 20)
    paid = expect(client.post(f"/receivables/{body['id']}/payments", json={
        "amount": "200", "method": "bank_transfer", "reference": "TT-1"}), 201)
    assert paid["amount"] == "200.00"
    read = client.get(f"/receivables/{body['id']}").get_json()
    assert read["paid"] == "200.00" and read["outstanding"] == "300.00"
    assert [p["reference"] for p in read["payments"]] == ["TT-1"]
    client.post(f"/receivables/{body['id']}/payments", json={"amount": "300", "method": "cash"})
    done = client.get(f"/receivables/{body['id']}").get_json()
    assert (done["status"], done["outstanding"], done["days_overdue"]) == ("settled", "0.00", 0)


def test_the_list_filters(app, director_api):
    client, director = director_api
    today = business_day(app)
    a, b = _customer(app, director, "Alpha"), _customer(app, director, "Beta")
    for customer_id, days, currency in ((a, 10, "CNY"), (a, -10, "CNY"), (b, 5, "USD")):
        created(client, "/receivables", {
            "customer_id": customer_id, "amount": "10", "currency": currency,
            "raised_on": (today - timedelta(days=40)).isoformat(),
            "due_on": (today - timedelta(days=days)).isoformat()})

    def names(query):
        return sorted((r["customer_name"], r["days_overdue"]) for r in items(client, f"/receivables{query}"))

    assert names("") == [("Alpha", 0), ("Alpha", 10), ("Beta", 5)]
    assert names("?overdue=true") == [("Alpha", 10), ("Beta", 5)]
    assert names(f"?customer_id={b}") == [("Beta", 5)]
    assert names("?currency=usd") == [("Beta", 5)]
    assert names("?status=settled") == []
    paged = expect(client.get("/receivables?limit=2"), 200)
    assert len(paged["items"]) == 2 and paged["next"]
    for query, field in (("status=paid", "status"), ("overdue=maybe", "overdue"),
                         ("customer_id=x", "customer_id"), ("currency=EURO", "currency")):
        assert error_fields(expect(client.get(f"/receivables?{query}"), 422)) == [field]


def test_errors_name_the_field_and_store_nothing(app, director_api):
    client, director = director_api
    customer_id = _customer(app, director)
    bad = client.post("/receivables", json={"customer_id": customer_id, "amount": "-5",
                                            "currency": "EURO", "colour": "red"})
    assert bad.status_code == 422
    assert error_fields(bad) == ["colour"]
    bad = client.post("/receivables", json={"customer_id": customer_id, "amount": "-5", "currency": "EURO"})
    assert set(error_fields(bad)) == {"amount", "currency"}
    assert error_fields(client.post("/receivables", json={"amount": "5"}))[0] == "customer_id"
    assert client.post("/receivables", json={"customer_id": 999999, "amount": "5"}).status_code == 404
    no_order = client.post("/receivables", json={"customer_id": customer_id, "order_id": 999999, "amount": "5"})
    assert no_order.status_code == 422 and error_fields(no_order)[0] == "order_id"
    assert client.get("/receivables/999999").status_code == 404
    assert client.post("/receivables/999999/payments", json={"amount": "1", "method": "cash"}).status_code == 404
    rid = created(client, "/receivables", {"customer_id": customer_id, "amount": "50"})["id"]
    over = client.post(f"/receivables/{rid}/payments", json={"amount": "50.01", "method": "cash"})
    assert over.status_code == 422
    assert over.get_json()["errors"] == [
        {"field": "amount", "message": "More than is owed: CNY 50.00 is left to pay."}]
    gold = client.post(f"/receivables/{rid}/payments", json={"amount": "5", "method": "gold"})
    assert error_fields(gold) == ["method"]
    assert _count(app, Payment) == 0
    assert _count(app, Receivable) == 1


def test_agents_and_specialists(app, make_user):
    owner = make_user("agent")
    other = api_as(app, make_user("agent"))
    specialist = api_as(app, make_user("specialist"))
    mine = api_as(app, owner)
    customer_id = _customer(app, owner)
    rid = created(mine, "/receivables", {"customer_id": customer_id, "amount": "50"})["id"]
    assert other.get(f"/receivables/{rid}").status_code == 403
    assert items(other, "/receivables") == []
    assert other.post("/receivables", json={"customer_id": customer_id, "amount": "5"}).status_code == 403
    assert specialist.get(f"/receivables/{rid}").status_code == 200
    assert specialist.post(f"/receivables/{rid}/payments", json={"amount": "5", "method": "cash"}).status_code == 403
    assert specialist.post("/receivables", json={"customer_id": customer_id, "amount": "5"}).status_code == 403
    assert _count(app, Payment) == 0
