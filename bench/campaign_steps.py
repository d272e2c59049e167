"""Where a campaign's CPU goes, step by step: one process plans and sends an email campaign on
PostgreSQL (the provider simulator in the same process), and each step of the planner and the
send job is timed, with its own CPU and the PostgreSQL backends' CPU (from /proc) while it ran.

    python bench/campaign_steps.py [--recipients 10000]

HUB_BENCH_DATABASE_URL and HUB_BENCH_REDIS_URL as for campaign_send.py. Not a ratio against a
floor: a breakdown to read beside campaign_send.py's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from redis import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign_send import BODY, HTML, SUBJECT, _backends, _cpu_seconds, load  # noqa: E402
from scratch import scratch_postgres  # noqa: E402

from hub.campaigns import campaigns as svc  # noqa: E402
from hub.campaigns import planner, sender  # noqa: E402
from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.credentials import load_or_create  # noqa: E402
from hub.core.db import session_scope  # noqa: E402
from hub.runtime.maintenance import upgrade_database  # noqa: E402
from hub.simulator.server import ProviderSimulator  # noqa: E402
from hub.web.app import create_app  # noqa: E402

STEPS = (
    (planner.segments, "stream_page", "planner: keyset page"),
    (planner, "refused", "planner: suppression and consent reads"),
    (planner, "insert_ignoring_conflicts", "planner: message rows"),
    (sender, "claim", "send: claim"),
    (sender, "prepare", "send: batch select, checks, rendering"),
    (sender, "send_email", "send: SendGrid request and Redis ledger"),
    (sender, "record_outcomes", "send: statuses, provider ids, follow-ups"),
    (sender, "finish_if_done", "send: finish_if_done"),
)


class Steps:
    def __init__(self, database: str):
        self.database = database
        self.wall: Counter[str] = Counter()
        self.cpu: Counter[str] = Counter()
        self.postgres: Counter[str] = Counter()

    def postgres_cpu(self) -> float:
        return sum(_cpu_seconds(pid) for pid in _backends(self.database))

    def wrap(self, module: ModuleType, name: str, label: str) -> None:
        inner: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu, pg = time.perf_counter(), time.thread_time(), self.postgres_cpu()
            try:
                return inner(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - wall
                self.cpu[label] += time.thread_time() - cpu
                self.postgres[label] += self.postgres_cpu() - pg

        setattr(module, name, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    n = parser.parse_args().recipients
    base = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    Redis.from_url(redis_url).flushdb()
    with scratch_postgres(base) as url, tempfile.TemporaryDirectory() as tmp:
        app = create_app({"HUB_DATABASE_URL": url, "HUB_REDIS_URL": redis_url, "HUB_INSTANCE_DIR": tmp,
                          "HUB_SECRET_KEY": "bench-secret-key-0123456789"})
        upgrade_database(app)
        load(app, n)
        steps = Steps(sa.make_url(url).database or "")
        for module, name, label in STEPS:
            steps.wrap(module, name, label)
        sim = ProviderSimulator(Path(tmp) / "simulator", load_or_create(Path(tmp)))
        sim.start()
        try:
            with session_scope(app) as s:
                segment = Segment(name="bench", definition={"match": "all", "rules": [{"field": "class", "op": "eq", "value": "B"}]})
                template = MessageTemplate(name="bench", channel="email", subject=SUBJECT, body=BODY, html=HTML)
                s.add_all([segment, template])
                s.flush()
                c = Campaign(name="bench", channel="email", segment_id=segment.id, template_id=template.id,
                             quiet_start=0, quiet_end=0)
                s.add(c)
                s.flush()
                svc.launch(s, c)
                campaign_id = c.id
            with app.app_context():
                started, pg = time.perf_counter(), steps.postgres_cpu()
                planner.plan_campaign(app, campaign_id)
                while sender.send_batch(app, campaign_id):
                    pass
                elapsed, pg = time.perf_counter() - started, steps.postgres_cpu() - pg
        finally:
            sim.stop()
        with session_scope(app) as s:
            counts = svc.counts(s, campaign_id)
        print(f"{n:,} recipients in one process: {elapsed:.1f} s, PostgreSQL CPU {pg / n * 1e6:.0f} µs a recipient; "
              f"sent {counts['sent']:,}")
        print(f"{'step':45} {'wall s':>7} {'Python CPU µs/r':>16} {'PostgreSQL CPU µs/r':>20}")
        for _, _, label in STEPS:
            print(f"{label:45} {steps.wall[label]:7.2f} {steps.cpu[label] / n * 1e6:16.0f} "
                  f"{steps.postgres[label] / n * 1e6:20.0f}")
    Redis.from_url(redis_url).flushdb()


if __name__ == "__main__":
    main()
