"""Provider callbacks on campaign messages: SendGrid's signed events move each message forward
and its follow-up record with it; the campaign's counts show them."""

import sqlalchemy as sa

from hub.campaigns import campaigns as svc
from hub.campaigns.recovery import start_work
from hub.channels.models import Message
from hub.crm.followups import FollowUp
from hub.db import session_scope
from tests.campaign_helpers import bulk_contacts
from tests.conftest import work
from tests.test_campaign_engine import make_campaign


def test_delivered_events_move_messages_and_their_follow_ups(live_hub, db):
    app, sim, creds, url = live_hub
    bulk_contacts(db, 40, "email")
    db.commit()
    campaign_id = make_campaign(app, "email")
    start_work(app, campaign_id)
    work(app)
    assert sim.wait_idle(30)  # the simulator has posted its signed event batches to the hub
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
