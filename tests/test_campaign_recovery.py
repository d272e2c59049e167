"""A worker killed with SIGKILL in the middle of a batch, and restarted: no recipient is sent
twice and none is lost. A real `hub worker` process, the real Twilio SDK, the simulator."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from hub.campaigns.delivery import results_key
from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.campaigns.recovery import sweep
from hub.channels.models import Message
from hub.core.db import session_scope
from hub.simulator.faults import Faults
from tests.campaign_helpers import bulk_contacts
from tests.conftest import PATIENCE, work
from tests.test_campaign_engine import counts, hub_with_sim, make_campaign, run_to_end  # noqa: F401


def _children(pid):
    """The processes whose parent is `pid` (the work horse RQ forked), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _worker(env):
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "worker", "--without-scheduler"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _kill_mid_batch(app, campaign_id, env, redis_conn):
    """Start a worker on the campaign and SIGKILL it (and its work horse) mid-batch: some answers
    in Redis and not yet in the database, some requests in flight."""
    from hub.campaigns.launch import start_work

    start_work(app, campaign_id)
    worker = _worker(env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with session_scope(app) as s:
                sent = s.scalar(sa.select(sa.func.count()).where(
                    Message.campaign_id == campaign_id, Message.status == "sent"))
                sending = s.scalar(sa.select(sa.func.count()).where(
                    Message.campaign_id == campaign_id, Message.status == "sending"))
            answered = redis_conn.hlen(results_key(campaign_id))
            if sent >= 200 and sending and answered >= 20:
                break  # in the middle of a batch: answers in Redis, not yet in the database
            time.sleep(0.05)
        assert sending, "the worker was never caught in the middle of a batch"
    finally:
        # The worker and its work horse (RQ starts the horse in a session of its own), mid-request.
        for pid in [*_children(worker.pid), worker.pid]:
            os.kill(pid, signal.SIGKILL)
        worker.wait(timeout=PATIENCE)
    assert counts(app, campaign_id)["sending"] > 0


def _finish_and_check(app, sim, campaign_id, env):
    """A new worker finishes; every recipient got exactly one request and is counted as sent."""
    with session_scope(app) as s:  # the slow rate was for catching a batch mid-way; now finish
        s.execute(sa.update(Campaign).where(Campaign.id == campaign_id).values(rate=1000))
    worker = _worker(env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and counts(app, campaign_id)["pending"]:
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=PATIENCE)
    run_to_end(app, campaign_id)
    requests = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert set(requests.values()) == {1}, "a recipient was sent twice"
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.to_address, Message.status, Message.provider_id)
                         .where(Message.campaign_id == campaign_id)).all()
    assert len(rows) == 2000
    assert {r.status for r in rows} == {"sent"}, Counter(r.status for r in rows)  # none lost
    assert set(requests) == {r.to_address for r in rows}
    # Each message carries the id of the one request its recipient got.
    sids = {r["body"]["To"]: r["ids"]["sid"] for r in sim.requests() if r["kind"] == "message"}
    assert all(r.provider_id == sids[r.to_address] for r in rows)
    return rows


def test_sigkill_mid_batch_then_restart_sends_each_recipient_exactly_once(
    hub_with_sim, db, env_for_subprocess, redis_conn  # noqa: F811
):
    app, sim = hub_with_sim
    bulk_contacts(db, 2000, "sms")
    db.commit()
    campaign_id = make_campaign(app, "sms", rate=100)  # a batch of 200 takes two seconds
    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": app.config["INSTANCE_DIR"],
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    _kill_mid_batch(app, campaign_id, env, redis_conn)

    # The lease runs out; the sweep takes the stranded messages back: the answers Redis kept are
    # recorded, the requests cut off in flight are looked up at Twilio, the rest go again.
    recovered = sweep(app, datetime.now(UTC) + timedelta(minutes=5))[campaign_id]
    assert "recovered {'sent': " in recovered
    _finish_and_check(app, sim, campaign_id, env)


def test_redis_losing_everything_mid_batch_still_sends_each_recipient_exactly_once(
    hub_with_sim, db, env_for_subprocess, redis_conn  # noqa: F811
):
    """Redis here keeps nothing on disk: a restart after the kill loses every mark and answer.
    The database's claim time names the requests; Twilio's message list says which went."""
    app, sim = hub_with_sim
    bulk_contacts(db, 2000, "sms")
    db.commit()
    campaign_id = make_campaign(app, "sms", rate=100)
    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": app.config["INSTANCE_DIR"],
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    _kill_mid_batch(app, campaign_id, env, redis_conn)
    stranded = counts(app, campaign_id)["sending"]
    redis_conn.flushdb()

    recovered = sweep(app, datetime.now(UTC) + timedelta(minutes=5))[campaign_id]
    assert "recovered" in recovered
    asked = len([r for r in sim.requests() if r.get("kind") == "message"])
    with session_scope(app) as s:
        sent_now = s.scalar(sa.select(sa.func.count()).where(
            Message.campaign_id == campaign_id, Message.status == "sent"))
    assert sent_now == asked  # every request the provider took is recorded, with nothing resent
    assert stranded > 0
    _finish_and_check(app, sim, campaign_id, env)


def test_email_requests_whose_answer_was_lost_are_looked_up_not_sent_again(impatient_hub, db):
    app, sim = impatient_hub
    bulk_contacts(db, 3000, "email")
    db.commit()
    # Every batch is taken, but answered after the hub stopped waiting: three requests of a
    # thousand recipients each, all unconfirmed.
    sim.set_faults(Faults(lost_answers=1.0, slow_seconds=1.5))
    campaign_id = make_campaign(app, "email")
    with app.app_context():
        start_work(app, campaign_id)
    work(app)
    assert counts(app, campaign_id)["sending"] == 3000
    sim.set_faults(Faults())
    # The sweep asks SendGrid's Email Activity by each claim's tag: every recipient of a batch
    # shares the request's X-Message-Id, and each must be found (not only the first).
    run_to_end(app, campaign_id, rounds=10)
    mails = [r for r in sim.requests() if r["kind"] == "mail"]
    assert len(mails) == 3
    per_address = Counter(p["to"][0]["email"] for r in mails for p in r["body"]["personalizations"])
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.to_address, Message.status, Message.provider_id, Message.body,
                                   Message.error).where(Message.campaign_id == campaign_id)).all()
    assert len(rows) == 3000 and {r.status for r in rows} == {"sent"}
    assert {r.error for r in rows} == {None}  # the timeout's "no answer" is not left on a sent message
    assert set(per_address.values()) == {1} and set(per_address) == {r.to_address for r in rows}
    xid_of = {p["to"][0]["email"]: r["ids"]["x_message_id"] for r in mails for p in r["body"]["personalizations"]}
    assert all(r.provider_id == xid_of[r.to_address] for r in rows)
    assert all(r.body for r in rows)  # the text it went with, for the timeline
    assert counts(app, campaign_id)["sent"] == 3000


def test_sms_requests_whose_answer_was_lost_are_looked_up_not_sent_again(impatient_hub, db):
    app, sim = impatient_hub
    bulk_contacts(db, 300, "sms")
    db.commit()
    sim.set_faults(Faults(lost_answers=0.2, slow_seconds=1.5, rate_429=0.1, rate_500=0.1, seed=5))
    campaign_id = make_campaign(app, "sms")
    run_to_end(app, campaign_id, rounds=10)
    requests = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.to_address, Message.status, Message.provider_id)
                         .where(Message.campaign_id == campaign_id)).all()
    with session_scope(app) as s:
        errs = Counter(s.scalars(sa.select(Message.error).where(Message.campaign_id == campaign_id, Message.status != "sent")))
    assert len(rows) == 300 and {r.status for r in rows} == {"sent"}, errs
    assert set(requests.values()) == {1} and set(requests) == {r.to_address for r in rows}
    sids = {r["body"]["To"]: r["ids"]["sid"] for r in sim.requests() if r["kind"] == "message"}
    assert all(r.provider_id == sids[r.to_address] for r in rows)


def test_a_send_job_that_outlived_its_lease_leaves_the_next_claim_alone(hub_with_sim, db):  # noqa: F811
    """A job stalls after the provider turned its batch away (429s until it gave up); its lease
    runs out, recovery puts the batch back to pending, a second job claims it and is sending.
    When the first job finally records "retry later", nothing it writes may touch the second
    claim's messages: setting them pending would have a third job send them again."""
    from hub.campaigns.delivery import Outcome
    from hub.campaigns.planner import plan_campaign
    from hub.campaigns.recording import record_outcomes
    from hub.campaigns.sender import claim, prepare
    from hub.channels.base import RetryLater

    app, sim = hub_with_sim
    bulk_contacts(db, 4, "sms")
    db.commit()
    campaign_id = make_campaign(app, "sms")
    plan_campaign(app, campaign_id)
    lease = timedelta(seconds=20)
    first = datetime.now(UTC)
    with session_scope(app) as s:
        ids = claim(s, campaign_id, 10, first, lease)
    assert len(ids) == 4
    with session_scope(app) as s:
        campaign = s.get(Campaign, campaign_id)
        prepared = prepare(s, campaign, ids, first, "Asia/Shanghai", "")
    turned_away = [Outcome(i, error=RetryLater("Twilio 429: too many requests")) for i in ids]

    # The lease and the settle time are over: Twilio has no message to those numbers, so the
    # sweep puts them back to pending, and a second job claims them.
    assert "recovered {'pending': 4}" in sweep(app, first + timedelta(minutes=2))[campaign_id]
    second = first + timedelta(minutes=3)
    with session_scope(app) as s:
        assert claim(s, campaign_id, 10, second, lease) == ids

    with session_scope(app) as s:
        held = record_outcomes(s, campaign_id, campaign.name, ids, prepared, turned_away,
                               first + timedelta(minutes=4), "running", lease=first + lease)
    assert held == []
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.status, Message.lease_until, Message.due_at, Message.attempts)
                         .where(Message.campaign_id == campaign_id)).all()
    assert {(r.status, r.lease_until, r.attempts) for r in rows} == {("sending", second + lease, 0)}
    assert all(r.due_at is None or r.due_at <= first for r in rows)  # no retry delay was set
    assert not [r for r in sim.requests() if r["kind"] == "message"]
