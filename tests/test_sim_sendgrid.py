"""The provider simulator's SendGrid side through the real SDK: mail/send, its errors, and the
Signed Event Webhook batches it posts back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from python_http_client.exceptions import (
    BadRequestsError,
    HTTPError,
    InternalServerError,
    PayloadTooLargeError,
    TooManyRequestsError,
    UnauthorizedError,
)
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.mail import Category, CustomArg, Mail, Personalization, To

from hub.channels.credentials import SimCredentials
from hub.simulator.server import Faults, ProviderSimulator
from tests.conftest import PATIENCE
from tests.test_simulator import (  # noqa: F401 - the fixtures are used by name
    Receiver,
    _no_proxy,
    creds_fixture,
    receiver_fixture,
    sim_fixture,
)

EVENTS = "/webhooks/sendgrid/events"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"


@pytest.fixture
def sg(sim: ProviderSimulator, creds: SimCredentials) -> SendGridAPIClient:
    client = SendGridAPIClient(creds.sendgrid_api_key, host=sim.url)
    client.client.timeout = PATIENCE  # none by default
    return client


def body(n: int = 1, per: int = 1, **extra: Any) -> dict[str, Any]:
    """A mail/send body with `n` personalizations of `per` recipients each."""
    return {
        "personalizations": [
            {
                "to": [{"email": f"c{i}.{j}@example.com"} for j in range(per)],
                "custom_args": {"message_id": str(i)},
            }
            for i in range(n)
        ],
        "from": {"email": "hub@sim.contact-hub.example", "name": "Contact Hub"},
        "subject": "Your order",
        "content": [
            {"type": "text/plain", "value": "Hello"},
            {"type": "text/html", "value": "<p>Hello</p>"},
        ],
        **extra,
    }


def send(sg: SendGridAPIClient, data: dict[str, Any]) -> Any:
    return sg.client.mail.send.post(request_body=data)


def batches(receiver: Receiver) -> list[list[dict[str, Any]]]:
    return [json.loads(p["body"]) for p in receiver.received(EVENTS)]


def first_error(err: HTTPError) -> dict[str, Any]:
    return json.loads(err.body)["errors"][0]


def test_mail_built_with_the_helpers_is_accepted_and_recorded(
    sim: ProviderSimulator, sg: SendGridAPIClient, creds: SimCredentials
) -> None:
    mail = Mail(from_email=creds.from_email, subject="订单确认", plain_text_content="您好")
    personalization = Personalization()
    personalization.add_to(To("wang@example.com"))
    personalization.add_custom_arg(CustomArg("message_id", "17"))
    mail.add_personalization(personalization)
    mail.add_category(Category("follow-up"))
    response = sg.send(mail)
    assert response.status_code == 202 and response.body == b""
    xid = response.headers["X-Message-Id"]
    assert xid and "." not in xid
    (record,) = sim.requests()
    assert record["provider"] == "sendgrid" and record["ids"] == {"x_message_id": xid}
    assert record["body"]["subject"] == "订单确认" and record["recipients"] == 1


def test_events_come_back_as_one_signed_batch_with_custom_args_as_top_level_keys(
    sim: ProviderSimulator, sg: SendGridAPIClient, receiver: Receiver, creds: SimCredentials
) -> None:
    data = body(2, per=2, custom_args={"campaign": "spring", "message_id": "x"})
    data["categories"] = ["campaign"]
    data["personalizations"][1]["cc"] = [{"email": "boss@example.com"}]
    xid = send(sg, data).headers["X-Message-Id"]
    assert sim.wait_idle(PATIENCE)
    (events,) = batches(receiver)
    assert len(events) == 10  # five recipients, two events each
    recipients = ["c0.0", "c0.1", "c1.0", "c1.1", "boss"]
    assert [e["email"].split("@")[0] for e in events[::2]] == recipients
    assert [e["event"] for e in events] == ["processed", "delivered"] * 5
    for n, (processed, delivered) in enumerate(zip(events[::2], events[1::2], strict=True)):
        for event in (processed, delivered):
            assert event["sg_message_id"].startswith(f"{xid}.{n}.")
            assert event["smtp-id"] and isinstance(event["timestamp"], int)
            assert event["category"] == "campaign"
            # The personalization's custom args win over the message's; both are top-level keys.
            assert event["campaign"] == "spring"
            assert event["message_id"] == ("0" if n < 2 else "1")
        assert processed["sg_message_id"] == delivered["sg_message_id"]
    assert len({e["sg_event_id"] for e in events}) == 10

    (post,) = receiver.received(EVENTS)
    raw = post["body"].decode("utf-8")
    signature, timestamp = post["headers"][SIGNATURE], post["headers"][TIMESTAMP]
    verifier = EventWebhook(creds.webhook_public_key)
    assert verifier.verify_signature(raw, signature, timestamp)
    key = verifier.convert_public_key_to_ecdsa(creds.webhook_public_key)
    assert EventWebhook().verify_signature(raw, signature, timestamp, key)
    for i in (0, len(raw) // 2, len(raw) - 1):
        tampered = raw[:i] + ("x" if raw[i] != "x" else "y") + raw[i + 1 :]
        assert not verifier.verify_signature(tampered, signature, timestamp)
    assert not verifier.verify_signature(raw, signature, str(int(timestamp) + 1))
    assert not verifier.verify_signature(raw + "\n", signature, timestamp)


def test_non_ascii_custom_args_are_signed_over_the_utf8_body(
    sim: ProviderSimulator, sg: SendGridAPIClient, receiver: Receiver, creds: SimCredentials
) -> None:
    send(sg, body(custom_args={"客户": "王小明"}))
    assert sim.wait_idle(PATIENCE)
    (post,) = receiver.received(EVENTS)
    raw = post["body"].decode("utf-8")
    assert json.loads(raw)[0]["客户"] == "王小明"
    assert EventWebhook(creds.webhook_public_key).verify_signature(
        raw, post["headers"][SIGNATURE], post["headers"][TIMESTAMP]
    )


def test_a_bad_key_is_unauthorized(sim: ProviderSimulator) -> None:
    client = SendGridAPIClient("SG.wrong.key", host=sim.url)
    client.client.timeout = PATIENCE
    with pytest.raises(UnauthorizedError) as err:
        send(client, body())
    assert (
        err.value.status_code == 401 and "authorization grant" in first_error(err.value)["message"]
    )
    assert sim.requests() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.pop("personalizations"), "personalizations"),
        (lambda b: b["personalizations"][0].pop("to"), "personalizations.0.to"),
        (
            lambda b: b["personalizations"][0]["to"][0].update(email="nobody"),
            "personalizations.0.to.0.email",
        ),
        (
            lambda b: b["personalizations"][0]["to"].append({"email": "C0.0@example.com"}),
            "personalizations.0.to",
        ),
        (lambda b: b.pop("from"), "from"),
        (lambda b: b["from"].update(email=""), "from.email"),
        (lambda b: b.pop("subject"), "subject"),
        (lambda b: b.pop("content"), "content"),
        (lambda b: b["content"][1].update(value=""), "content.1.value"),
        (lambda b: b["content"].reverse(), "content"),
        (
            lambda b: b["personalizations"][0].update(custom_args={"n": 1}),
            "personalizations.0.custom_args",
        ),
        (lambda b: b.update(custom_args={"big": "x" * 10_000}), "custom_args"),
        (lambda b: b.update(categories=["c"] * 11), "categories"),
        (lambda b: b.update(send_at=4_000_000_000), "send_at"),
    ],
)
def test_a_bad_body_is_a_bad_request_naming_the_field(
    sim: ProviderSimulator, sg: SendGridAPIClient, change: Any, field: str
) -> None:
    data = body()
    change(data)
    with pytest.raises(BadRequestsError) as err:
        send(sg, data)
    assert err.value.status_code == 400
    assert field in [e["field"] for e in json.loads(err.value.body)["errors"]]
    assert all(e["message"] for e in json.loads(err.value.body)["errors"])
    assert sim.requests() == []


def test_subject_per_personalization_or_a_template_is_enough(sg: SendGridAPIClient) -> None:
    data = body(2)
    data.pop("subject")
    for p in data["personalizations"]:
        p["subject"] = "Hi"
    assert send(sg, data).status_code == 202
    templated = body()
    templated.pop("subject"), templated.pop("content")
    templated["template_id"] = "d-" + "0" * 32
    assert send(sg, templated).status_code == 202


def test_limits_of_1000_personalizations_and_1000_recipients(
    sim: ProviderSimulator, sg: SendGridAPIClient, receiver: Receiver
) -> None:
    with pytest.raises(PayloadTooLargeError) as err:
        send(sg, body(1001))
    assert err.value.status_code == 413 and first_error(err.value)["field"] == "personalizations"
    with pytest.raises(BadRequestsError) as bad:
        send(sg, body(334, per=3))  # 1002 recipients
    assert first_error(bad.value)["field"] == "personalizations"
    # The most allowed, as a plain dict (the fast way for large batches): one batch of events.
    assert send(sg, body(1000)).status_code == 202
    assert sim.wait_idle(PATIENCE)
    (events,) = batches(receiver)
    assert len(events) == 2000
    assert {e["message_id"] for e in events} == {str(i) for i in range(1000)}


def test_rate_limit_and_server_errors_by_fault(
    sim: ProviderSimulator, sg: SendGridAPIClient
) -> None:
    sim.set_faults(Faults(rate_429=1.0))
    for _ in range(3):
        with pytest.raises(TooManyRequestsError) as err:
            send(sg, body())
        headers = err.value.headers
        assert err.value.status_code == 429
        assert headers["X-RateLimit-Limit"] and headers["X-RateLimit-Remaining"] == "0"
        assert int(headers["X-RateLimit-Reset"]) > 0
    sim.set_faults(Faults(rate_500=1.0))
    with pytest.raises(InternalServerError):
        send(sg, body())
    assert sim.requests() == []
    sim.set_faults(Faults())
    assert send(sg, body()).status_code == 202


@pytest.mark.parametrize(
    ("faults", "event", "extra"),
    [
        (Faults(email_bounce=1.0), "bounce", {"type": "bounce"}),
        (Faults(email_dropped=1.0), "dropped", {}),
    ],
)
def test_bounces_and_drops_by_fault(
    sim: ProviderSimulator,
    sg: SendGridAPIClient,
    receiver: Receiver,
    faults: Faults,
    event: str,
    extra: dict[str, str],
) -> None:
    sim.set_faults(faults)
    send(sg, body(3))
    assert sim.wait_idle(PATIENCE)
    (events,) = batches(receiver)
    assert [e["event"] for e in events] == ["processed", event] * 3
    assert all(e["reason"] and e.items() >= extra.items() for e in events[1::2])
    (record,) = sim.requests()
    assert record["failures"] == {f"c{i}.0@example.com": event for i in range(3)}


def test_duplicated_and_reordered_batches_when_asked(
    sim: ProviderSimulator, sg: SendGridAPIClient, receiver: Receiver, creds: SimCredentials
) -> None:
    sim.set_faults(Faults(duplicate_callbacks=1.0, reorder_callbacks=1.0, seed=1))
    send(sg, body(2))
    assert sim.wait_idle(PATIENCE)
    first, second = batches(receiver)
    assert first == second  # the same events again: dedupe on sg_event_id
    assert [e["event"] for e in first] == ["delivered", "processed"] * 2
    verifier = EventWebhook(creds.webhook_public_key)
    for post in receiver.received(EVENTS):
        assert verifier.verify_signature(
            post["body"].decode(), post["headers"][SIGNATURE], post["headers"][TIMESTAMP]
        )


def test_a_failing_event_post_is_retried(
    sim: ProviderSimulator, sg: SendGridAPIClient, receiver: Receiver
) -> None:
    receiver.fail_next = 1
    send(sg, body())
    assert sim.wait_idle(PATIENCE)
    assert len(batches(receiver)) == 1
    assert [c.get("status") for c in sim.callbacks()] == [500, 200]
