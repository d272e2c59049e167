"""Click-to-call from the pages: the simulator records a call to the agent and a bridge to the
customer with the company's caller id; the call's record completes with its duration; a contact
who refused calls, or a call outside the customer's calling hours, is refused with the reason."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa

from hub.channels.calls.click_to_call import check_callable, recipient_zone
from hub.channels.calls.models import AgentProfile, Call
from hub.core.refusals import Conflict
from hub.crm.customers.models import Consent, Contact, Customer
from hub.crm.followups.models import FollowUp
from tests.conftest import PATIENCE, csrf_token, login

AGENT_PHONE = "+8613900000001"
CUSTOMER_PHONE = "+8613800138000"


def _setup(db, make_user, phone=AGENT_PHONE, contact_tz="Asia/Shanghai"):
    agent = make_user("agent")
    if phone:
        db.add(AgentProfile(user_id=agent.id, phone=phone, availability="available"))
    customer = Customer(name="华信科技", customer_class="B", owner_id=agent.id)
    customer.contacts.append(Contact(name="李雷", phone=CUSTOMER_PHONE, timezone=contact_tz))
    db.add(customer)
    db.commit()
    return agent, customer, customer.contacts[0]


def _open_hours(app):
    """Calls allowed all day, so the test does not depend on the hour it runs at."""
    app.config["SETTINGS"] = dataclasses.replace(
        app.config["SETTINGS"], call_hours=(time(0, 0), time(23, 59, 59))
    )


def _click(client, customer, contact):
    page = client.get(f"/customers/{customer.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The contact's number is a call button on the customer page.
    assert re.search(r'<form method="post" action="/calls" class="call-form">', html)
    return client.post(
        "/calls",
        data={
            "csrf_token": csrf_token(client, f"/customers/{customer.id}"),
            "customer_id": customer.id,
            "contact_id": contact.id,
            "number": contact.phone,
        },
        headers={"Referer": f"http://localhost/customers/{customer.id}"},
    )


def test_click_to_call_rings_the_agent_then_bridges_with_the_company_caller_id(
    live_hub, make_user, db
):
    app, sim, creds, _ = live_hub
    _open_hours(app)
    agent, customer, contact = _setup(db, make_user)
    client = app.test_client()
    assert login(client, agent.email).status_code == 302

    answer = _click(client, customer, contact)

    assert answer.status_code == 302 and "/console/calls/" in answer.headers["Location"]
    assert sim.wait_idle(PATIENCE)
    [placed] = [r for r in sim.requests() if r["kind"] == "call"]
    assert placed["body"]["To"] == AGENT_PHONE and placed["body"]["From"] == creds.from_number
    assert placed["body"]["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    [bridge] = [r for r in sim.requests() if r["kind"] == "dial"]
    assert bridge["body"] == {
        "To": CUSTOMER_PHONE,
        "CallerId": creds.from_number,
        "AnswerOnBridge": "true",
    }
    assert bridge["ids"]["parent"] == placed["ids"]["sid"]

    db.expire_all()
    call = db.scalar(sa.select(Call))
    record = db.get(FollowUp, call.follow_up_id)
    assert (call.direction, call.status, call.duration, call.sid) == (
        "outbound",
        "completed",
        sim.call_talk_seconds,
        placed["ids"]["sid"],
    )
    assert (record.channel, record.direction, record.status, record.user_id) == (
        "call",
        "outbound",
        "completed",
        agent.id,
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1
    timeline = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "0:42 spoken" in timeline


def test_a_customer_who_does_not_pick_up_is_a_no_answer(live_hub, make_user, db):
    from hub.simulator.faults import Faults

    app, sim, _creds, _ = live_hub
    _open_hours(app)
    sim.set_faults(Faults(calls_unanswered=1.0))
    agent, customer, contact = _setup(db, make_user)
    client = app.test_client()
    login(client, agent.email)
    _click(client, customer, contact)
    assert sim.wait_idle(PATIENCE)
    db.expire_all()
    call = db.scalar(sa.select(Call))
    assert call.status == "no-answer" and call.agent_leg_status == "no-answer"
    assert db.get(FollowUp, call.follow_up_id).status == "no-answer"
    assert not [r for r in sim.requests() if r["kind"] == "dial"]


def test_do_not_call_is_refused_with_the_reason_and_nothing_is_dialled(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    _open_hours(app)
    agent, customer, contact = _setup(db, make_user)
    db.add(Consent(contact_id=contact.id, channel="call", granted=False, source="phone"))
    db.commit()
    client = app.test_client()
    login(client, agent.email)
    answer = _click(client, customer, contact)
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"/customers/{customer.id}"
    )
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "李雷 asked not to be called (do not call)." in page
    assert sim.requests() == [] and db.scalar(sa.select(Call)) is None


def test_without_a_phone_of_their_own_the_agent_is_told_to_set_one(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    _open_hours(app)
    agent, customer, contact = _setup(db, make_user, phone=None)
    client = app.test_client()
    login(client, agent.email)
    answer = _click(client, customer, contact)
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Set your phone number or browser identity in the console before calling." in page
    assert sim.requests() == []


def test_a_number_that_is_not_the_customers_is_refused(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    _open_hours(app)
    agent, customer, _contact = _setup(db, make_user)
    client = app.test_client()
    login(client, agent.email)
    answer = client.post(
        "/calls",
        data={
            "csrf_token": csrf_token(client, "/console"),
            "customer_id": customer.id,
            "number": "+12125550123",
        },
    )
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "+12125550123 is not a number of this customer." in page
    assert sim.requests() == []


def test_an_agent_cannot_call_another_agents_customer(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    _open_hours(app)
    _owner, customer, contact = _setup(db, make_user)
    stranger = make_user("agent")
    db.add(AgentProfile(user_id=stranger.id, phone="+8613900000009", availability="available"))
    db.commit()
    client = app.test_client()
    login(client, stranger.email)
    answer = client.post(
        "/calls",
        data={
            "csrf_token": csrf_token(client, "/console"),
            "customer_id": customer.id,
            "contact_id": contact.id,
            "number": contact.phone,
        },
    )
    assert answer.status_code == 403 and sim.requests() == []


def test_calling_hours_are_the_customers_own():
    customer = Customer(name="Blue Harbor")
    ny = Contact(name="Ann", phone="+12125550123", timezone="America/New_York")
    customer.contacts.append(ny)
    hours = (time(8, 0), time(21, 0))
    # 02:30 UTC is 21:30 in New York (November): too late there, though 10:30 in Shanghai.
    late = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)
    with pytest.raises(Conflict) as refused:
        check_callable(customer, ny, ny.phone, hours, "Asia/Shanghai", late)
    assert str(refused.value) == (
        "It is 9:30\u202fPM for the customer (America/New_York); customers may be called from "
        "8:00\u202fAM to 9:00\u202fPM their time."
    )
    afternoon = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 09:00 in New York
    check_callable(customer, ny, ny.phone, hours, "Asia/Shanghai", afternoon)
    # Without a time zone of their own: the zone of their number ...
    sf = Contact(name="Sam", phone="+14155550123")
    assert recipient_zone(sf, sf.phone, "Asia/Shanghai").key == "America/Los_Angeles"
    # ... unless the number spans many (a US toll-free): then the business's own.
    free = Contact(name="Desk", phone="+18005550123")
    assert recipient_zone(free, free.phone, "Europe/Berlin").key == "Europe/Berlin"


def _post_call(client, customer, contact, number):
    return client.post(
        "/calls",
        data={
            "csrf_token": csrf_token(client, f"/customers/{customer.id}"),
            "customer_id": customer.id,
            "contact_id": contact.id,
            "number": number,
        },
        headers={"Referer": f"http://localhost/customers/{customer.id}"},
    )


def test_a_number_spelled_with_spaces_is_dialled_and_stored_as_e164(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    _open_hours(app)
    agent, customer, contact = _setup(db, make_user)
    client = app.test_client()
    login(client, agent.email)
    answer = _post_call(client, customer, contact, "+86 138 0013 8000")
    assert answer.status_code == 302 and "/console/calls/" in answer.headers["Location"]
    assert sim.wait_idle(PATIENCE)
    [bridge] = [r for r in sim.requests() if r["kind"] == "dial"]
    assert bridge["body"]["To"] == CUSTOMER_PHONE
    db.expire_all()
    assert db.scalar(sa.select(Call.customer_number)) == CUSTOMER_PHONE


def test_a_number_that_is_not_one_is_refused_with_the_reason(live_hub, make_user, db):
    app, sim, _creds, _ = live_hub
    _open_hours(app)
    agent, customer, contact = _setup(db, make_user)
    client = app.test_client()
    login(client, agent.email)
    answer = _post_call(client, customer, contact, "12 34")
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "12 34 is not a valid phone number." in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Call)) == 0
    assert not [r for r in sim.requests() if r["kind"] == "call"]
