"""The agent console in a real headless Chromium: the simulator places a call, the pop shows on
the console, the outcome is recorded in the pop and lands on the customer's timeline as one
call record; unknown callers, escaping, click-to-call and a dropped stream.

Screenshots land in test-artifacts/.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from hub.channels.calls.models import AgentProfile, Call
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.followups.records import log_follow_up
from tests.browser_kit import ARTIFACTS, new_page, sign_in
from tests.conftest import PATIENCE, business_day

pytestmark = pytest.mark.browser

NO_PROXY = {"http": None, "https": None}
CALLER = "+8613800138000"
AGENT_PHONE = "+8613900000001"


def _customer(app, db, owner, name="华信科技", cls="A", note="Asked for a quote on 40 pumps"):
    with app.app_context():
        customer = Customer(name=name, customer_class=cls, owner_id=owner.id, kind="organization")
        customer.contacts.append(Contact(name="李雷", phone=CALLER))
        db.add(customer)
        db.flush()
        log_follow_up(db, owner, customer, "note", summary=note)
        db.commit()
        return customer


def _available(db, user):
    db.add(AgentProfile(user_id=user.id, phone=AGENT_PHONE, availability="available"))
    db.commit()


def _call_in(sim, sender=CALLER, **plan):
    r = requests.post(
        f"{sim.url}/sim/inbound/call",
        json={"from": sender, "pace": 0.3, **plan},
        proxies=NO_PROXY,
        timeout=PATIENCE,
    )
    assert r.status_code == 200, r.text


def _console(browser, url, agent):
    page = new_page(browser, locale="en-US")
    sign_in(page, url, agent)
    page.goto(f"{url}/console")
    page.locator("#stream-state[data-state=live]").wait_for()
    return page


def test_a_call_pops_on_the_console_and_its_outcome_lands_on_the_timeline_as_one_record(
    browser, live_hub, make_user, db
):
    app, sim, _creds, url = live_hub
    agent = make_user("agent", name="王芳")
    customer = _customer(app, db, agent)
    page = new_page(browser, locale="en-US")
    sign_in(page, url, agent)
    page.goto(f"{url}/console")
    # The agent makes themselves available from the console.
    page.get_by_label("My phone").fill("139 0000 0001")
    page.get_by_label("Availability").select_option("available")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#stream-state[data-state=live]").wait_for()

    _call_in(sim, talk_seconds=95)

    card = page.locator("article.call-card")
    card.wait_for()
    assert card.locator(".caller-name").inner_text() == "华信科技"
    assert card.locator(".caller .badge").inner_text() == "A"
    assert "Asked for a quote on 40 pumps" in card.inner_text()
    assert "王芳" in card.locator(".owner").inner_text()
    page.screenshot(path=ARTIFACTS / "console-pop.png", full_page=True)
    card.locator(".call-status", has_text="completed").wait_for()  # the agent hung up

    next_on = business_day(app) + timedelta(days=5)
    card.get_by_label("Outcome").select_option("callback_requested")
    card.get_by_label("Notes").fill("Call back after the board meeting")
    card.get_by_label("Next contact").fill(next_on.isoformat())
    card.get_by_role("button", name="Save outcome").click()
    page.locator("article.call-card .saved").wait_for()
    assert sim.wait_idle(PATIENCE)

    page.goto(f"{url}/customers/{customer.id}")
    calls = page.locator("ol.timeline li", has_text="Call ·")
    assert calls.count() == 1
    entry = calls.first.inner_text()
    assert "Callback requested" in entry and "Call back after the board meeting" in entry
    assert next_on.strftime("%b") in entry and "1:35 spoken" in entry
    page.screenshot(path=ARTIFACTS / "console-timeline.png", full_page=True)
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Call)) == 1
    assert db.get(Customer, customer.id).next_contact_on == next_on


def test_an_unknown_caller_pops_as_a_lead_and_a_script_in_a_name_is_only_text(
    browser, live_hub, make_user, db
):
    app, sim, _creds, url = live_hub
    agent = make_user("agent")
    _available(db, agent)
    _customer(app, db, agent, name='<script>window.popped = 1</script>Evil Co', cls="B")
    page = _console(browser, url, agent)

    _call_in(sim)
    card = page.locator("article.call-card")
    card.wait_for()
    assert card.locator(".caller-name").inner_text() == "<script>window.popped = 1</script>Evil Co"
    assert page.evaluate("typeof window.popped") == "undefined"

    _call_in(sim, sender="+86 139 1234 5678")
    lead = page.locator("article.call-card", has_text="New caller.")
    lead.wait_for()
    lead.get_by_label("Name").fill("赵敏")
    lead.get_by_label("Company").fill("Zhao Trading")
    lead.get_by_role("button", name="Save caller").click()
    page.locator("article.call-card .caller-name", has_text="Zhao Trading").wait_for()
    page.screenshot(path=ARTIFACTS / "console-lead.png", full_page=True)
    db.expire_all()
    new = db.scalar(sa.select(Customer).where(Customer.name == "Zhao Trading"))
    assert (new.stage, new.owner_id, new.contacts[0].name) == ("lead", agent.id, "赵敏")


def test_a_pop_sent_while_the_stream_was_down_shows_after_it_reconnects(
    browser, live_hub, make_user, db
):
    app, sim, _creds, url = live_hub
    # Streams end after a second (a drop as a proxy or a restart makes one); the console opens
    # a new one 3 s later by itself.
    app.config.update(EVENTS_MAX_SECONDS=1.0, EVENTS_KEEPALIVE=0.2)
    agent = make_user("agent")
    _available(db, agent)
    _customer(app, db, agent)
    page = _console(browser, url, agent)
    page.locator("#stream-state[data-state=reconnecting]").wait_for()
    _call_in(sim, pace=0)  # published while nobody listens
    assert page.locator("article.call-card").count() == 0
    page.locator("#stream-state[data-state=live]").wait_for(timeout=PATIENCE * 1000)
    page.locator("article.call-card .caller-name", has_text="华信科技").wait_for()


def test_click_to_call_from_the_customer_list_rings_the_agent_then_the_customer(
    browser, live_hub, make_user, db
):
    import dataclasses
    from datetime import time

    app, sim, creds, url = live_hub
    app.config["SETTINGS"] = dataclasses.replace(
        app.config["SETTINGS"], call_hours=(time(0, 0), time(23, 59, 59))
    )
    agent = make_user("agent")
    _available(db, agent)
    customer = _customer(app, db, agent)
    customer.phone = "+8613800138001"
    db.add(customer)
    db.commit()
    page = new_page(browser, locale="en-US")
    sign_in(page, url, agent)
    page.goto(f"{url}/customers")
    # The list is a form of its own (bulk assignment); the call button must still call.
    page.locator("button.call").first.click()
    page.wait_for_url("**/console/calls/*")
    assert sim.wait_idle(PATIENCE)
    page.reload()
    card = page.locator("article.call-card")
    assert "completed" in card.locator(".call-status").inner_text()
    [bridge] = [r for r in sim.requests() if r["kind"] == "dial"]
    assert bridge["body"]["To"] == "+8613800138001"
    assert bridge["body"]["CallerId"] == creds.from_number
    db.expire_all()
    record = db.scalar(sa.select(FollowUp).where(FollowUp.channel == "call"))
    assert record.status == "completed" and record.user_id == agent.id
