"""One-to-one messages sent through the real Twilio and SendGrid SDKs to the provider simulator,
by a real RQ worker."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from hub.channels.base import ChannelMisconfigured, OutboundMessage, RetryLater, Unconfirmed
from hub.channels.credentials import load_or_create
from hub.channels.models import Message, Suppression
from hub.channels.providers import email_channel, sms_channel
from hub.crm.followups.models import FollowUp
from hub.runtime.worker import run_worker
from hub.simulator.faults import Faults
from hub.simulator.server import ProviderSimulator
from hub.web.app import create_app
from tests.conftest import free_port
from tests.crm_helpers import api, token_for


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def hub_with_sim(app_config, tmp_path):
    """An app whose instance folder holds the simulator's credentials and address, as `hub up`
    leaves them; no provider setting is given, so the simulator stands in."""
    instance = tmp_path / "instance"
    app = create_app({**app_config, "HUB_INSTANCE_DIR": str(instance)})
    sim = ProviderSimulator(instance / "simulator", load_or_create(instance))
    sim.start()
    yield app, sim
    sim.stop()


def _send(app, make_user, channel, **contact):
    client = api(app.test_client(), token_for(app, make_user("director")))
    c = client.post(
        "/customers", json={"name": "Sim Co", "contacts": [{"name": "Li Na", **contact}]}
    ).json
    body = {"contact_id": c["contacts"][0]["id"], "channel": channel, "body": "报价单已附上。"}
    if channel == "email":
        body["subject"] = "Your quote"
    r = client.post("/messages", json=body)
    assert r.status_code == 202, r.json
    return client, r.json["id"], c["contacts"][0]["id"]


def _work(app):
    run_worker(app, ["high", "default", "bulk"], burst=True, with_scheduler=False)


def test_an_sms_goes_out_through_twilio_and_is_marked_sent(hub_with_sim, make_user, db):
    app, sim = hub_with_sim
    _, message_id, _ = _send(app, make_user, "sms", phone="138 0013 8000")
    _work(app)
    message = db.get(Message, message_id)
    assert message.status == "sent" and message.provider_id.startswith("SM")
    [sent] = [r for r in sim.requests() if r["kind"] == "message"]
    assert sent["body"]["To"] == "+8613800138000" and sent["body"]["Body"] == "报价单已附上。"
    assert sent["ids"]["sid"] == message.provider_id
    assert db.get(FollowUp, message.follow_up_id).status == "sent"


def test_an_email_goes_out_through_sendgrid_with_our_id_in_custom_args(hub_with_sim, make_user, db):
    app, sim = hub_with_sim
    _, message_id, _ = _send(app, make_user, "email", email="li.na@example.com")
    _work(app)
    message = db.get(Message, message_id)
    assert message.status == "sent" and message.provider_id
    [mail] = [r for r in sim.requests() if r["provider"] == "sendgrid"]
    personalization = mail["body"]["personalizations"][0]
    assert personalization["to"] == [{"email": "li.na@example.com"}]
    # Our id, and the tag SendGrid's Email Activity can find it by if the answer is ever lost.
    assert personalization["custom_args"] == {"hub_message_id": str(message_id), "hub_send": f"m{message_id}"}
    assert mail["ids"]["x_message_id"] == message.provider_id
    assert mail["body"]["content"][0]["value"] == "报价单已附上。"


def test_an_opted_out_number_fails_is_suppressed_and_the_next_send_is_refused(
    hub_with_sim, make_user, db
):
    app, sim = hub_with_sim
    sim.opt_outs.add("+8613800138000")
    client, message_id, contact_id = _send(app, make_user, "sms", phone="138 0013 8000")
    _work(app)
    message = db.get(Message, message_id)
    assert message.status == "failed" and message.error_code == "21610"
    assert (
        db.scalar(sa.select(Suppression.reason).where(Suppression.address == "+8613800138000"))
        == "provider_opt_out"
    )
    again = client.post(
        "/messages", json={"contact_id": contact_id, "channel": "sms", "body": "hi"}
    )
    assert again.status_code == 409 and "suppression list" in again.json["detail"]


def test_rate_limits_and_provider_faults_are_retryable_for_both_channels(hub_with_sim):
    app, sim = hub_with_sim
    sim.set_faults(Faults(rate_429=1.0))
    [result] = sms_channel(app).send([OutboundMessage(1, "+8613800138000", "hi")])
    assert isinstance(result.error, RetryLater) and result.error.code == "20429"
    with pytest.raises(RetryLater, match="429"):
        email_channel(app).send([OutboundMessage(1, "a@example.com", "hi", subject="s")])
    sim.set_faults(Faults(rate_500=1.0))
    with pytest.raises(RetryLater, match="500"):
        email_channel(app).send([OutboundMessage(1, "a@example.com", "hi", subject="s")])


def test_a_retried_send_stays_queued_until_the_provider_answers(hub_with_sim, make_user, db):
    app, sim = hub_with_sim
    sim.set_faults(Faults(rate_500=1.0))
    _, message_id, _ = _send(app, make_user, "sms", phone="138 0013 8000")
    _work(app)  # the job fails and is scheduled to run again
    assert db.get(Message, message_id).status == "queued"


def test_refused_credentials_fail_the_message_with_the_reason(
    app_config, tmp_path, hub_with_sim, make_user, db
):
    _, sim = hub_with_sim
    wrong = create_app(
        {
            **app_config,
            "HUB_INSTANCE_DIR": str(tmp_path / "other"),
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "f" * 32,
            "TWILIO_FROM_NUMBER": "+12025550143",
            "TWILIO_API_BASE_URL": sim.url,
        }
    )
    with pytest.raises(ChannelMisconfigured, match="401"):
        sms_channel(wrong).send([OutboundMessage(1, "+8613800138000", "hi")])
    _, message_id, _ = _send(wrong, make_user, "sms", phone="138 0013 8000")
    _work(wrong)
    message = db.get(Message, message_id)
    assert message.status == "failed" and "401" in message.error


def test_without_credentials_or_a_running_simulator_the_operator_is_told(app_config, tmp_path):
    lonely = create_app({**app_config, "HUB_INSTANCE_DIR": str(tmp_path / "lonely")})
    with pytest.raises(ChannelMisconfigured, match="no simulator is running"):
        sms_channel(lonely)
    assert not Path(tmp_path / "lonely" / "simulator" / "url.json").exists()


def test_refused_recipients_and_timeouts_are_told_apart(hub_with_sim):
    from hub.channels.base import RecipientRefused
    from hub.channels.email import SendGridEmail
    from hub.channels.sms import TwilioSms, twilio_client

    app, sim = hub_with_sim
    [bad_number] = sms_channel(app).send([OutboundMessage(1, "+1000", "hi")])
    assert isinstance(bad_number.error, RecipientRefused) and bad_number.error.code == "21211"
    assert not bad_number.error.suppress
    [bad_address] = email_channel(app).send([OutboundMessage(2, "not-an-address", "hi", subject="s")])
    assert isinstance(bad_address.error, RecipientRefused) and "400" in bad_address.error.reason
    sim.set_faults(Faults(slow=1.0, slow_seconds=2.0))
    creds = load_or_create(Path(app.config["INSTANCE_DIR"]))
    impatient_sms = TwilioSms(twilio_client(creds.account_sid, creds.auth_token, sim.url, timeout=0.3),
                              creds.from_number)
    # A timeout may hide a message the provider took: it is unconfirmed, never simply retried.
    [timed_out] = impatient_sms.send([OutboundMessage(3, "+8613800138000", "hi")])
    assert isinstance(timed_out.error, Unconfirmed)
    impatient_email = SendGridEmail(creds.sendgrid_api_key, creds.from_email, sim.url, timeout=0.3)
    with pytest.raises(Unconfirmed, match="no answer from SendGrid"):
        impatient_email.send([OutboundMessage(4, "a@example.com", "hi", subject="s")])
    # A connection that was never made cannot have sent anything: a plain retry.
    closed = f"http://127.0.0.1:{free_port()}"
    nowhere_sms = TwilioSms(twilio_client(creds.account_sid, creds.auth_token, closed), creds.from_number)
    [refused] = nowhere_sms.send([OutboundMessage(5, "+8613800138000", "hi")])
    assert isinstance(refused.error, RetryLater) and not isinstance(refused.error, Unconfirmed)
    nowhere_email = SendGridEmail(creds.sendgrid_api_key, creds.from_email, closed)
    with pytest.raises(RetryLater, match="unreachable") as raised:
        nowhere_email.send([OutboundMessage(6, "a@example.com", "hi", subject="s")])
    assert not isinstance(raised.value, Unconfirmed)


@pytest.mark.parametrize("taken", [True, False], ids=["provider-took-it", "provider-did-not"])
def test_a_message_whose_answer_never_came_is_looked_up_before_it_is_sent_again(
    impatient_hub, make_user, db, taken
):
    """The first try of an SMS and of an email times out: the provider either took them (its
    answers came too late) or failed after the hub stopped waiting. The retry asks the provider
    first: each recipient gets its message exactly once either way, with the provider's id."""
    import time

    app, sim = impatient_hub
    if taken:
        sim.set_faults(Faults(lost_answers=1.0, slow_seconds=1.5))
    else:
        sim.set_faults(Faults(slow=1.0, slow_seconds=1.5, rate_500=1.0))
    _, sms_id, _ = _send(app, make_user, "sms", phone="138 0013 8000")
    _, email_id, _ = _send(app, make_user, "email", email="li.na@example.com")
    _work(app)
    for message_id in (sms_id, email_id):
        message = db.get(Message, message_id)
        assert (message.status, message.error_code) == ("queued", "unconfirmed")
        assert "no answer" in message.error

    sim.set_faults(Faults())
    time.sleep(5.5)  # the job's first retry interval
    run_worker(app, ["high", "default", "bulk"], burst=True, with_scheduler=True)
    db.expire_all()
    sms_requests = [r["ids"]["sid"] for r in sim.requests() if r["kind"] == "message"]
    mails = [r["ids"]["x_message_id"] for r in sim.requests() if r["kind"] == "mail"]
    # Taken the first time: not sent again. Not taken: sent once now.
    assert len(sms_requests) == 1 and len(mails) == 1
    for message_id, provider_id in ((sms_id, sms_requests[0]), (email_id, mails[0])):
        message = db.get(Message, message_id)
        assert (message.status, message.provider_id, message.error, message.error_code) == (
            "sent", provider_id, None, None)
        assert db.get(FollowUp, message.follow_up_id).status == "sent"
