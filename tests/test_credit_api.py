"""Credit control and collection over /api/v1 and the pages: credit events with their actions
and closing (directors only), credit reviews, collection contacts, payment reminders from a
template through the provider simulator (and refused for a contact who refused the channel), and
the order credit check's 409 with the reason and a director's override."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from hub.campaigns.templates.models import MessageTemplate
from hub.channels.models import Message
from hub.core.db import session_scope
from hub.crm.customers.models import AuditEntry, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.sales.models import Order
from hub.crm.sales.receivable_models import Receivable
from tests.campaign_helpers import add_customer
from tests.conftest import csrf_token, login, work
from tests.sales_api_helpers import api_as, error_fields, expect, order_body
from tests.test_campaign_engine import hub_with_sim  # noqa: F401

# Noon in Shanghai on 2026-07-15: the business day the tests count in.
NOW = "2026-07-15T04:00:00+00:00"


def _owed(db, owner, contacts=None, amount="1000", due=date(2026, 7, 1), **fields):
    customer = add_customer(db, "Northwind Trading", owner_id=owner.id,
                            contacts=contacts or [{"name": "Li Na", "phone": "+8613800000001"}],
                            **fields)
    receivable = Receivable(customer_id=customer.id, currency="CNY", amount=Decimal(amount),
                            raised_on=date(2026, 6, 1), due_on=due, next_chase_on=due)
    db.add(receivable)
    db.commit()
    return customer, receivable


def _order(number, amount, **extra):
    return order_body(number, "2026-07-15", amount, **extra)


@time_machine.travel(NOW, tick=False)
def test_credit_events_over_the_api_directors_only(app, make_user, db):
    agent, director = make_user("agent"), make_user("director")
    customer, _receivable = _owed(db, agent)
    as_agent = api_as(app, agent)
    as_director = api_as(app, director)
    path = f"/customers/{customer.id}/credit-events"
    assert as_agent.post(path, json={"reason": "x"}).status_code == 403
    assert error_fields(expect(as_director.post(path, json={}), 422))[0] == "reason"
    opened = expect(as_director.post(path, json={"reason": "Owner unreachable"}), 201)
    assert opened["trigger"] == "manual"
    assert as_director.post(path, json={"reason": "again"}).status_code == 409
    event_id = opened["id"]
    assert as_agent.post(f"/credit-events/{event_id}/actions",
                         json={"kind": "deposit", "note": "x"}).status_code == 403
    bad = as_director.post(f"/credit-events/{event_id}/actions", json={"kind": "hope", "note": "x"})
    assert error_fields(expect(bad, 422))[0] == "kind"
    held = as_director.post(f"/credit-events/{event_id}/actions",
                            json={"kind": "shipments_stopped", "note": "Until the June bill is paid"})
    assert expect(held, 201)["credit_hold"] is True
    refused = as_agent.post("/orders", json=_order("HT-1", "10", customer_id=customer.id))
    assert refused.status_code == 409
    assert refused.json["detail"] == (
        "The customer is on credit hold: shipments are stopped by a credit event.")
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    listed = as_agent.get(path).json
    assert [e["actions"][0]["kind"] for e in listed] == ["shipments_stopped"]
    closed = as_director.post(f"/credit-events/{event_id}/close", json={"note": "Paid"})
    assert expect(closed, 200)["credit_hold"] is False
    expect(as_agent.post("/orders", json=_order("HT-1", "10", customer_id=customer.id)), 201)


@time_machine.travel(NOW, tick=False)
def test_the_order_credit_check_over_the_api(app, make_user, db):
    agent, director = make_user("agent"), make_user("director")
    customer, _receivable = _owed(db, agent, credit_limit="1500")
    as_agent = api_as(app, agent)
    as_director = api_as(app, director)
    refused = as_agent.post("/orders", json=_order("HT-7", "600", customer_id=customer.id))
    assert refused.status_code == 409
    assert refused.json["detail"] == ("The open balance (CNY 1000.00) plus this order (CNY 600.00) "
                                      "exceeds the credit limit (CNY 1500.00).")
    overriding = as_agent.post("/orders", json=_order(
        "HT-7", "600", customer_id=customer.id, credit_override_reason="Trust me"))
    assert overriding.status_code == 403
    assert db.scalar(sa.select(sa.func.count(Order.id))) == 0
    taken = as_director.post("/orders", json=_order(
        "HT-7", "600", customer_id=customer.id, credit_override_reason="Guarantee on file"))
    order = db.get(Order, expect(taken, 201)["id"])
    assert (order.credit_override_reason, order.credit_override_by_id) == (
        "Guarantee on file", director.id)
    doc = as_agent.get("/openapi.json").json
    create = doc["paths"]["/orders"]["post"]
    assert "409" in create["responses"]
    assert "credit_override_reason" in create["requestBody"]["content"]["application/json"][
        "schema"]["properties"]


@time_machine.travel(NOW, tick=False)
def test_reviews_and_collection_over_the_api(app, make_user, db):
    agent = make_user("agent")
    customer, receivable = _owed(db, agent, credit_rating="A", customer_class="C")
    as_agent = api_as(app, agent)
    review = as_agent.post(f"/customers/{customer.id}/credit-reviews",
                           json={"credit_rating": "BB", "credit_limit": "20000"})
    reviewed = expect(review, 201)
    assert reviewed["next_credit_review"] == "2026-08-15"  # class C: monthly
    assert reviewed["credit_event"]["trigger"] == "rating_worse"
    path = f"/receivables/{receivable.id}/collection"
    bad = as_agent.post(path, json={"kind": "promise", "promised_on": "2026-07-14"})
    assert bad.status_code == 422
    assert bad.json["errors"] == [{"field": "promised_on", "message": "The date is in the past."}]
    promised = expect(as_agent.post(path, json={"kind": "promise", "promised_on": "2026-07-20"}), 201)
    assert promised["next_chase_on"] == "2026-07-21"
    assert promised["promised_amount"] == "1000.00"
    other = api_as(app, make_user("agent"))
    assert other.post(path, json={"kind": "call", "note": "x"}).status_code == 403
    assert as_agent.post("/receivables/999999/collection", json={"kind": "call"}).status_code == 404
    due = as_agent.get("/due").json
    assert due["totals"]["collections"] == 0


def _template(db, channel="sms"):
    template = MessageTemplate(
        name=f"Payment reminder {channel}", channel=channel,
        subject="Amount due" if channel == "email" else None,
        body="{{ contact.name }}: {{ receivable.currency }} {{ receivable.outstanding }} was due on "
             "{{ receivable.due_on }} ({{ receivable.days_overdue }} days ago).")
    db.add(template)
    db.commit()
    return template


def test_a_reminder_goes_through_the_simulator_and_lands_on_the_timeline(hub_with_sim, make_user):  # noqa: F811
    app, sim = hub_with_sim
    agent = make_user("agent")
    with app.extensions["hub.core.db"]() as db, time_machine.travel(NOW, tick=False):
        customer, receivable = _owed(db, agent, contacts=[
            {"name": "Li Na", "phone": "+8613800000001"},
            {"name": "Wang", "email": "wang@example.com", "consent": {"email": False}}])
        template, refused_template = _template(db), _template(db, "email")
        ids = (customer.id, receivable.id, template.id, refused_template.id,
               [c.id for c in customer.contacts])
    customer_id, receivable_id, template_id, email_template_id, (li, wang) = ids
    client = api_as(app, agent)
    with time_machine.travel(NOW, tick=False):
        sent = client.post(f"/receivables/{receivable_id}/reminders",
                           json={"template_id": template_id, "contact_id": li})
        assert sent.status_code == 202, sent.json
        refused = client.post(f"/receivables/{receivable_id}/reminders",
                              json={"template_id": email_template_id, "contact_id": wang})
        assert refused.status_code == 409 and "has refused" in refused.json["detail"]
        foreign = client.post(f"/receivables/{receivable_id}/reminders",
                              json={"template_id": 999999, "contact_id": 999999})
        assert {e["field"] for e in foreign.json["errors"]} == {"template_id", "contact_id"}
    work(app)
    bodies = [r["body"]["Body"] for r in sim.requests() if r["kind"] == "message"]
    assert bodies == ["Li Na: CNY 1000.00 was due on 2026-07-01 (14 days ago)."]
    with session_scope(app) as db:
        [message] = db.scalars(sa.select(Message)).all()
        assert message.status == "sent"
        record = db.get(FollowUp, message.follow_up_id)
        assert (record.receivable_id, record.customer_id, record.channel) == (
            receivable_id, customer_id, "sms")
        assert db.get(Receivable, receivable_id).next_chase_on == date(2026, 7, 22)
        assert db.scalar(sa.select(AuditEntry.action).where(
            AuditEntry.entity == "receivable", AuditEntry.entity_id == receivable_id)) == "reminder"


@time_machine.travel(NOW, tick=False)
def test_the_collection_card_renders_and_its_forms_record(app, client, make_user, db):
    agent = make_user("agent")
    customer, receivable = _owed(db, agent)
    _template(db)
    login(client, agent.email)
    with app.test_request_context():
        from flask import g, render_template

        g.user = db.get(type(agent), agent.id)
        html = render_template("receivable_collection.html",
                               receivable=db.get(Receivable, receivable.id))
    assert "Record the promise" in html and "Payment reminder sms" in html and "Li Na" in html
    token = csrf_token(client, f"/customers/{customer.id}")
    r = client.post(f"/receivables/{receivable.id}/collection",
                    data={"csrf_token": token, "kind": "promise", "promised_on": "2026-07-01"})
    assert r.status_code == 302
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "promised_on: The date is in the past." in page
    r = client.post(f"/receivables/{receivable.id}/collection",
                    data={"csrf_token": token, "kind": "dispute", "reason": "Wrong price"})
    db.expire_all()
    assert db.get(Receivable, receivable.id).disputed
    assert db.get(Customer, customer.id).name in client.get(
        f"/customers/{customer.id}").get_data(as_text=True)


@time_machine.travel(NOW, tick=False)
def test_the_order_page_shows_the_refusal_and_takes_a_directors_override(app, make_user, db):
    agent, director = make_user("agent"), make_user("director")
    customer, _receivable = _owed(db, agent, credit_limit="1000")
    form = {"contract_number": "HT-P1", "order_date": "2026-07-15", "currency": "CNY",
            "status": "pending", "lines-0-product": "Steel", "lines-0-quantity": "1",
            "lines-0-unit_price": "50"}
    path = f"/customers/{customer.id}/orders/new"
    as_agent = app.test_client()
    login(as_agent, agent.email)
    refused = as_agent.post(path, data={**form, "csrf_token": csrf_token(as_agent, path)})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "The credit check refused this order:" in html and "(CNY 1000.00)" in html
    assert "credit_override_reason" not in html  # an agent is not offered the override
    assert db.scalar(sa.select(sa.func.count(Order.id))) == 0
    as_director = app.test_client()
    login(as_director, director.email)
    offered = as_director.post(path, data={**form, "csrf_token": csrf_token(as_director, path)})
    assert offered.status_code == 409 and 'name="credit_override_reason"' in offered.get_data(
        as_text=True)
    taken = as_director.post(path, data={**form, "csrf_token": csrf_token(as_director, path),
                                         "credit_override_reason": "Paid in advance by wire"})
    assert taken.status_code == 302
    order = db.scalar(sa.select(Order).where(Order.contract_number == "HT-P1"))
    assert order.credit_override_reason == "Paid in advance by wire"
