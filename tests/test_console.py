"""The agent console: call settings, the screen pop card (what it shows, to whom, escaped), the
outcome form that completes the call's own record, and the lead form for unknown callers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from hub.channels.calls import records as calls
from hub.channels.calls.models import AgentProfile, Call
from hub.crm.customers.models import Consent, Contact, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Opportunity, Order
from hub.crm.service.models import Complaint
from tests.conftest import business_day, csrf_token

CALLER = "+8613800138000"


def _ringing(app, db, owner, name="华信科技", sid="CA" + "a" * 32, number=CALLER):
    """A customer of `owner` with some history, calling in now."""
    with app.app_context():
        customer = db.scalar(sa.select(Customer).where(Customer.name == name))
        if customer is None:
            customer = Customer(name=name, customer_class="A", owner_id=owner.id, kind="organization")
            customer.contacts.append(Contact(name="李雷", phone=number))
            db.add(customer)
            db.flush()
            for n in range(7):
                log_follow_up(db, owner, customer, "note", summary=f"note {n}")
            db.add(Consent(contact_id=customer.contacts[0].id, channel="sms", granted=True, source="form"))
            db.add(Opportunity(customer_id=customer.id, title="Pumps for 2027", stage="proposal"))
            db.add(Opportunity(customer_id=customer.id, title="Old deal", stage="lost"))
            db.add(Complaint(customer_id=customer.id, channel="call", content="Late delivery", step="assessed"))
            db.add(Order(customer_id=customer.id, contract_number="HT-1", status="shipped",
                         amount=Decimal("1200"), order_date=date(2026, 11, 1)))
            db.add(Order(customer_id=customer.id, contract_number="HT-0", status="delivered",
                         amount=Decimal("10"), order_date=date(2026, 1, 1)))
        ringing = calls.ring_inbound(db, sid, number, "+12025550143", "CN")
        db.commit()
        return ringing.call


def _agent(db, make_user, phone="+8613900000001", **kw):
    user = make_user("agent", **kw)
    db.add(AgentProfile(user_id=user.id, phone=phone, availability="available"))
    db.commit()
    return user


def test_the_pop_card_shows_the_callers_whole_picture(app, client, signed_in, db, make_user):
    agent = signed_in("agent", name="王芳")
    db.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
    db.commit()
    call = _ringing(app, db, agent)
    html = client.get(f"/console/calls/{call.id}/card").get_data(as_text=True)
    assert "华信科技" in html and 'badge-A' in html and "王芳" in html  # name, class, owner
    assert "SMS: yes" in html and "Call: not asked" in html  # consent
    # The last five follow-ups, newest first, not the call's own ringing record.
    assert [f"note {n}" in html for n in range(7)] == [False, False, True, True, True, True, True]
    assert "Pumps for 2027" in html and "Old deal" not in html
    assert "Late delivery" in html
    assert "HT-1" in html and "HT-0" not in html
    assert 'name="disposition"' in html and 'name="next_contact_on"' in html


def test_every_value_in_the_pop_is_escaped(app, client, signed_in, db):
    agent = signed_in("agent")
    call = _ringing(app, db, agent, name='<script>alert("pop")</script>')
    html = client.get(f"/console/calls/{call.id}/card").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;pop&#34;)&lt;/script&gt;" in html


def test_another_agents_pop_is_not_theirs_to_open(app, client, signed_in, db, make_user):
    owner = _agent(db, make_user)
    call = _ringing(app, db, owner)
    signed_in("agent")
    assert client.get(f"/console/calls/{call.id}/card").status_code == 403
    token = csrf_token(client, "/console")
    answer = client.post(
        f"/console/calls/{call.id}/outcome", data={"csrf_token": token, "disposition": "reached"}
    )
    assert answer.status_code == 403
    assert client.get("/console/live").json == {"calls": []}


def test_the_outcome_completes_the_calls_own_record(app, client, signed_in, db):
    agent = signed_in("agent")
    db.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
    db.commit()
    call = _ringing(app, db, agent)
    assert client.get("/console/live").json == {"calls": [call.id]}
    before = db.scalar(sa.select(sa.func.count()).select_from(FollowUp))
    next_on = business_day(app) + timedelta(days=9)
    answer = client.post(
        f"/console/calls/{call.id}/outcome",
        data={
            "csrf_token": csrf_token(client, "/console"),
            "disposition": "callback_requested",
            "notes": "Wants a quote for 40 units",
            "next_contact_on": next_on.isoformat(),
        },
        headers={"X-Requested-With": "console"},
    )
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.lstrip().startswith("<article") and "Outcome saved" in html
    db.expire_all()
    record = db.get(FollowUp, call.follow_up_id)
    assert (record.outcome, record.summary, record.next_contact_on) == (
        "callback_requested",
        "Wants a quote for 40 units",
        next_on,
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == before
    customer = db.get(Customer, call.customer_id)
    assert customer.next_contact_on == next_on
    timeline = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Callback requested" in timeline and "Wants a quote for 40 units" in timeline


def test_a_bad_outcome_is_refused_naming_the_field_and_keeps_what_was_typed(
    app, client, signed_in, db
):
    agent = signed_in("agent")
    call = _ringing(app, db, agent)
    token = csrf_token(client, "/console")
    past = client.post(
        f"/console/calls/{call.id}/outcome",
        data={"csrf_token": token, "disposition": "reached", "notes": "kept",
              "next_contact_on": "2020-01-01"},
    )
    assert past.status_code == 422
    html = past.get_data(as_text=True)
    assert "The next contact date is in the past." in html and ">kept</textarea>" in html
    unknown = client.post(
        f"/console/calls/{call.id}/outcome",
        data={"csrf_token": token, "disposition": "shouted"},
    )
    assert unknown.status_code == 422 and "Choose one of: reached" in unknown.get_data(as_text=True)
    garbled = client.post(
        f"/console/calls/{call.id}/outcome",
        data={"csrf_token": token, "disposition": "reached", "next_contact_on": "next week"},
    )
    assert garbled.status_code == 422 and "Expected a date like" in garbled.get_data(as_text=True)
    db.expire_all()
    assert db.get(FollowUp, call.follow_up_id).outcome is None


def test_do_not_call_is_recorded_as_refused_consent(app, client, signed_in, db):
    agent = signed_in("agent")
    call = _ringing(app, db, agent)
    client.post(
        f"/console/calls/{call.id}/outcome",
        data={"csrf_token": csrf_token(client, "/console"), "disposition": "do_not_call"},
    )
    db.expire_all()
    consent = db.scalar(sa.select(Consent).where(Consent.channel == "call"))
    assert consent is not None and consent.granted is False
    assert db.get(Customer, call.customer_id).next_contact_on is None


def test_an_unknown_caller_is_filled_in_during_the_call_and_becomes_the_agents_lead(
    app, client, signed_in, db
):
    agent = signed_in("agent")
    db.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
    db.commit()
    with app.app_context():
        call = calls.ring_inbound(db, "CA" + "b" * 32, "+8613912345678", "+12025550143", "CN").call
        db.commit()
    card = client.get(f"/console/calls/{call.id}/card").get_data(as_text=True)
    assert "New caller." in card and 'name="company"' in card
    answer = client.post(
        f"/console/calls/{call.id}/lead",
        data={"csrf_token": csrf_token(client, "/console"), "name": "<b>赵敏</b>",
              "company": "Zhao Trading", "email": "zhao@example.com"},
        headers={"X-Requested-With": "console"},
    )
    assert answer.status_code == 200
    assert "&lt;b&gt;赵敏&lt;/b&gt;" in answer.get_data(as_text=True)
    db.expire_all()
    lead = db.get(Customer, call.customer_id)
    assert (lead.name, lead.kind, lead.email, lead.owner_id, lead.stage) == (
        "Zhao Trading", "organization", "zhao@example.com", agent.id, "lead"
    )
    assert lead.contacts[0].name == "<b>赵敏</b>"
    bad = client.post(
        f"/console/calls/{call.id}/lead",
        data={"csrf_token": csrf_token(client, "/console"), "name": "", "company": ""},
    )
    assert bad.status_code == 422


def test_call_settings_are_checked(client, signed_in, db):
    agent = signed_in("agent")
    page = client.get("/console")
    assert page.status_code == 200 and 'name="availability"' in page.get_data(as_text=True)
    token = csrf_token(client, "/console")
    bad = client.post(
        "/console/profile", data={"csrf_token": token, "availability": "available", "phone": "12"}
    )
    assert bad.status_code == 422 and "12 is not" in bad.get_data(as_text=True)
    nothing = client.post("/console/profile", data={"csrf_token": token, "availability": "available"})
    assert nothing.status_code == 422
    assert "Set a phone number or a browser identity" in nothing.get_data(as_text=True)
    identity = client.post(
        "/console/profile", data={"csrf_token": token, "availability": "away",
                                  "client_identity": "bad identity!"}
    )
    assert identity.status_code == 422
    ok = client.post(
        "/console/profile",
        data={"csrf_token": token, "availability": "available", "phone": "139 0000 0001"},
    )
    assert ok.status_code == 302
    db.expire_all()
    profile = db.get(AgentProfile, agent.id)
    assert (profile.availability, profile.phone) == ("available", "+8613900000001")


def test_recent_calls_list_the_agents_own(app, client, signed_in, db):
    agent = signed_in("agent")
    db.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
    db.commit()
    call = _ringing(app, db, agent)
    with app.app_context():
        call = db.get(Call, call.id)
        calls.apply_status(db, call, "agent", {"CallStatus": "in-progress", "To": "+8613900000001"})
        db.commit()
    html = client.get("/console").get_data(as_text=True)
    assert f"/console/calls/{call.id}" in html and "in progress" in html
