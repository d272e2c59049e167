"""Jobs enqueued by the web process are run by real RQ workers against the same Redis."""

import os
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from hub.core import services
from hub.runtime.schedule import Periodic, enqueue_due
from hub.web.system import WorkerHeartbeat, request_worker_check
from tests.conftest import csrf_token, eventually


def test_worker_check_from_the_system_page_is_run_by_a_burst_worker(
    client, signed_in, db, run_jobs
):
    signed_in("admin")
    response = client.post(
        "/admin/system/check",
        data={"csrf_token": csrf_token(client, "/admin/system/")},
        follow_redirects=True,
    )
    assert "A check was queued on every queue" in response.get_data(as_text=True)
    assert run_jobs() is True
    rows = db.scalars(sa.select(WorkerHeartbeat)).all()
    assert sorted(r.queue for r in rows) == ["bulk", "default", "high"]
    assert all(r.pid != os.getpid() for r in rows)  # ran in the forked work horse
    page = client.get("/admin/system/").get_data(as_text=True)
    assert page.count("never") == 0  # every queue now has a "last served" time


def test_a_separately_started_hub_worker_runs_jobs_the_web_process_enqueued(
    app, client, make_user, db, env_for_subprocess
):
    from hub.core import db as hubdb
    from hub.core.auth import User, create_token

    admin = make_user("admin")
    with hubdb.session_scope(app) as s:
        token = create_token(s, s.get(User, admin.id), "t")
    queued = client.post(
        "/api/v1/system/worker-checks", headers={"Authorization": f"Bearer {token}"}
    )
    assert queued.status_code == 202
    job_ids = set(queued.json["jobs"])
    assert len(job_ids) == 3

    worker = subprocess.Popen(
        [sys.executable, "-m", "hub", "worker"],
        env=env_for_subprocess,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        rows = []
        while time.monotonic() < deadline and len(rows) < 3:
            time.sleep(0.3)
            db.expire_all()
            rows = db.scalars(sa.select(WorkerHeartbeat)).all()
        assert {r.job_id for r in rows} == job_ids
        assert all(r.worker and r.worker != "inline" for r in rows)
    finally:
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out
    assert "warm shut down" in out.lower() or "stopping" in out.lower()


def test_python_worker_py_is_the_same_worker(app, db, env_for_subprocess, redis_conn):
    from tests.conftest import REPO

    request_worker_check(redis_conn)
    done = subprocess.run(
        [sys.executable, str(REPO / "worker.py"), "--burst", "--without-scheduler"],
        env=env_for_subprocess,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert db.scalar(sa.select(sa.func.count()).select_from(WorkerHeartbeat)) == 3


def test_unknown_queue_is_refused_by_name(env_for_subprocess):
    done = subprocess.run(
        [sys.executable, "-m", "hub", "worker", "--queues", "high,urgent"],
        env=env_for_subprocess,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "unknown queue urgent" in done.stderr


def test_a_periodic_job_is_enqueued_once_per_period_however_many_schedulers(redis_conn):
    calls = []
    job = Periodic("probe", 60, lambda conn: calls.append(1))
    now = 1_000_000 * 60.0
    assert enqueue_due(redis_conn, now, (job,)) == ["probe"]
    assert enqueue_due(redis_conn, now + 30, (job,)) == []  # a second scheduler, same period
    assert enqueue_due(redis_conn, now + 61, (job,)) == ["probe"]
    assert len(calls) == 2


def test_a_daily_job_runs_once_a_day_from_its_hour_in_the_business_time_zone(redis_conn):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    calls = []
    shanghai = ZoneInfo("Asia/Shanghai")
    job = Periodic("digest-probe", 2 * 86400, lambda conn: calls.append(1), at_hour=8)
    at = lambda h, m=0, d=26: datetime(2026, 11, d, h, m, tzinfo=shanghai).timestamp()  # noqa: E731
    assert enqueue_due(redis_conn, at(7, 59), (job,), shanghai) == []  # not yet
    assert enqueue_due(redis_conn, at(8, 0), (job,), shanghai) == ["digest-probe"]
    assert enqueue_due(redis_conn, at(18, 0), (job,), shanghai) == []  # once that day
    assert enqueue_due(redis_conn, at(8, 5, d=27), (job,), shanghai) == ["digest-probe"]
    assert len(calls) == 2


def test_pubsub_events_reach_a_subscriber(redis_conn):
    stream = services.subscribe_events("agent:7", connection=redis_conn, timeout=2)
    # The first next() subscribes and waits; publish from "another process" once subscribed.
    import threading

    def publish_later():  # until a subscriber hears it: the stream subscribes when first read
        eventually(
            lambda: services.publish_event("agent:7", {"type": "pop", "who": "张伟"}, redis_conn)
        )

    threading.Thread(target=publish_later).start()
    event = next(e for e in stream if e is not None)
    assert event == {"type": "pop", "who": "张伟"}
    stream.close()


def test_a_worker_check_prunes_checks_older_than_a_week(app, db, redis_conn, run_jobs):
    from datetime import timedelta

    from hub.core.clock import utcnow

    old = utcnow() - timedelta(days=8)
    db.add(
        WorkerHeartbeat(
            queue="bulk",
            worker="gone",
            host="h",
            pid=1,
            requested_at=old,
            ran_at=old,
            job_id="old-1",
        )
    )
    db.commit()
    request_worker_check(redis_conn)
    run_jobs()
    db.expire_all()
    assert db.scalar(sa.select(WorkerHeartbeat).where(WorkerHeartbeat.job_id == "old-1")) is None
    assert db.scalar(sa.select(sa.func.count()).select_from(WorkerHeartbeat)) == 3


def test_a_worker_stops_at_once_when_its_pubsub_thread_read_the_unsubscribe_first(redis_conn):
    """The race that held burst workers (every `work()` in these tests) for a minute: the pub/sub
    thread reads the unsubscribe reply and loops before stop() clears its flag. The stop is
    delayed here until the thread has read the reply, so the race is taken every time."""
    from hub.runtime.worker import HubWorker

    worker = HubWorker([services.queue("default", redis_conn)], connection=redis_conn)
    worker.subscribe()
    eventually(lambda: worker.pubsub.subscribed)
    thread = worker.pubsub_thread
    stop = thread.stop

    def stop_after_the_thread_read_the_reply(*args, **kwargs):
        eventually(lambda: not worker.pubsub.subscribed)
        time.sleep(0.2)  # back in its loop, which without the fix waits RQ's 60 s
        return stop(*args, **kwargs)

    thread.stop = stop_after_the_thread_read_the_reply
    started = time.monotonic()
    worker.unsubscribe()
    assert not thread.is_alive()
    assert time.monotonic() - started < 30  # a minute without the fix; a second with it


def test_a_worker_stopped_just_after_it_subscribed_stops_cleanly(redis_conn):
    """A burst worker with nothing to do unsubscribes at once, while its pub/sub thread may still
    be reading the subscribe reply: the thread must not close the connection the unsubscribe is
    written on (a broken pipe, seen in CI when the flag was cleared first)."""
    from hub.runtime.worker import HubWorker

    for _ in range(40):
        worker = HubWorker([services.queue("default", redis_conn)], connection=redis_conn)
        worker.subscribe()
        thread, unsubscribe = worker.pubsub_thread, worker.pubsub.unsubscribe
        running_when_written = []

        def watched_unsubscribe(
            *args, thread=thread, unsubscribe=unsubscribe, seen=running_when_written
        ):
            # A thread told to stop before this may close the connection under it at any moment.
            seen.append(thread._running.is_set())
            return unsubscribe(*args)

        worker.pubsub.unsubscribe = watched_unsubscribe
        worker.unsubscribe()
        assert running_when_written == [True]
        assert not thread.is_alive()
