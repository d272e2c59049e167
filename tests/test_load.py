"""Sustained load on the webhooks from a second process (bench/load_webhooks.py, bounded to a
few seconds here; the long run is a command in docs/reliability.md): every request answered 2xx,
and every event, batch and call it sent is stored exactly once."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa

from hub.channels.calls.models import AgentProfile, Call
from hub.channels.models import WebhookEvent
from hub.crm.customers.models import Contact, Customer
from tests.conftest import REPO

NUMBERS = [f"+86138000000{n:02d}" for n in range(1, 21)]


def test_webhooks_under_sustained_load_answer_everything_and_lose_nothing(
    live_hub, make_user, db
):
    app, _sim, _creds, url = live_hub
    agent = make_user("agent")
    db.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
    for n, number in enumerate(NUMBERS):
        customer = Customer(name=f"Load {n}", owner_id=agent.id)
        customer.contacts.append(Contact(name=f"Contact {n}", phone=number))
        db.add(customer)
    db.commit()
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "load_webhooks.py"), "--url", url,
         "--instance", app.config["INSTANCE_DIR"], "--seconds", "4", "--threads", "4",
         "--numbers", ",".join(NUMBERS)],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["error_count"] == 0, result["errors"]
    assert result["answered_2xx"] >= 50  # it was load, not a trickle
    sent = result["sent"]
    keys = set(db.scalars(sa.select(WebhookEvent.event_key)))
    expected = set(sent["sms_status_keys"]) | {f"sendgrid:{e}" for e in sent["sendgrid_event_ids"]}
    assert keys == expected  # all stored, none twice (the key is unique), nothing else
    assert set(db.scalars(sa.select(Call.sid))) == set(sent["call_sids"])
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == len(NUMBERS)  # no leads
    summary = {k: v for k, v in result.items() if k != "sent"}
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    (REPO / "test-artifacts" / "load-webhooks.json").write_text(json.dumps(summary, indent=2))
