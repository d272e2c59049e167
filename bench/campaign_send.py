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
provider ids and follow-up records; it is timed from the launch, once both workers are up (a
worker's start-up is not part of sending). Peak memory is the highest VmHWM (peak resident set) of
any process under the workers (the workers and the work horses they fork), sampled every 100 ms.

Both parts also report where the CPU went: the workers (work horses included), the PostgreSQL
backends serving the scratch database, the simulator (this process's threads but the main one),
and the whole machine, which on a shared machine shows how much of it was someone else's.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from redis import Redis
from rq import Worker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_postgres  # noqa: E402 - bench/ is on the path when run

from hub.campaigns import campaigns as svc  # noqa: E402
from hub.campaigns.launch import start_work  # noqa: E402
from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.templates.models import MessageTemplate
from hub.campaigns.templates.rendering import CompiledTemplate  # noqa: E402
from hub.channels.base import OutboundMessage  # noqa: E402
from hub.channels.credentials import load_or_create  # noqa: E402
from hub.channels.email import SendGridEmail  # noqa: E402
from hub.channels.models import Message  # noqa: E402
from hub.core.db import session_scope  # noqa: E402
from hub.crm.customers.models import Contact, Customer  # noqa: E402
from hub.crm.followups.models import FollowUp
from hub.runtime.maintenance import upgrade_database  # noqa: E402
from hub.simulator.server import ProviderSimulator  # noqa: E402
from hub.web.app import create_app  # noqa: E402

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
    from hub.campaigns.templates.rendering import context_for

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


def floor(app: Any, sim: ProviderSimulator, workers: int, database: str) -> tuple[float, dict[str, float]]:
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
    meter = CpuMeter(database)
    meter.start()
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        done = sum(pool.map(_floor_part, [(creds.sendgrid_api_key, creds.from_email, sim.url, p) for p in shares]))
        elapsed = time.perf_counter() - started
        pool.close()
        pool.join()  # reaped, so that their CPU time is counted
    assert done == len(people)
    return len(people) / elapsed, meter.stop()


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


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (its threads included), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def _machine_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS  # all but idle and iowait


def _backends(database: str) -> list[int]:
    """PostgreSQL server processes serving `database` (their title names it)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    title = fh.read()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                out.append(int(entry))
    return out


def _with_children_seconds(pid: int) -> float:
    """CPU time of a process and of the children it has waited for (a worker's work horses)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return sum(int(f) for f in fields[11:15]) / TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


class CpuMeter:
    """Where the CPU went during a run: the bench's own process apart from its main thread (the
    simulator's threads), the processes given, the PostgreSQL backends serving the scratch
    database (sampled: one that ends loses at most the last 100 ms), and the whole machine
    (other engineers' work included)."""

    def __init__(self, database: str):
        self.database = database
        self.backends: dict[int, tuple[float, float]] = {}

    def start(self) -> None:
        self.self0 = resource.getrusage(resource.RUSAGE_SELF)
        self.children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.main0 = time.thread_time()
        self.machine0 = _machine_busy_seconds()
        self.backends = {pid: (_cpu_seconds(pid),) * 2 for pid in _backends(self.database)}

    def sample(self) -> None:
        for pid in _backends(self.database):
            used = _cpu_seconds(pid)
            first, _ = self.backends.get(pid, (0.0, 0.0))
            if used:
                self.backends[pid] = (first, used)

    def stop(self, workers: float | None = None) -> dict[str, float]:
        """CPU seconds by part; `workers` given, or else this process's reaped children."""
        self.sample()
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        main = time.thread_time() - self.main0
        return {
            "simulator": own.ru_utime + own.ru_stime - self.self0.ru_utime - self.self0.ru_stime - main,
            "workers": workers if workers is not None else (
                children.ru_utime + children.ru_stime - self.children0.ru_utime - self.children0.ru_stime),
            "postgres": sum(last - first for first, last in self.backends.values()),
            "machine": _machine_busy_seconds() - self.machine0,
        }


def _peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def campaign(
    app: Any, env: dict[str, str], workers: int, n: int, database: str
) -> tuple[float, float, dict[str, int], dict[str, float]]:
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
    # Timed from the launch, with the workers up: starting a worker (imports, the app) is not
    # sending a campaign, and production workers are running before anyone launches one.
    conn = Redis.from_url(env["HUB_REDIS_URL"])
    while Worker.count(connection=conn) < workers:
        time.sleep(0.05)
    peak = 0
    meter = CpuMeter(database)
    meter.start()
    workers_cpu = sum(_with_children_seconds(p.pid) for p in procs)
    started = time.perf_counter()
    with app.app_context():
        start_work(app, campaign_id)
    try:
        while True:
            meter.sample()
            for pid in _descendants([p.pid for p in procs]):
                peak = max(peak, _peak_kb(pid))
            with session_scope(app) as s:
                if s.scalar(sa.select(Campaign.state).where(Campaign.id == campaign_id)) == "completed":
                    break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        cpu = meter.stop(sum(_with_children_seconds(p.pid) for p in procs) - workers_cpu)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    with session_scope(app) as s:
        counts = svc.counts(s, campaign_id)
        # One follow-up record per message, linked both ways, its status the message's.
        counts["follow_ups"] = s.scalar(
            sa.select(sa.func.count()).select_from(Message)
            .join(FollowUp, sa.and_(FollowUp.id == Message.follow_up_id,
                                    FollowUp.message_ref == sa.cast(Message.id, sa.String),
                                    FollowUp.status == Message.status))
            .where(Message.campaign_id == campaign_id)
        ) or 0
    return n / elapsed, peak / 1024, counts, cpu


def _cpu_line(cpu: dict[str, float], n: int) -> str:
    parts = [f"{name} {cpu[name]:.1f} s ({cpu[name] / n * 1e6:.0f} µs a recipient)" for name in ("workers", "postgres", "simulator")]
    return "CPU: " + ", ".join(parts) + f"; whole machine {cpu['machine']:.1f} s"


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
            database = sa.make_url(url).database or ""
            floor_rate, floor_cpu = floor(app, sim, args.workers, database)
            print(f"floor: {floor_rate:,.0f} recipients/s (render + SendGrid requests, {args.workers} processes)")
            print(f"  floor {_cpu_line(floor_cpu, args.recipients)}")
            sim.reset()
            env = {**os.environ, **{k: v for k, v in config.items()}}
            rate, peak_mb, counts, cpu = campaign(app, env, args.workers, args.recipients, database)
        finally:
            sim.stop()
        mails = [r for r in sim.requests() if r["provider"] == "sendgrid"]
        personalizations = sum(len(r["body"]["personalizations"]) for r in mails)
        print(f"campaign: {rate:,.0f} recipients/s with {args.workers} workers = {rate / floor_rate:.2f} x the floor")
        print(f"  campaign {_cpu_line(cpu, args.recipients)}")
        print(f"peak memory of a worker process: {peak_mb:.0f} MB")
        print(f"counts: planned {counts['planned']:,}, sent {counts['sent']:,}, failed {counts['failed']:,}; "
              f"{counts['follow_ups']:,} linked follow-ups; simulator: {len(mails)} requests, {personalizations:,} personalizations")
    Redis.from_url(redis_url).flushdb()


if __name__ == "__main__":
    main()
