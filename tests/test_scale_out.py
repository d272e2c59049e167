"""Scale-out as production runs it: two gunicorn web processes, four `hub worker` processes and
the scheduler on PostgreSQL and Redis. An SMS and an email campaign send through the simulator
(which answers a share of requests 429/500 and calls back with every delivery status) while a
webhook storm comes from a second process (bench/load_webhooks.py): every request answered, every
event stored once and applied, every call recorded once, and each campaign recipient one request
(one personalization), sent and delivered, with one follow-up record.

The storm lasts 5 s in CI; `HUB_LOAD_SECONDS=60` makes it the long run (docs/reliability.md).
Its figures are written to test-artifacts/scale-out.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.channels.calls.models import AgentProfile, Call
from hub.channels.credentials import load_or_create
from hub.channels.models import Message, WebhookEvent
from hub.core.db import session_scope
from hub.crm.customers.models import Contact, Customer
from hub.runtime.maintenance import upgrade_database
from hub.simulator.faults import Faults
from hub.simulator.server import ProviderSimulator
from hub.web.app import create_app
from tests.campaign_helpers import bulk_contacts
from tests.conftest import PATIENCE, REPO, free_port
from tests.test_campaign_engine import make_campaign

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("HUB_TEST_DATABASE_URL"), reason="scale-out runs on PostgreSQL"
    ),
]

NUMBERS = [f"+86138000001{n:02d}" for n in range(30)]
RECIPIENTS = 800  # a campaign, per channel


def _start(stack: ExitStack, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Logs to a file: a pipe nobody reads fills up, and then every process that logs stops.
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=PATIENCE)
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
        from hub.core.auth import create_user

        agent = create_user(s, "storm@example.com", "agent", "a long password")
        s.flush()
        s.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
        for n, number in enumerate(NUMBERS):
            customer = Customer(name=f"Storm {n}", owner_id=agent.id)
            customer.contacts.append(Contact(name=f"C{n}", phone=number))
            s.add(customer)
        bulk_contacts(s, RECIPIENTS, "sms", prefix="sms")
        bulk_contacts(s, RECIPIENTS, "email", prefix="mail")
    sim = ProviderSimulator(instance / "simulator", load_or_create(instance), hub_url=base)
    sim.set_faults(Faults(rate_429=0.1, rate_500=0.05, seed=3))
    sim.start()
    sms_id = make_campaign(app, "sms", rules=[{"field": "customer_name", "op": "contains", "value": "sms "}],
                           rate=200)
    email_id = make_campaign(app, "email", rules=[{"field": "contact_email", "op": "not_empty"}])
    with ExitStack() as stack:
        stack.callback(sim.stop)
        web = _start(stack, [sys.executable, "-m", "gunicorn", "--worker-class", "gthread",
                             "--workers", "2", "--threads", "8", "--bind", f"127.0.0.1:{port}",
                             "hub:create_app()"], env, tmp_path / "web.log")
        workers = [_start(stack, [sys.executable, "-m", "hub", "worker"], env, tmp_path / f"worker{n}.log")
                   for n in range(4)]
        _start(stack, [sys.executable, "-m", "hub", "scheduler"], env, tmp_path / "scheduler.log")
        for _ in range(150):
            try:
                if requests.get(f"{base}/healthz", timeout=1,
                                proxies={"http": None, "https": None}).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail(f"gunicorn did not start (exit {web.poll()}): {(tmp_path / 'web.log').read_text()[-2000:]}")
        for campaign_id in (sms_id, email_id):
            start_work(app, campaign_id)
        done = subprocess.run(
            [sys.executable, str(REPO / "bench" / "load_webhooks.py"), "--url", base,
             "--instance", str(instance), "--seconds", os.environ.get("HUB_LOAD_SECONDS", "5"), "--threads", "8",
             "--numbers", ",".join(NUMBERS)],
            capture_output=True, text=True, timeout=120 + float(os.environ.get("HUB_LOAD_SECONDS", "5")), env=env,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["error_count"] == 0, result["errors"]
        sent = result["sent"]
        expected = set(sent["sms_status_keys"]) | {
            f"sendgrid:{e}" for e in sent["sendgrid_event_ids"]
        }
        deadline = time.monotonic() + 120
        while True:
            with session_scope(app) as s:
                waiting = s.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)
                                   .where(WebhookEvent.applied_at.is_(None)))
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        with session_scope(app) as s:
            assert waiting == 0, f"{waiting} events never applied"
            # The storm's events, each once (the campaigns' own callbacks are stored beside them).
            assert expected <= set(s.scalars(sa.select(WebhookEvent.event_key)))
            assert set(s.scalars(sa.select(Call.sid))) == set(sent["call_sids"])
        _campaigns_accounted_for(app, sim, sms_id, email_id)
        assert all(w.poll() is None for w in workers)
    summary = {k: v for k, v in result.items() if k != "sent"}
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / "scale-out.json").write_text(json.dumps(summary, indent=2))


def _campaigns_accounted_for(app, sim: ProviderSimulator, sms_id: int, email_id: int) -> None:
    """Both campaigns complete; each recipient one request, sent, delivered (its callbacks came
    back through gunicorn and were applied), one follow-up record each."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        with session_scope(app) as s:
            states = set(s.scalars(sa.select(Campaign.state).where(Campaign.id.in_((sms_id, email_id)))))
            undelivered = s.scalar(sa.select(sa.func.count()).where(
                Message.campaign_id.in_((sms_id, email_id)), Message.status != "delivered"))
        if states == {"completed"} and not undelivered:
            break
        time.sleep(1)
    assert states == {"completed"} and undelivered == 0, (states, undelivered)
    requests_seen = sim.requests()
    sms = [r["body"]["To"] for r in requests_seen if r["kind"] == "message"]
    emails = [p["to"][0]["email"] for r in requests_seen if r["kind"] == "mail"
              for p in r["body"]["personalizations"]]
    assert len(sms) == len(set(sms)) == RECIPIENTS, "an SMS recipient got two requests, or none"
    assert len(emails) == len(set(emails)) == RECIPIENTS, "an email recipient got two, or none"
    with session_scope(app) as s:
        rows = s.execute(sa.select(Message.campaign_id, Message.to_address, Message.follow_up_id)
                         .where(Message.campaign_id.in_((sms_id, email_id)))).all()
    assert {r.to_address for r in rows if r.campaign_id == sms_id} == set(sms)
    assert {r.to_address for r in rows if r.campaign_id == email_id} == set(emails)
    assert all(r.follow_up_id is not None for r in rows)
