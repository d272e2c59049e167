"""Scale-out as production runs it: two gunicorn web processes and four `hub worker` processes
on PostgreSQL and Redis, a webhook storm from a second process (bench/load_webhooks.py): every
request answered, every event stored once and applied, every call recorded once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest
import requests
import sqlalchemy as sa

from hub import create_app
from hub.channels.call_models import AgentProfile, Call
from hub.channels.models import WebhookEvent
from hub.crm.models import Contact, Customer
from hub.db import session_scope
from hub.maintenance import upgrade_database
from tests.conftest import REPO, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("HUB_TEST_DATABASE_URL"), reason="scale-out runs on PostgreSQL"
    ),
]

NUMBERS = [f"+86138000001{n:02d}" for n in range(30)]


def _start(stack: ExitStack, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    stack.callback(stop)
    return proc


def test_two_web_processes_and_four_workers_take_a_webhook_storm(
    scratch_database, redis_url, tmp_path, make_user
):
    url = scratch_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_DATABASE_URL=url,
        HUB_REDIS_URL=redis_url,
        HUB_INSTANCE_DIR=str(instance),
        HUB_PUBLIC_URL=base,
        HUB_SECRET_KEY="scale-out-test-secret-key",
        NO_PROXY="127.0.0.1,localhost",
    )
    app = create_app({"HUB_DATABASE_URL": url, "HUB_REDIS_URL": redis_url,
                      "HUB_INSTANCE_DIR": str(instance)})
    upgrade_database(app)
    with session_scope(app) as s:
        from hub.auth import create_user

        agent = create_user(s, "storm@example.com", "agent", "a long password")
        s.flush()
        s.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
        for n, number in enumerate(NUMBERS):
            customer = Customer(name=f"Storm {n}", owner_id=agent.id)
            customer.contacts.append(Contact(name=f"C{n}", phone=number))
            s.add(customer)
    with ExitStack() as stack:
        web = _start(stack, [sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
                             "--workers", "2", "--threads", "8", "--bind", f"127.0.0.1:{port}",
                             "hub:create_app()"], env)
        workers = [_start(stack, [sys.executable, "-m", "hub", "worker"], env) for _ in range(4)]
        for _ in range(150):
            try:
                if requests.get(f"{base}/healthz", timeout=1,
                                proxies={"http": None, "https": None}).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail(f"gunicorn did not start: {web.stderr.read().decode()[-2000:]}")
        done = subprocess.run(
            [sys.executable, str(REPO / "bench" / "load_webhooks.py"), "--url", base,
             "--instance", str(instance), "--seconds", "5", "--threads", "8",
             "--numbers", ",".join(NUMBERS)],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["error_count"] == 0, result["errors"]
        sent = result["sent"]
        expected = set(sent["sms_status_keys"]) | {
            f"sendgrid:{e}" for e in sent["sendgrid_event_ids"]
        }
        deadline = time.monotonic() + 60
        with session_scope(app) as s:
            while True:
                waiting = s.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)
                                   .where(WebhookEvent.applied_at.is_(None)))
                if not waiting or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
                s.rollback()
            assert waiting == 0, f"{waiting} events never applied"
            assert set(s.scalars(sa.select(WebhookEvent.event_key))) == expected
            assert set(s.scalars(sa.select(Call.sid))) == set(sent["call_sids"])
        assert all(w.poll() is None for w in workers)
    summary = {k: v for k, v in result.items() if k != "sent"}
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / "scale-out.json").write_text(json.dumps(summary, indent=2))
