"""Provider webhooks: verified for real, stored once, applied by a worker, never backwards; and the
whole loop through the simulator: send, provider callbacks, delivered on the timeline."""

import json

import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from hub.channels.models import Message, Suppression, WebhookEvent
from hub.crm.followups.models import FollowUp
from hub.simulator.sendgrid_api import sign_events
from tests.conftest import PATIENCE
from tests.conftest import work as _work
from tests.crm_helpers import api, token_for


def _message(app, make_user, channel, **contact):
    client = api(app.test_client(), token_for(app, make_user("director")))
    c = client.post(
        "/customers", json={"name": "Hook Co", "contacts": [{"name": "Li", **contact}]}
    ).json
    body = {"contact_id": c["contacts"][0]["id"], "channel": channel, "body": "hello"}
    if channel == "email":
        body["subject"] = "Hi"
    return client.post("/messages", json=body).json["id"]


def test_an_sms_reaches_delivered_through_signed_status_callbacks(live_hub, make_user, db):
    app, sim, _, _ = live_hub
    message_id = _message(app, make_user, "sms", phone="138 0013 8000")
    _work(app)  # sends; the simulator calls back sending, sent, delivered
    assert sim.wait_idle(PATIENCE)
    _work(app)  # applies the stored callbacks
    message = db.get(Message, message_id)
    assert message.status == "delivered"
    assert db.get(FollowUp, message.follow_up_id).status == "delivered"
    keys = set(db.scalars(sa.select(WebhookEvent.event_key)))
    assert {f"twilio:{message.provider_id}:{s}" for s in ("sending", "sent", "delivered")} <= keys
    assert all(c["status"] == 204 for c in sim.callbacks())
    [sent] = [r for r in sim.requests() if r["kind"] == "message"]
    assert sent["body"]["StatusCallback"].endswith(
        f"/webhooks/twilio/sms-status?message={message_id}"
    )


def test_an_email_reaches_delivered_through_a_signed_event_batch(live_hub, make_user, db):
    app, sim, _, _ = live_hub
    message_id = _message(app, make_user, "email", email="li@example.com")
    _work(app)
    assert sim.wait_idle(PATIENCE)
    _work(app)
    assert db.get(Message, message_id).status == "delivered"


def _twilio_post(client, creds, url, params, token=None):
    signature = RequestValidator(token or creds.auth_token).compute_signature(url, params)
    return client.post(
        "/webhooks/twilio/sms-status", data=params, headers={"X-Twilio-Signature": signature}
    )


def test_a_bad_signature_is_403_and_changes_nothing(live_hub, db):
    app, _, creds, url = live_hub
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "AccountSid": creds.account_sid}
    client = app.test_client()
    assert (
        _twilio_post(
            client, creds, url + "/webhooks/twilio/sms-status", params, token="0" * 32
        ).status_code
        == 403
    )
    unsigned = client.post("/webhooks/twilio/sms-status", data=params)
    assert unsigned.status_code == 403
    body = json.dumps(
        [{"event": "delivered", "sg_event_id": "e1", "email": "a@example.com"}]
    ).encode()
    headers = sign_events(creds.private_key(), body)
    tampered = body.replace(b"delivered", b"bounce")
    r = client.post(
        "/webhooks/sendgrid/events", data=tampered, headers=headers, content_type="application/json"
    )
    assert r.status_code == 403
    assert db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 0


def test_replays_change_nothing_and_statuses_never_go_backwards(live_hub, make_user, db):
    app, _, creds, url = live_hub
    message_id = _message(app, make_user, "sms", phone="138 0013 8000")
    message = db.get(Message, message_id)
    message.provider_id, message.status = "SMfeedface", "sent"
    db.commit()
    client = app.test_client()
    hook = url + "/webhooks/twilio/sms-status"
    delivered = {
        "MessageSid": "SMfeedface",
        "MessageStatus": "delivered",
        "AccountSid": creds.account_sid,
    }
    late_sent = {**delivered, "MessageStatus": "sent"}
    for params in (delivered, delivered, late_sent, delivered):  # a replay, and a late "sent"
        assert _twilio_post(client, creds, hook, params).status_code == 204
    assert db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 2
    _work(app)
    db.expire_all()
    assert db.get(Message, message_id).status == "delivered"


def test_sendgrid_bounce_and_spam_report_suppress_the_address_once(live_hub, make_user, db):
    app, _, creds, _ = live_hub
    message_id = _message(app, make_user, "email", email="gone@example.com")
    events = [
        {
            "event": "bounce",
            "type": "bounce",
            "sg_event_id": "b1",
            "email": "gone@example.com",
            "hub_message_id": str(message_id),
            "reason": "550 no such user",
        },
        {"event": "spamreport", "sg_event_id": "s1", "email": "Angry@Example.com"},
        {"event": "bounce", "type": "bounce", "sg_event_id": "b1", "email": "gone@example.com"},
        {"event": "future_event_type", "sg_event_id": "x1", "unknown_field": 1},
    ]
    body = json.dumps(events).encode()
    r = app.test_client().post(
        "/webhooks/sendgrid/events",
        data=body,
        content_type="application/json",
        headers=sign_events(creds.private_key(), body),
    )
    assert r.status_code == 204
    _work(app)
    rows = {(s.address, s.reason) for s in db.scalars(sa.select(Suppression))}
    assert rows == {("gone@example.com", "bounce"), ("angry@example.com", "spamreport")}
    message = db.get(Message, message_id)
    assert message.status == "bounced" and "550" in message.error


def test_a_burst_of_callbacks_queues_one_apply_job_that_applies_them_all(
    live_hub, make_user, db, redis_conn
):
    from hub.core import services

    app, _, creds, url = live_hub
    ids = [_message(app, make_user, "sms", phone=f"138 0013 80{n:02d}") for n in range(12)]
    services.queue("high", redis_conn).empty()  # the sends; this test is about the callbacks
    for n, message_id in enumerate(ids):
        message = db.get(Message, message_id)
        message.provider_id, message.status = f"SMburst{n}", "sent"
    db.commit()
    client = app.test_client()
    for n in range(len(ids)):
        params = {"MessageSid": f"SMburst{n}", "MessageStatus": "delivered",
                  "AccountSid": creds.account_sid}
        assert _twilio_post(client, creds, url + "/webhooks/twilio/sms-status", params).status_code == 204
    queued = services.queue("high", redis_conn).jobs
    assert [j.func_name for j in queued] == ["hub.channels.provider_events.apply_pending_job"]
    _work(app)
    db.expire_all()
    assert {db.get(Message, i).status for i in ids} == {"delivered"}
    assert db.scalar(
        sa.select(sa.func.count()).select_from(WebhookEvent).where(WebhookEvent.applied_at.is_(None))
    ) == 0
