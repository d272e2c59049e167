"""One business clock: every entry point counts days where the business is, not in UTC.

Each test runs at a frozen instant inside one of the two dangerous windows: just after midnight
in Shanghai while UTC is still on the day before, and the evening in Los Angeles while UTC is
already on the next day. A hub that took "today" from UTC would get the cadence one day short
(or long), let yesterday pass as "not in the past" (or refuse today), and put the wrong
customers on the due list.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from hub.campaigns.care.models import CareRule, CareSent
from hub.campaigns.care.occasions import run_care_rules
from hub.campaigns.segments import saved as segments
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.calls import records as calls
from hub.channels.calls.models import AgentProfile
from hub.core.clock import business_today, day_bounds
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.intake.lead_forms import create_form
from tests.conftest import csrf_token
from tests.crm_helpers import api, token_for
from tests.test_imports import csv_bytes, run_now, upload

# (business zone, frozen instant, the business day there, the UTC day at that instant)
WINDOWS = {
    "east-after-midnight": (
        "Asia/Shanghai",
        datetime(2026, 12, 6, 23, 30, tzinfo=UTC),  # 07:30 on the 7th in Shanghai
        date(2026, 12, 7),
        date(2026, 12, 6),
    ),
    "west-evening": (
        "America/Los_Angeles",
        datetime(2026, 12, 7, 4, 0, tzinfo=UTC),  # 20:00 on the 6th in Los Angeles
        date(2026, 12, 6),
        date(2026, 12, 7),
    ),
}


@pytest.fixture(params=list(WINDOWS), ids=list(WINDOWS))
def window(request, app):
    """The hub set to the window's zone, with the clock frozen at its instant; yields the
    business day. The settings are put back afterwards."""
    zone, instant, business_day, utc_day = WINDOWS[request.param]
    assert business_day != utc_day  # the point of the window
    saved = app.config["SETTINGS"], app.config["BABEL_DEFAULT_TIMEZONE"]
    app.config["SETTINGS"] = dataclasses.replace(saved[0], timezone=zone)
    app.config["BABEL_DEFAULT_TIMEZONE"] = zone
    with time_machine.travel(instant, tick=False):
        with app.app_context():
            assert business_today() == business_day
        yield business_day
    app.config["SETTINGS"], app.config["BABEL_DEFAULT_TIMEZONE"] = saved


def _customer(db, owner, customer_class="B", name="Clockwork Ltd"):
    customer = Customer(name=name, customer_class=customer_class, owner_id=owner.id)
    customer.contacts.append(Contact(name="Ada", phone="+8613800138000"))
    db.add(customer)
    db.commit()
    return customer


def _next_contact(db, customer_id):
    db.expire_all()
    return db.get(Customer, customer_id).next_contact_on


def _follow_ups(db, customer_id):
    return db.scalar(
        sa.select(sa.func.count(FollowUp.id)).where(FollowUp.customer_id == customer_id)
    )


def test_customer_page_counts_the_cadence_from_the_business_day(window, client, signed_in, db):
    rep = signed_in("agent")
    b, a = _customer(db, rep, "B"), _customer(db, rep, "A", name="Always Co")
    token = csrf_token(client, f"/customers/{b.id}")
    for customer, gap in ((b, 3), (a, 1)):
        page = client.post(
            f"/customers/{customer.id}/follow-ups",
            data={"csrf_token": token, "channel": "call", "summary": "Called about the order"},
            follow_redirects=True,
        )
        assert page.status_code == 200
        assert _next_contact(db, customer.id) == window + timedelta(days=gap)

    # Today (the business's) is not in the past; yesterday is, and changes nothing.
    client.post(
        f"/customers/{b.id}/follow-ups",
        data={"csrf_token": token, "channel": "call", "next_contact_on": window.isoformat()},
    )
    assert _next_contact(db, b.id) == window
    before = _follow_ups(db, b.id)
    page = client.post(
        f"/customers/{b.id}/follow-ups",
        data={
            "csrf_token": token,
            "channel": "call",
            "next_contact_on": (window - timedelta(days=1)).isoformat(),
        },
        follow_redirects=True,
    )
    assert "The next contact date is in the past." in page.get_data(as_text=True)
    assert (_next_contact(db, b.id), _follow_ups(db, b.id)) == (window, before)


def test_api_counts_the_cadence_and_the_past_from_the_business_day(window, app, make_user, db):
    rep = make_user("agent")
    http = api(app.test_client(), token_for(app, rep))
    b = _customer(db, rep, "B")
    made = http.post("/follow-ups", json={"customer_id": b.id, "channel": "call"})
    assert made.status_code == 201, made.json
    assert made.json["next_contact_on"] == (window + timedelta(days=3)).isoformat()

    today = http.post(
        "/follow-ups",
        json={"customer_id": b.id, "channel": "call", "next_contact_on": window.isoformat()},
    )
    assert today.status_code == 201, today.json
    yesterday = (window - timedelta(days=1)).isoformat()
    refused = http.post(
        "/follow-ups", json={"customer_id": b.id, "channel": "call", "next_contact_on": yesterday}
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json["errors"]] == ["next_contact_on"]
    assert _next_contact(db, b.id) == window


def test_console_outcome_counts_from_the_business_day(window, app, client, signed_in, db):
    agent = signed_in("agent")
    db.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
    customer = _customer(db, agent, "B")
    with app.app_context():
        call = calls.ring_inbound(db, "CA" + "c" * 32, "+8613800138000", "+12025550143", "CN").call
        db.commit()
    token = csrf_token(client, "/console")
    past = client.post(
        f"/console/calls/{call.id}/outcome",
        data={
            "csrf_token": token,
            "disposition": "reached",
            "next_contact_on": (window - timedelta(days=1)).isoformat(),
        },
    )
    assert past.status_code == 422
    assert "The next contact date is in the past." in past.get_data(as_text=True)
    saved = client.post(
        f"/console/calls/{call.id}/outcome", data={"csrf_token": token, "disposition": "reached"}
    )
    assert saved.status_code == 302
    assert _next_contact(db, customer.id) == window + timedelta(days=3)


def test_a_website_lead_is_due_today_on_the_business_day(window, app, client, make_user, db):
    rep = make_user("agent")
    with app.app_context():
        form = create_form(db, make_user("admin"), "Website", [rep.id], "")
        key = form.key
        db.commit()
    answer = client.post(
        f"/webhooks/leads/{key}",
        data={"company": "Night Owl Ltd", "name": "Owl", "phone": "+8613800138001", "_hp": ""},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    lead = db.scalar(sa.select(Customer).where(Customer.name == "Night Owl Ltd"))
    assert lead.next_contact_on == window
    due = api(app.test_client(), token_for(app, rep)).get("/due").json
    assert [(e["customer_id"], e["overdue_days"]) for e in due["contacts"]] == [(lead.id, 0)]


def test_the_due_list_splits_due_overdue_and_later_on_the_business_day(window, app, make_user, db):
    rep = make_user("agent")
    for name, offset in (("Yesterday Co", -1), ("Today Co", 0), ("Tomorrow Co", 1)):
        customer = _customer(db, rep, "B", name=name)
        customer.next_contact_on = window + timedelta(days=offset)
    db.commit()
    due = api(app.test_client(), token_for(app, rep)).get("/due").json
    assert due["for_date"] == window.isoformat()
    assert [(e["customer_name"], e["overdue_days"]) for e in due["contacts"]] == [
        ("Yesterday Co", 1),
        ("Today Co", 0),
    ]


def test_an_import_made_now_belongs_to_the_business_day(window, app, make_user, db):
    run_id = upload(app, make_user("agent"), csv_bytes([["Dawn Trading", "Li", "13800138002"]]))
    assert run_now(app, run_id)["created"] == 1
    imported = db.scalar(sa.select(Customer).where(Customer.name == "Dawn Trading"))
    with app.app_context():
        start, end = day_bounds(window)
    assert start <= imported.created_at < end
    with app.app_context():  # segment date rules count business days too
        on_today = {"rules": [{"field": "created", "op": "on", "value": window.isoformat()}]}
        before_today = {"rules": [{"field": "created", "op": "before", "value": window.isoformat()}]}
        assert (segments.count(db, on_today), segments.count(db, before_today)) == (1, 0)



def test_birthdays_and_file_names_follow_the_business_day(window, app, client, signed_in, db):
    rep = signed_in("director")
    template = MessageTemplate(name="Birthday", channel="sms", body="Happy birthday {{ contact.name }}")
    db.add(template)
    db.flush()
    db.add(
        CareRule(
            name="Birthdays", occasion="birthday", days=0, channel="sms", template_id=template.id
        )
    )
    utc_day = next(utc for _, _, day, utc in WINDOWS.values() if day == window)
    for n, (name, born) in enumerate((("Born today", window), ("Born on the UTC day", utc_day))):
        customer = Customer(name=name, owner_id=rep.id)
        phone = f"+8613800138{n:03d}"
        customer.contacts.append(Contact(name=name, phone=phone, birthday=born.replace(year=1990)))
        db.add(customer)
    db.commit()
    with app.app_context():  # as the scheduled job runs it
        assert run_care_rules(app) == 1
    (sent,) = db.scalars(sa.select(CareSent)).all()
    assert sent.occasion_key == f"birthday:{window.year}"
    assert db.get(Contact, sent.contact_id).name == "Born today"

    with client.get("/customers/export.csv") as response:
        assert f"-{window.isoformat()}.csv" in response.headers["Content-Disposition"]
