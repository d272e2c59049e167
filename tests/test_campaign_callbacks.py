"""Provider callbacks on campaign messages: SendGrid's signed events move each message forward
and its follow-up record with it; the campaign's counts show them."""

import sqlalchemy as sa

from hub.campaigns import campaigns as svc
from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.channels.models import Message
from hub.core.db import session_scope
from hub.crm.followups.models import FollowUp
from tests.campaign_helpers import bulk_contacts
from tests.conftest import PATIENCE, work
from tests.test_campaign_engine import hub_with_sim, make_campaign  # noqa: F401


def test_delivered_events_move_messages_and_their_follow_ups(live_hub, db):
    app, sim, creds, url = live_hub
    bulk_contacts(db, 40, "email")
    db.commit()
    campaign_id = make_campaign(app, "email")
    start_work(app, campaign_id)
    work(app)
    assert sim.wait_idle(PATIENCE)  # the simulator has posted its signed event batches to the hub
    work(app)  # the apply jobs the webhook queued
    with session_scope(app) as s:
        counts = svc.counts(s, campaign_id)
        statuses = set(
            s.execute(
                sa.select(Message.status, FollowUp.status)
                .join(FollowUp, FollowUp.id == Message.follow_up_id)
                .where(Message.campaign_id == campaign_id)
            ).all()
        )
    assert counts["planned"] == 40 and counts["delivered"] == 40
    assert {m for m, _ in statuses} == {f for _, f in statuses}  # each follow-up follows its message
    assert {m for m, _ in statuses} <= {"delivered", "opened", "clicked"}


def test_callbacks_that_come_before_the_batch_is_recorded_lose_nothing(hub_with_sim, db):  # noqa: F811
    """Twilio calls back within a second; a batch is recorded when it is done. A message already
    'delivered' by its callbacks still gets its provider id, its text and its follow-up record
    (with the delivered status) from the send job, and counts once."""
    from datetime import UTC, datetime

    from hub.campaigns.delivery import Ledger, RateLimit, send_sms
    from hub.campaigns.planner import plan_campaign
    from hub.campaigns.recording import record_outcomes
    from hub.campaigns.sender import claim, prepare
    from hub.channels import provider_events
    from hub.channels.models import WebhookEvent
    from hub.channels.providers import sms_channel

    app, sim = hub_with_sim
    bulk_contacts(db, 5, "sms")
    db.commit()
    campaign_id = make_campaign(app, "sms")
    plan_campaign(app, campaign_id)
    now = datetime.now(UTC)
    with session_scope(app) as s:
        ids = claim(s, campaign_id, 10, now)
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        prepared = prepare(s, campaign, ids, now, "Asia/Shanghai", "")
    from hub.core import services

    ledger = Ledger(services.redis(app), campaign_id)
    outcomes = send_sms(lambda: sms_channel(app), prepared.outbound, ledger,
                        RateLimit(services.redis(app), "t", 100), lambda: False)
    early = ids[:3]
    sids = {o.message_id: o.provider_id for o in outcomes}
    with session_scope(app) as s:  # the callbacks of three messages are stored and applied first
        for mid in early:
            for status in ("sent", "delivered"):
                s.add(WebhookEvent(provider="twilio", kind="sms-status", event_key=f"t:{mid}:{status}",
                                   payload={"MessageSid": sids[mid], "MessageStatus": status, "message": str(mid)}))
        s.flush()
        provider_events.apply(s, list(s.scalars(sa.select(WebhookEvent))))
    with session_scope(app) as s:
        assert {s.get(Message, mid).status for mid in early} == {"delivered"}
        record_outcomes(s, campaign_id, campaign.name, ids, prepared, outcomes, datetime.now(UTC), "running")
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message, FollowUp.status).join(FollowUp, FollowUp.id == Message.follow_up_id)
                         .where(Message.campaign_id == campaign_id)).all()
        assert len(rows) == 5  # every message has its follow-up record
        by_id = {m.id: (m, f) for m, f in rows}
        for mid in ids:
            message, follow_up_status = by_id[mid]
            assert message.provider_id == sids[mid] and message.body and message.lease_until is None
            assert follow_up_status == message.status == ("delivered" if mid in early else "sent")
        counts = svc.counts(s, campaign_id)
    assert counts["sent"] == 5 and counts["delivered"] == 3 and counts["sending"] == 0
