"""The database goes away for a few seconds in the middle of a campaign (PostgreSQL refusing
connections, every open one cut) while two real workers send: send jobs fail where they touch the
database, and once it is back the sweep takes back what they held. Each recipient one request,
none lost. PostgreSQL only, like tests/test_database_outage.py."""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.campaigns.recovery import sweep
from hub.channels.credentials import load_or_create
from hub.channels.models import Message
from hub.core import db as hubdb
from hub.core.db import session_scope
from hub.simulator.server import ProviderSimulator
from hub.web.app import create_app
from tests.campaign_helpers import bulk_contacts
from tests.faults.test_campaign_under_fire import Workers
from tests.test_campaign_engine import counts, make_campaign
from tests.test_database_outage import outage

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("HUB_TEST_DATABASE_URL"), reason="an outage is made on PostgreSQL"),
]

RECIPIENTS = 1500


@pytest.fixture
def hub(app_config, db, tmp_path, no_proxy) -> Iterator[tuple]:
    instance = tmp_path / "instance"
    config = {**app_config, "HUB_INSTANCE_DIR": str(instance), "HUB_PROVIDER_TIMEOUT": "1",
              "HUB_CAMPAIGN_LEASE": "15"}
    app = create_app(config)
    sim = ProviderSimulator(instance / "simulator", load_or_create(instance))
    sim.start()
    yield app, sim, config
    sim.stop()
    hubdb.engine_for(app).dispose()


def _sweep(app) -> None:
    try:
        sweep(app)
    except sa.exc.OperationalError:
        pass  # the database is away: the next sweep


def test_a_campaign_survives_the_database_going_away(hub, db, database_url):
    app, sim, config = hub
    bulk_contacts(db, RECIPIENTS, "sms")
    db.commit()
    db.close()
    campaign_id = make_campaign(app, "sms", rate=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({k: str(v) for k, v in config.items() if k.startswith("HUB_")})
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    start_work(app, campaign_id)
    workers = Workers(env, 2)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and counts(app, campaign_id)["sent"] < 200:
            time.sleep(0.1)
        assert counts(app, campaign_id)["sent"] < RECIPIENTS, "finished before the outage"
        hubdb.engine_for(app).dispose()
        with outage(database_url):
            time.sleep(4)
        hubdb.engine_for(app).dispose()  # the test's own pool held connections that were cut
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            with session_scope(app) as s:
                if s.scalar(sa.select(Campaign.state).where(Campaign.id == campaign_id)) == "completed":
                    break
            _sweep(app)
            time.sleep(1)
    finally:
        workers.stop()
    c = counts(app, campaign_id)
    assert c["planned"] == RECIPIENTS and c["sent"] == RECIPIENTS and c["failed"] == 0, c
    requests = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert len(requests) == RECIPIENTS and set(requests.values()) == {1}, Counter(requests.values())
    with session_scope(app) as s:
        linked = s.scalar(sa.select(sa.func.count()).where(
            Message.campaign_id == campaign_id, Message.follow_up_id.is_not(None)))
    assert linked == RECIPIENTS
