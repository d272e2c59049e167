"""Customers writing in: STOP before the answer, HELP answered, replies on the timeline, unknown
senders as leads, inbound email, and the unsubscribe link every email carries."""

import json

import requests
import sqlalchemy as sa

from hub.channels.models import Message, Suppression
from hub.core.services import events_channel
from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from tests.conftest import PATIENCE, eventually
from tests.conftest import work as _work
from tests.crm_helpers import api, token_for

NO_PROXY = {"http": None, "https": None}


def _customer(app, make_user, **contact):
    owner = make_user("agent")
    client = api(app.test_client(), token_for(app, owner))
    c = client.post(
        "/customers", json={"name": "Reply Co", "contacts": [{"name": "Li", **contact}]}
    ).json
    return client, owner, c


def _text(sim, creds, sender, body):
    r = requests.post(
        f"{sim.url}/sim/inbound/sms",
        json={"from": sender, "to": creds.from_number, "body": body},
        proxies=NO_PROXY,
        timeout=PATIENCE,
    )
    assert r.status_code == 200, r.text  # the simulator passes the hub's own answer back
    return r.text


def test_stop_suppresses_before_the_webhook_answers_and_the_next_send_is_refused(
    live_hub, make_user, db
):
    app, sim, creds, _ = live_hub
    client, _, c = _customer(app, make_user, phone="138 0013 8000")
    answer = _text(sim, creds, "+8613800138000", "  Stop ")
    assert answer.startswith("<?xml") and "<Message>" not in answer
    # No worker has run: the suppression was written before the hub answered.
    entry = db.scalar(sa.select(Suppression).where(Suppression.address == "+8613800138000"))
    assert entry is not None and entry.reason == "stop"
    refused = client.post(
        "/messages", json={"contact_id": c["contacts"][0]["id"], "channel": "sms", "body": "hi"}
    )
    assert refused.status_code == 409 and "suppression list (Replied STOP" in refused.json["detail"]
    _work(app)
    record = db.scalar(sa.select(FollowUp).where(FollowUp.direction == "inbound"))
    assert (
        record.customer_id == c["id"]
        and record.channel == "sms"
        and record.summary.strip() == "Stop"
    )
    _text(sim, creds, "+8613800138000", "START")
    db.expire_all()
    assert db.scalar(sa.select(Suppression)) is None


def test_help_is_answered_with_the_help_text(live_hub, make_user):
    app, sim, creds, _ = live_hub
    _customer(app, make_user, phone="138 0013 8000")
    answer = _text(sim, creds, "+8613800138000", "help")
    assert "<Message>Contact Hub: reply STOP to stop messages" in answer


def test_a_reply_lands_on_the_timeline_and_the_owner_is_told_live(
    live_hub, make_user, db, redis_conn
):
    app, sim, creds, _ = live_hub
    _, owner, c = _customer(app, make_user, phone="138 0013 8000")
    pubsub = redis_conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events_channel(f"user:{owner.id}", redis_conn))
    _text(sim, creds, "+8613800138000", "好的，下周二可以见面。")
    _work(app)
    message = db.scalar(sa.select(Message).where(Message.direction == "inbound"))
    assert (message.customer_id, message.body, message.status) == (
        c["id"],
        "好的，下周二可以见面。",
        "received",
    )
    event = eventually(lambda: pubsub.get_message(timeout=0.1), every=0)
    pubsub.close()
    assert event and json.loads(event["data"])["text"] == "好的，下周二可以见面。"


def test_an_unknown_sender_becomes_a_lead(live_hub, db):
    app, sim, creds, _ = live_hub
    _text(sim, creds, "+8613912345678", "你们的产品多少钱？")
    _work(app)
    lead = db.scalar(sa.select(Customer))
    assert (lead.stage, lead.lead_source, lead.contacts[0].phone) == (
        "lead",
        "sms",
        "+8613912345678",
    )


def test_inbound_email_is_threaded_to_the_contact_and_the_secret_guards_it(live_hub, make_user, db):
    app, sim, creds, url = live_hub
    _, _, c = _customer(app, make_user, email="li@example.com")
    r = requests.post(
        f"{sim.url}/sim/inbound/email",
        json={
            "from": "Li <Li@Example.com>",
            "to": creds.from_email,
            "subject": "Re: quote",
            "text": "Thanks!",
        },
        proxies=NO_PROXY,
        timeout=PATIENCE,
    )
    assert r.status_code == 200, r.text
    _work(app)
    record = db.scalar(sa.select(FollowUp).where(FollowUp.direction == "inbound"))
    assert record.customer_id == c["id"] and record.summary.startswith("Re: quote")
    forged = app.test_client().post(
        "/webhooks/sendgrid/inbound/not-the-secret", data={"from": "x@example.com", "text": "hi"}
    )
    assert forged.status_code == 403


def test_every_email_carries_a_working_unsubscribe_link(live_hub, make_user, db):
    app, sim, _, url = live_hub
    client, _, c = _customer(app, make_user, email="li@example.com")
    contact_id = c["contacts"][0]["id"]
    assert (
        client.post(
            "/messages",
            json={"contact_id": contact_id, "channel": "email", "body": "Hello", "subject": "News"},
        ).status_code
        == 202
    )
    _work(app)
    [mail] = [r for r in sim.requests() if r["provider"] == "sendgrid"]
    header = mail["body"]["personalizations"][0]["headers"]["List-Unsubscribe"]
    link = header.strip("<>")
    assert link.startswith(url + "/unsubscribe/") and link in mail["body"]["content"][0]["value"]
    page = app.test_client().get(link[len(url) :])
    assert page.status_code == 200 and "li@example.com" in page.get_data(as_text=True)
    one_click = app.test_client().post(link[len(url) :], data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200
    assert (
        db.scalar(sa.select(Suppression.reason).where(Suppression.address == "li@example.com"))
        == "unsubscribe"
    )
    refused = client.post(
        "/messages",
        json={"contact_id": contact_id, "channel": "email", "body": "x", "subject": "y"},
    )
    assert refused.status_code == 409
    assert app.test_client().get("/unsubscribe/forged-token").status_code == 404


def test_a_text_from_a_number_with_spaces_and_dashes_threads_to_the_contact(
    live_hub, make_user, db
):
    from twilio.request_validator import RequestValidator

    app, sim, creds, url = live_hub
    _, _, c = _customer(app, make_user, phone="150 9221 6676")
    _text(sim, creds, "+86 150-9221-6676", "通过模拟器")
    # The webhook itself, as another provider (or a hand-made test) might spell it.
    params = {
        "MessageSid": "SM" + "7" * 32,
        "AccountSid": creds.account_sid,
        "From": "+86 150 9221 6676",
        "To": "+1 202-555-0143",
        "Body": "直接发来",
    }
    signature = RequestValidator(creds.auth_token).compute_signature(
        f"{url}/webhooks/twilio/sms", params
    )
    r = requests.post(
        f"{url}/webhooks/twilio/sms",
        data=params,
        headers={"X-Twilio-Signature": signature},
        proxies=NO_PROXY,
        timeout=PATIENCE,
    )
    assert r.status_code == 200, r.text
    _work(app)
    messages = db.scalars(sa.select(Message).order_by(Message.id)).all()
    assert [(m.body, m.contact_id, m.from_address, m.to_address) for m in messages] == [
        ("通过模拟器", c["contacts"][0]["id"], "+8615092216676", "+12025550143"),
        ("直接发来", c["contacts"][0]["id"], "+8615092216676", "+12025550143"),
    ]
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1  # no new lead
