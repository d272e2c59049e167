"""Campaign benchmark: a 100,000-recipient email campaign sent by two `hub worker` processes
through the real SendGrid SDK to the provider simulator, on PostgreSQL, beside a floor measured in
the same run.

    python bench/campaign_send.py [--recipients 100000] [--workers 2]

HUB_BENCH_DATABASE_URL names a PostgreSQL server (default postgresql://postgres@127.0.0.1/test);
a scratch database is created next to it and dropped afterwards. HUB_BENCH_REDIS_URL is the Redis
the workers share (default redis://127.0.0.1:6379/11; it is flushed before and after).

The floor renders the same template for the same recipients with the same compiled sandbox and
posts the same SendGrid requests (500 personalizations each) to the same simulator, split over the
same number of processes, with no bookkeeping: no database reads or writes, no Redis, no RQ.
The campaign is the real thing: launch, the planner job, send jobs claiming batches, recording
provider ids and follow-up records. Peak memory is the highest VmHWM (peak resident set) of any
process under the workers (the workers and the work horses they fork), sampled every 100 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_postgres  # noqa: E402 - bench/ is on the path when run

from hub import create_app  # noqa: E402
from hub.campaigns import campaigns as svc  # noqa: E402
from hub.campaigns.models import Campaign, MessageTemplate, Segment  # noqa: E402
from hub.campaigns.recovery import start_work  # noqa: E402
from hub.campaigns.rendering import CompiledTemplate  # noqa: E402
from hub.channels.base import OutboundMessage  # noqa: E402
from hub.channels.credentials import load_or_create  # noqa: E402
from hub.channels.email import SendGridEmail  # noqa: E402
from hub.channels.simulator import ProviderSimulator  # noqa: E402
from hub.crm.models import Contact, Customer  # noqa: E402
from hub.db import session_scope  # noqa: E402
from hub.maintenance import upgrade_database  # noqa: E402

SUBJECT = "{{ customer.name }}: the spring range is out"
BODY = "Dear {{ contact.name }},\n\nOur spring range for {{ customer.region }} is out.\n{{ owner.name }}"
HTML = "<p>Dear {{ contact.name }},</p><p>Our spring range for {{ customer.region }} is out.</p>"
BATCH = 500


def load(app: Any, n: int) -> None:
    """`n` customers of one contact each with an email address, in chunks of 10,000."""
    with session_scope(app) as s:
        for start in range(0, n, 10_000):
            rows = [
                {"name": f"Bench Co {i}", "region": ("Henan", "Hubei", "Hunan")[i % 3], "customer_class": "B"}
                for i in range(start, min(n, start + 10_000))
            ]
            ids = s.scalars(sa.insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows).all()
            s.execute(
                sa.insert(Contact),
                [{"customer_id": cid, "name": f"Contact {cid}", "email": f"c{cid}@example.com"} for cid in ids],
            )
        s.execute(sa.text("ANALYZE"))


class _Person:
    def __init__(self, **kw: Any):
        self.__dict__.update(kw)


def _floor_part(args: tuple[str, str, str, list[tuple[int, str, str, str]]]) -> int:
    """One floor process: render and post its share, nothing else."""
    api_key, from_email, host, people = args
    channel = SendGridEmail(api_key, from_email, host)
    template = CompiledTemplate(SUBJECT, BODY, HTML)
    from hub.campaigns.rendering import context_for

    sent = 0
    for start in range(0, len(people), BATCH):
        batch = []
        for cid, name, customer, region in people[start : start + BATCH]:
            contact = _Person(name=name, title=None, email=f"c{cid}@example.com", phone=None, birthday=None, language=None)
            company = _Person(name=customer, customer_class="B", region=region, city=None, industry="")
            parts = template.render(context_for(contact, company, None))
            batch.append(OutboundMessage(cid, contact.email, parts.body, parts.subject, parts.html))
        channel.send(batch)
        sent += len(batch)
    return sent


def floor(app: Any, sim: ProviderSimulator, workers: int) -> float:
    with session_scope(app) as s:
        people = [
            (cid, name, customer, region)
            for cid, name, customer, region in s.execute(
                sa.select(Contact.id, Contact.name, Customer.name, Customer.region)
                .join(Customer, Customer.id == Contact.customer_id)
                .order_by(Contact.id)
            )
        ]
    creds = sim.credentials
    shares = [people[i::workers] for i in range(workers)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        done = sum(pool.map(_floor_part, [(creds.sendgrid_api_key, creds.from_email, sim.url, p) for p in shares]))
    elapsed = time.perf_counter() - started
    assert done == len(people)
    return len(people) / elapsed


def _descendants(pids: list[int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def _peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def campaign(app: Any, env: dict[str, str], workers: int, n: int) -> tuple[float, float, dict[str, int]]:
    with session_scope(app) as s:
        segment = Segment(name="bench", definition={"match": "all", "rules": [{"field": "class", "op": "eq", "value": "B"}]})
        template = MessageTemplate(name="bench", channel="email", subject=SUBJECT, body=BODY, html=HTML)
        s.add_all([segment, template])
        s.flush()
        c = Campaign(name="bench", channel="email", segment_id=segment.id, template_id=template.id, quiet_start=0, quiet_end=0)
        s.add(c)
        s.flush()
        svc.launch(s, c)
        campaign_id = c.id
    procs = [
        subprocess.Popen([sys.executable, "-m", "hub", "worker", "--without-scheduler"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    peak = 0
    started = time.perf_counter()
    with app.app_context():
        start_work(app, campaign_id)
    try:
        while True:
            for pid in _descendants([p.pid for p in procs]):
                peak = max(peak, _peak_kb(pid))
            with session_scope(app) as s:
                if s.scalar(sa.select(Campaign.state).where(Campaign.id == campaign_id)) == "completed":
                    break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    with session_scope(app) as s:
        counts = svc.counts(s, campaign_id)
    return n / elapsed, peak / 1024, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    base = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    Redis.from_url(redis_url).flushdb()
    with scratch_postgres(base) as url, tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        config = {"HUB_DATABASE_URL": url, "HUB_REDIS_URL": redis_url, "HUB_INSTANCE_DIR": str(instance),
                  "HUB_SECRET_KEY": "bench-secret-key-0123456789"}
        app = create_app(config)
        upgrade_database(app)
        t = time.perf_counter()
        load(app, args.recipients)
        print(f"loaded {args.recipients:,} recipients in {time.perf_counter() - t:.1f} s")
        sim = ProviderSimulator(instance / "simulator", load_or_create(instance))
        sim.start()
        try:
            floor_rate = floor(app, sim, args.workers)
            print(f"floor: {floor_rate:,.0f} recipients/s (render + SendGrid requests, {args.workers} processes)")
            sim.reset()
            env = {**os.environ, **{k: v for k, v in config.items()}}
            rate, peak_mb, counts = campaign(app, env, args.workers, args.recipients)
        finally:
            sim.stop()
        mails = [r for r in sim.requests() if r["provider"] == "sendgrid"]
        personalizations = sum(len(r["body"]["personalizations"]) for r in mails)
        print(f"campaign: {rate:,.0f} recipients/s with {args.workers} workers = {rate / floor_rate:.2f} x the floor")
        print(f"peak memory of a worker process: {peak_mb:.0f} MB")
        print(f"counts: planned {counts['planned']:,}, sent {counts['sent']:,}, failed {counts['failed']:,}; "
              f"simulator: {len(mails)} requests, {personalizations:,} personalizations")
    Redis.from_url(redis_url).flushdb()


if __name__ == "__main__":
    main()
