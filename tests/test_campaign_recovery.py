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

from hub.campaigns.delivery import SMS_THREADS, results_key
from hub.campaigns.recovery import UNKNOWN, sweep
from hub.channels.models import Message
from hub.db import session_scope
from tests.campaign_helpers import bulk_contacts
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


def test_sigkill_mid_batch_then_restart_sends_each_recipient_at_most_once(
    hub_with_sim, db, env_for_subprocess, redis_conn  # noqa: F811
):
    app, sim = hub_with_sim
    bulk_contacts(db, 2000, "sms")
    db.commit()
    campaign_id = make_campaign(app, "sms", rate=100)  # a batch of 200 takes two seconds
    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": app.config["INSTANCE_DIR"],
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    from hub.campaigns.recovery import start_work

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
        worker.wait(timeout=30)
    stranded = counts(app, campaign_id)["sending"]
    assert stranded > 0

    # The lease runs out; the sweep takes the stranded messages back, and a new worker finishes.
    recovered = sweep(app, datetime.now(UTC) + timedelta(minutes=5))[campaign_id]
    assert "recovered {'sent': " in recovered  # answers that reached Redis but not the database
    worker = _worker(env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and counts(app, campaign_id)["pending"]:
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    run_to_end(app, campaign_id)

    requests = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert set(requests.values()) == {1}, "a recipient was sent twice"
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.to_address, Message.status, Message.error)
                         .where(Message.campaign_id == campaign_id)).all()
    sent = {r.to_address for r in rows if r.status == "sent"}
    unknown = {r.to_address for r in rows if r.status == "failed" and r.error == UNKNOWN}
    assert len(rows) == 2000 and len(sent) + len(unknown) == 2000  # none lost
    assert sent <= set(requests) <= sent | unknown  # every "sent" reached the provider once
    assert len(unknown) <= SMS_THREADS  # only requests cut off mid-flight are in doubt
