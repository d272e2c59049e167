"""One-to-one messages: what is refused, what is queued, and statuses that never go backwards."""

import sqlalchemy as sa

from hub.campaigns.models import CAMPAIGN_STATES, CampaignState
from hub.channels import suppressions
from hub.channels.messages import set_status
from hub.channels.models import STATUS_RANK, Message, MessageStatus
from hub.crm.followups.models import FollowUp
from tests.conftest import csrf_token
from tests.crm_helpers import api, token_for


def _customer(client, **contact):
    c = client.post(
        "/customers", json={"name": "Msg Co", "contacts": [{"name": "Li Na", **contact}]}
    ).json
    return c["id"], c["contacts"][0]["id"]


def test_a_queued_sms_is_a_message_and_a_follow_up_on_the_timeline(app, make_user, db):
    agent = make_user("agent")
    client = api(app.test_client(), token_for(app, agent))
    _, contact_id = _customer(client, phone="138 0013 8000")
    r = client.post(
        "/messages", json={"contact_id": contact_id, "channel": "sms", "body": "您好，报价已发。"}
    )
    assert r.status_code == 202, r.json
    assert r.json["status"] == "queued" and r.json["to_address"] == "+8613800138000"
    message = db.get(Message, r.json["id"])
    record = db.get(FollowUp, message.follow_up_id)
    assert (record.channel, record.direction, record.status, record.summary) == (
        "sms",
        "outbound",
        "queued",
        "您好，报价已发。",
    )
    assert record.message_ref == str(message.id)
    assert client.get(f"/messages/{message.id}").json["body"] == "您好，报价已发。"


def test_sends_that_cannot_happen_are_refused_with_409_and_the_reason(app, make_user, db):
    agent = make_user("agent")
    client = api(app.test_client(), token_for(app, agent))
    _, no_phone = _customer(client, email="li.na@example.com")
    r = client.post("/messages", json={"contact_id": no_phone, "channel": "sms", "body": "hi"})
    assert r.status_code == 409 and r.json["detail"] == "Li Na has no mobile number."
    _, stopped = _customer(client, phone="139 0013 9000")
    suppressions.suppress(db, "sms", "+8613900139000", "stop", source="STOP by SMS")
    db.commit()
    r = client.post("/messages", json={"contact_id": stopped, "channel": "sms", "body": "hi"})
    assert r.status_code == 409 and "suppression list (Replied STOP" in r.json["detail"]
    _, refused = _customer(client, email="z@example.com")
    client.put(
        f"/contacts/{refused}/consent/email", json={"granted": False, "source": "asked in person"}
    )
    r = client.post(
        "/messages", json={"contact_id": refused, "channel": "email", "body": "hi", "subject": "x"}
    )
    assert r.status_code == 409 and "asked in person" in r.json["detail"]
    missing_subject = client.post(
        "/messages", json={"contact_id": refused, "channel": "email", "body": "hi"}
    )
    assert missing_subject.status_code == 422
    assert db.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_an_agent_cannot_message_another_agents_contact(app, make_user):
    director = api(app.test_client(), token_for(app, make_user("director")))
    other = make_user("agent")
    c = director.post(
        "/customers",
        json={
            "name": "Theirs",
            "owner_id": other.id,
            "contacts": [{"name": "X", "phone": "138 0013 8000"}],
        },
    ).json
    agent = api(app.test_client(), token_for(app, make_user("agent")))
    r = agent.post(
        "/messages", json={"contact_id": c["contacts"][0]["id"], "channel": "sms", "body": "hi"}
    )
    assert r.status_code == 403


def test_status_never_moves_backwards_and_the_follow_up_follows(app, make_user, db):
    client = api(app.test_client(), token_for(app, make_user("director")))
    _, contact_id = _customer(client, phone="138 0013 8000")
    message = db.get(
        Message,
        client.post(
            "/messages", json={"contact_id": contact_id, "channel": "sms", "body": "hi"}
        ).json["id"],
    )
    assert set_status(db, message, "sent")
    assert set_status(db, message, "delivered")
    assert not set_status(db, message, "sent")  # a late callback
    assert not set_status(db, message, "delivered")  # a replay
    db.commit()
    assert message.status == "delivered"
    assert db.get(FollowUp, message.follow_up_id).status == "delivered"


def test_the_status_and_state_enums_name_the_stored_words():
    # The stored words are what migrations, callbacks and reports know; the enums only name them.
    assert STATUS_RANK.keys() == set(MessageStatus)
    assert [s.value for s in MessageStatus] == [
        "queued", "pending", "sending", "sent", "suppressed", "skipped", "cancelled", "delivered",
        "undelivered", "failed", "bounced", "dropped", "opened", "clicked", "received",
    ]
    assert CAMPAIGN_STATES == tuple(CampaignState) == (
        "draft", "scheduled", "running", "paused", "completed", "cancelled",
    )
    assert all(type(s) is str for s in CAMPAIGN_STATES)  # the OpenAPI enum and CHECK take them as is


def test_the_compose_page_refuses_clearly_and_queues(client, signed_in, db):
    signed_in("agent")
    token = csrf_token(client, "/customers/new")
    r = client.post(
        "/customers/new",
        data={
            "csrf_token": token,
            "name": "Page Co",
            "kind": "organization",
            "stage": "customer",
            "lead_source": "manual",
            "contact.name": "Wang",
            "contact.phone": "138 0013 8000",
        },
    )
    cid = int(r.headers["Location"].rsplit("/", 1)[1])
    from hub.crm.customers.models import Contact

    contact = db.scalar(sa.select(Contact).where(Contact.customer_id == cid))
    page = client.get(f"/contacts/{contact.id}/message/email").get_data(as_text=True)
    assert "Wang has no email address." in page
    r = client.post(f"/contacts/{contact.id}/message/sms", data={"csrf_token": token, "body": ""})
    assert r.status_code == 422
    r = client.post(
        f"/contacts/{contact.id}/message/sms",
        data={"csrf_token": token, "body": "Hello"},
        follow_redirects=True,
    )
    assert "queued" in r.get_data(as_text=True)
    assert db.scalar(sa.select(Message.status)) == "queued"
