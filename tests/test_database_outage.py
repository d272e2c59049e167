"""The database stops answering during webhook intake (PostgreSQL refusing connections, every
open one cut): providers get a retryable 503 with Retry-After, and nothing is lost once it is
back, because they deliver again. PostgreSQL only: SQLite has no outage to make short of a lock
held for its 30 s busy timeout."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from hub.channels.models import Message, Suppression, WebhookEvent
from hub.crm.customers.models import Contact, Customer
from hub.simulator.sendgrid_api import sign_events
from tests.conftest import work as _work

pytestmark = pytest.mark.skipif(
    not os.environ.get("HUB_TEST_DATABASE_URL"), reason="an outage is made on PostgreSQL"
)


@contextmanager
def outage(database_url):
    """Refuse new connections to the database and cut the open ones; undo on leaving."""
    url = sa.make_url(database_url)
    name = url.database
    admin = sa.create_engine(
        url.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def _sent_email(db):
    """An email the send job already handed to SendGrid."""
    customer = Customer(name="Outage Co")
    customer.contacts.append(Contact(name="Li", email="li@example.com", phone="+8613800138000"))
    db.add(customer)
    db.flush()
    message = Message(channel="email", customer_id=customer.id,
                      contact_id=customer.contacts[0].id, to_address="li@example.com",
                      subject="Hi", body="hello", status="sent", provider_id="sg-1")
    db.add(message)
    db.commit()
    return message.id


def test_webhooks_answer_503_while_the_database_is_down_and_lose_nothing(
    app, database_url, db
):
    from pathlib import Path

    from hub.channels.credentials import load_or_create

    creds = load_or_create(Path(app.config["INSTANCE_DIR"]))
    message_id = _sent_email(db)
    db.close()
    batch = json.dumps(
        [{"event": "delivered", "sg_event_id": "d-1", "email": "li@example.com",
          "hub_message_id": str(message_id)}]
    ).encode()
    stop = {"MessageSid": "SM" + "5" * 32, "From": "+8613800138000", "To": creds.from_number,
            "Body": "STOP", "AccountSid": creds.account_sid}
    url = "http://localhost/webhooks/twilio/sms"
    signature = RequestValidator(creds.auth_token).compute_signature(url, stop)
    client = app.test_client()

    def deliver():
        events = client.post("/webhooks/sendgrid/events", data=batch,
                             content_type="application/json",
                             headers=sign_events(creds.private_key(), batch))
        sms = client.post("/webhooks/twilio/sms", data=stop,
                          headers={"X-Twilio-Signature": signature})
        return events, sms

    with outage(database_url):
        down = deliver()
    for response in down:
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert "not answering" in down[0].get_data(as_text=True)

    # The providers deliver again (SendGrid for 24 h, Twilio as its retry settings say).
    up = deliver()
    assert [r.status_code for r in up] == [204, 200]
    _work(app)
    assert db.get(Message, message_id).status == "delivered"
    assert db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 2
    entry = db.scalar(sa.select(Suppression))
    assert (entry.address, entry.reason) == ("+8613800138000", "stop")
    # Delivered once more (a provider retrying after a lost answer): nothing doubles.
    deliver()
    assert db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)) == 2
