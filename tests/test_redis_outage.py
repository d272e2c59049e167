"""Redis stops answering while providers call back: the webhook still stores the event (and a
STOP still suppresses) before answering 503, and the periodic sweep applies what no job was
queued for, so nothing stored is lost."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from hub.channels.credentials import load_or_create
from hub.channels.models import Message, Suppression, WebhookEvent
from hub.channels.stranded import apply_stranded
from hub.core.clock import utcnow
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from hub.runtime.schedule import PERIODIC
from hub.simulator.sendgrid_api import sign_events
from hub.web.app import create_app
from tests.conftest import free_port


def test_events_stored_while_redis_is_down_are_applied_by_the_sweep(app, app_config, db):
    customer = Customer(name="Sweep Co")
    customer.contacts.append(Contact(name="Li", email="li@example.com", phone="+8613800138000"))
    db.add(customer)
    db.flush()
    message = Message(channel="email", customer_id=customer.id, contact_id=customer.contacts[0].id,
                      to_address="li@example.com", subject="Hi", body="hello", status="sent",
                      provider_id="sg-1")
    db.add(message)
    db.commit()
    # The same hub, with Redis gone (nothing listens on that port).
    down = create_app({**app_config, "HUB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    creds = load_or_create(Path(app.config["INSTANCE_DIR"]))
    client = down.test_client()
    batch = json.dumps([{"event": "delivered", "sg_event_id": "d-9", "email": "li@example.com",
                         "hub_message_id": str(message.id)}]).encode()
    answer = client.post("/webhooks/sendgrid/events", data=batch, content_type="application/json",
                         headers=sign_events(creds.private_key(), batch))
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    stop = {"MessageSid": "SM" + "6" * 32, "From": "+8613800138000", "To": creds.from_number,
            "Body": "STOP", "AccountSid": creds.account_sid}
    signature = RequestValidator(creds.auth_token).compute_signature(
        "http://localhost/webhooks/twilio/sms", stop
    )
    sms = client.post("/webhooks/twilio/sms", data=stop, headers={"X-Twilio-Signature": signature})
    assert sms.status_code == 503
    # STOP took effect before the answer, Redis or not.
    assert db.scalar(sa.select(Suppression.reason)) == "stop"
    assert db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 2
    assert db.get(Message, message.id).status == "sent"  # stored, not applied: no job was queued

    with app.app_context():
        assert apply_stranded(utcnow()) == 0  # too young: its job may still be coming
        assert apply_stranded(utcnow() + timedelta(minutes=3)) == 2
        assert apply_stranded(utcnow() + timedelta(minutes=3)) == 0
    db.expire_all()
    assert db.get(Message, message.id).status == "delivered"
    inbound = db.scalar(sa.select(FollowUp).where(FollowUp.direction == "inbound"))
    assert inbound is not None and inbound.summary == "STOP"
    assert "stranded-webhooks" in {p.name for p in PERIODIC}
