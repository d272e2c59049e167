"""The campaign engine end to end: planner and send jobs on a real RQ worker, the real Twilio and
SendGrid SDKs against the provider simulator, and exact accounting of every recipient."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.campaigns import campaigns as svc
from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.campaigns.recovery import sweep
from hub.campaigns.segments.models import Segment
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.credentials import load_or_create
from hub.channels.models import Message, Suppression
from hub.core import db as hubdb
from hub.core.db import session_scope
from hub.crm.followups.models import FollowUp
from hub.simulator.faults import Faults
from hub.simulator.server import ProviderSimulator
from hub.web.app import create_app
from tests.campaign_helpers import add_customer, bulk_contacts
from tests.conftest import work


@pytest.fixture
def hub_with_sim(app_config, tmp_path, no_proxy):
    """An app sending through the simulator (as `hub up` leaves it), without callbacks."""
    instance = tmp_path / "instance"
    app = create_app({**app_config, "HUB_INSTANCE_DIR": str(instance)})
    sim = ProviderSimulator(instance / "simulator", load_or_create(instance))
    sim.start()
    yield app, sim
    sim.stop()
    hubdb.engine_for(app).dispose()  # each app has its own pool: give its connections back


def make_campaign(app, channel, rules=None, body=None, rate=1000, **extra):
    """A running campaign over a segment (default: every contact); returns its id. Without quiet
    hours unless asked: the tests must not depend on the hour they run at."""
    extra.setdefault("quiet_start", 0)
    extra.setdefault("quiet_end", 0)
    with session_scope(app) as s:
        segment = Segment(
            name=f"seg {channel} {datetime.now().timestamp()}",
            definition={"match": "all", "rules": rules or [{"field": "class", "op": "in", "value": ["A", "B", "C"]}]},
        )
        template = MessageTemplate(
            name=f"tpl {channel} {datetime.now().timestamp()}",
            channel=channel,
            subject="New for {{ customer.name }}" if channel == "email" else None,
            body=body or "Hello {{ contact.name }}, our spring range is out.",
        )
        s.add_all([segment, template])
        s.flush()
        campaign = Campaign(
            name=f"{channel} launch", channel=channel, segment_id=segment.id,
            template_id=template.id, rate=rate, **extra,
        )
        s.add(campaign)
        s.flush()
        svc.launch(s, campaign)
        campaign_id = campaign.id
    return campaign_id


def run_to_end(app, campaign_id, rounds=6):
    """Work the queues; where messages wait for a retry, sweep as if their time had come."""
    with app.app_context():
        start_work(app, campaign_id)
    for i in range(rounds):
        work(app)
        with session_scope(app) as s:
            if s.get(Campaign, campaign_id).state == "completed":
                return
        sweep(app, datetime.now(UTC) + timedelta(hours=1 + i))
    raise AssertionError("campaign did not complete")


def counts(app, campaign_id):
    with session_scope(app) as s:
        return svc.counts(s, campaign_id)


def statuses(app, campaign_id):
    with session_scope(app) as s:
        return Counter(
            s.scalars(sa.select(Message.status).where(Message.campaign_id == campaign_id))
        )


def test_ten_thousand_emails_one_personalization_each(hub_with_sim, db):
    app, sim = hub_with_sim
    bulk_contacts(db, 10_000, "email")
    db.commit()
    campaign_id = make_campaign(app, "email")
    run_to_end(app, campaign_id)

    mails = [r for r in sim.requests() if r["provider"] == "sendgrid"]
    recipients = Counter(
        p["to"][0]["email"] for r in mails for p in r["body"]["personalizations"]
    )
    assert len(recipients) == 10_000 and set(recipients.values()) == {1}
    assert max(len(r["body"]["personalizations"]) for r in mails) <= 1000
    c = counts(app, campaign_id)
    assert c["planned"] == 10_000 and c["sent"] == 10_000 and c["failed"] == 0
    # Every personalization carries our message id, and the message its provider id.
    ids = {p["custom_args"]["hub_message_id"] for r in mails for p in r["body"]["personalizations"]}
    with session_scope(app) as s:
        rows = s.execute(
            sa.select(Message.id, Message.provider_id, Message.follow_up_id, Message.subject)
            .where(Message.campaign_id == campaign_id)
        ).all()
        assert {str(r.id) for r in rows} == ids
        assert all(r.provider_id and r.follow_up_id for r in rows)
        assert rows[0].subject.startswith("New for bulk")
        assert s.scalar(sa.select(sa.func.count()).select_from(FollowUp).where(FollowUp.status == "sent")) == 10_000


def test_ten_thousand_sms_one_request_each(hub_with_sim, db):
    app, sim = hub_with_sim
    bulk_contacts(db, 10_000, "sms")
    db.commit()
    campaign_id = make_campaign(app, "sms")
    run_to_end(app, campaign_id)

    sent = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert len(sent) == 10_000 and set(sent.values()) == {1}
    c = counts(app, campaign_id)
    assert c["planned"] == 10_000 and c["sent"] == 10_000
    assert statuses(app, campaign_id) == {"sent": 10_000}


def test_faults_of_twenty_percent_still_end_exactly(hub_with_sim, db):
    app, sim = hub_with_sim
    sim.set_faults(Faults(rate_429=0.1, rate_500=0.1, seed=7))
    bulk_contacts(db, 1500, "sms", prefix="s")
    bulk_contacts(db, 3000, "email", prefix="e")
    db.commit()
    sms_id = make_campaign(app, "sms", rules=[{"field": "contact_phone", "op": "not_empty"}])
    email_id = make_campaign(app, "email", rules=[{"field": "contact_email", "op": "not_empty"}])
    run_to_end(app, sms_id)
    run_to_end(app, email_id)

    texts = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert len(texts) == 1500 and set(texts.values()) == {1}
    mails = Counter(
        p["to"][0]["email"] for r in sim.requests() if r["provider"] == "sendgrid"
        for p in r["body"]["personalizations"]
    )
    assert len(mails) == 3000 and set(mails.values()) == {1}
    assert statuses(app, sms_id) == {"sent": 1500}
    assert statuses(app, email_id) == {"sent": 3000}


def test_stop_unsubscribe_bounce_and_refused_consent_are_skipped(hub_with_sim, db):
    app, sim = hub_with_sim
    add_customer(db, "A", contacts=[
        {"name": "stopped", "phone": "+8613800000001"},
        {"name": "fine", "phone": "+8613800000002"},
        {"name": "no consent", "phone": "+8613800000003", "consent": {"sms": False}},
        {"name": "late stop", "phone": "+8613800000004"},
    ])
    add_customer(db, "B", contacts=[
        {"name": "unsubscribed", "email": "gone@example.com"},
        {"name": "bounced", "email": "BOUNCE@example.com"},
        {"name": "reader", "email": "reader@example.com"},
    ])
    db.add_all([
        Suppression(channel="sms", address="+8613800000001", reason="stop"),
        Suppression(channel="email", address="gone@example.com", reason="unsubscribe"),
        Suppression(channel="email", address="bounce@example.com", reason="bounce"),
    ])
    db.commit()
    sms_id = make_campaign(app, "sms")
    email_id = make_campaign(app, "email")
    with app.app_context():
        from hub.campaigns.planner import plan_campaign

        plan_campaign(app, sms_id)
    # STOP arrives after planning, before sending: checked again at send time.
    with session_scope(app) as s:
        s.add(Suppression(channel="sms", address="+8613800000004", reason="stop"))
    run_to_end(app, sms_id)
    run_to_end(app, email_id)

    assert [r["body"]["To"] for r in sim.requests() if r["kind"] == "message"] == ["+8613800000002"]
    mails = [p["to"][0]["email"] for r in sim.requests() if r["provider"] == "sendgrid" for p in r["body"]["personalizations"]]
    assert mails == ["reader@example.com"]
    assert {k: v for k, v in counts(app, sms_id).items() if v} == {"planned": 4, "sent": 1, "suppressed": 2, "skipped": 1}
    assert {k: v for k, v in counts(app, email_id).items() if v} == {"planned": 3, "sent": 1, "suppressed": 2}


def test_quiet_hours_hold_messages_until_eight_local(hub_with_sim, db):
    app, sim = hub_with_sim
    add_customer(db, "Late", contacts=[
        {"name": "Shanghai", "phone": "+8613800000011", "timezone": "Asia/Shanghai"},
        {"name": "London", "phone": "+447911123456", "timezone": "Europe/London"},
    ])
    db.commit()
    campaign_id = make_campaign(app, "sms", quiet_start=21 * 60, quiet_end=8 * 60)
    from hub.campaigns.planner import plan_campaign
    from hub.campaigns.sender import send_batch

    at_22_shanghai = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai, 14:00 in London
    plan_campaign(app, campaign_id, now=at_22_shanghai)
    with app.app_context():
        send_batch(app, campaign_id, now=at_22_shanghai)
    assert [r["body"]["To"] for r in sim.requests() if r["kind"] == "message"] == ["+447911123456"]
    c = counts(app, campaign_id)
    assert c["quiet_hours"] == 1 and c["pending"] == 1
    for hour in (23, 3, 7):  # Shanghai local; nothing goes before 08:00
        local = datetime(2026, 3, 2 if hour == 23 else 3, hour, 59, tzinfo=UTC) - timedelta(hours=8)
        with app.app_context():
            assert send_batch(app, campaign_id, now=local) == 0
    with app.app_context():
        assert send_batch(app, campaign_id, now=datetime(2026, 3, 3, 0, 0, tzinfo=UTC)) == 1
    assert [r["body"]["To"] for r in sim.requests() if r["kind"] == "message"][-1] == "+8613800000011"
    assert counts(app, campaign_id)["sent"] == 2


def test_a_template_failing_for_one_recipient_fails_only_that_one(hub_with_sim, db):
    app, sim = hub_with_sim
    add_customer(db, "T", contacts=[
        {"name": "Has title", "email": "a@example.com", "title": "Ms"},
        {"name": "No title", "email": "b@example.com"},
    ])
    db.commit()
    campaign_id = make_campaign(app, "email", body="{{ 10 / (contact.title|length) }} hello")
    run_to_end(app, campaign_id)
    with session_scope(app) as s:
        failed = s.scalars(sa.select(Message).where(Message.campaign_id == campaign_id, Message.status == "failed")).all()
        assert [m.to_address for m in failed] == ["b@example.com"]
        assert "division by zero" in failed[0].error
    assert counts(app, campaign_id)["sent"] == 1


def test_a_batch_the_provider_refuses_every_time_waits_in_the_queue_and_goes_later(hub_with_sim, db):
    """SendGrid answering 429 to every try of a batch (an outage of some seconds): the batch goes
    back to the queue with a due time, and is sent once the provider is back."""
    from hub.campaigns.planner import plan_campaign
    from hub.campaigns.sender import send_batch

    app, sim = hub_with_sim
    bulk_contacts(db, 20, "email")
    db.commit()
    campaign_id = make_campaign(app, "email")
    plan_campaign(app, campaign_id)
    sim.set_faults(Faults(rate_429=1.0))
    with app.app_context():
        assert send_batch(app, campaign_id) == 20
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.status, Message.due_at, Message.attempts, Message.error)
                         .where(Message.campaign_id == campaign_id)).all()
    assert {r.status for r in rows} == {"pending"} and all(r.due_at is not None for r in rows)
    assert {r.attempts for r in rows} == {1} and all("429" in r.error for r in rows)
    assert counts(app, campaign_id)["pending"] == 20
    sim.set_faults(Faults())
    with app.app_context():  # half a minute later, the retry is due
        assert send_batch(app, campaign_id, now=datetime.now(UTC) + timedelta(seconds=31)) == 20
    with session_scope(app) as s:
        assert s.get(Campaign, campaign_id).state == "completed"
    sent_to = Counter(p["to"][0]["email"] for r in sim.requests() if r["kind"] == "mail"
                      for p in r["body"]["personalizations"])
    assert len(sent_to) == 20 and set(sent_to.values()) == {1}
    assert counts(app, campaign_id)["sent"] == 20
