"""Hostile bodies at the provider webhooks: too large, not UTF-8, not what the provider sends.
Each gets a clear 4xx and stores nothing; none is a 5xx."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.channels.calls.models import Call
from hub.channels.models import WebhookEvent

WEBHOOKS = [
    "/webhooks/twilio/sms",
    "/webhooks/twilio/sms-status",
    "/webhooks/twilio/voice",
    "/webhooks/twilio/voice-status",
    "/webhooks/twilio/voice/recording",
    "/webhooks/sendgrid/events",
]


def _stored(db):
    return (
        db.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)),
        db.scalar(sa.select(sa.func.count()).select_from(Call)),
    )


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_body_over_the_limit_is_413_and_nothing_is_kept(client, db, path):
    huge = b"a=" + b"x" * (65 * 1024 * 1024)
    signed = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": "forged",
        "X-Twilio-Email-Event-Webhook-Signature": "forged",
        "X-Twilio-Email-Event-Webhook-Timestamp": "1",
    }
    response = client.post(path, data=huge, headers=signed)
    assert response.status_code == 413
    # Unsigned, it is refused before the body is even read.
    unsigned = client.post(
        path, data=huge, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code in (403, 413)
    assert _stored(db) == (0, 0)


@pytest.mark.parametrize("path", WEBHOOKS)
@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/x-www-form-urlencoded", b"From=%FF%FE&Body=\xff\xfe\xfd"),
        ("application/json", b'[{"event": "delivered", "sg_event_id": "\xff\xfe"}]'),
        ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
        ("text/plain", b"\x00\x01\x02"),
    ],
)
def test_malformed_and_invalid_utf8_bodies_are_refused_without_a_5xx(
    client, db, path, content_type, body
):
    response = client.post(path, data=body, headers={"Content-Type": content_type})
    assert 400 <= response.status_code < 500, response.status_code
    assert _stored(db) == (0, 0)


def test_inbound_email_with_a_wrong_secret_or_broken_body_stores_nothing(client, db):
    for secret, body in (("wrong", b"from=a%40b.c"), ("wrong", b"\xff\xfe")):
        response = client.post(
            f"/webhooks/sendgrid/inbound/{secret}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 403
    assert _stored(db) == (0, 0)


def test_a_nul_in_a_query_or_form_value_is_refused_naming_it(app, client, make_user):
    from tests.crm_helpers import token_for

    token = token_for(app, make_user("admin"))
    answer = client.get("/api/v1/customers?q=a%00b", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422
    assert answer.json["errors"] == [{"field": "q", "message": "Contains a NUL character."}]
    hook = client.post("/webhooks/twilio/sms", data={"Body": "a\x00b"})
    assert hook.status_code == 422
