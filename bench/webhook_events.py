"""SendGrid event webhook benchmark: signed batches of 1,000 events through the real intake
(`POST /webhooks/sendgrid/events`: verify, store in one statement, enqueue the apply job) and the
real apply job, on PostgreSQL and on SQLite.

    python bench/webhook_events.py [--batches 10] [--events 1000] [--backends postgresql,sqlite]

HUB_BENCH_DATABASE_URL names a PostgreSQL server (default postgresql://postgres@127.0.0.1/test);
a scratch database is created next to it and dropped afterwards. SQLite runs on a file in a
temporary folder. HUB_BENCH_REDIS_URL is the Redis the intake enqueues on (default
redis://127.0.0.1:6379/11): the benchmark reads back the jobs it caused (their event ids are what
apply runs on) and deletes them; nothing else there is touched.

The floor is the same signed request to a view that only verifies the signature (the same key
lookup and the same EventWebhook check as the hub's view), registered on the benchmark's own app
under /webhooks/ so the same access rules apply. Apply runs `apply_events_job` inline in an app
context, as a worker's work horse would (without the fork). SQL statements are counted with a
`before_cursor_execute` listener: one cursor execution each, an executemany counted once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, request
from flask.testing import FlaskClient
from rq.job import Job
from rq.serializers import JSONSerializer
from sendgrid.helpers.eventwebhook import EventWebhook
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_postgres  # noqa: E402 - bench/ is on the path when run

from hub.channels import provider_events, suppressions, webhooks  # noqa: E402
from hub.channels.credentials import load_or_create  # noqa: E402
from hub.channels.email import MESSAGE_ID_ARG  # noqa: E402
from hub.channels.messages import set_status  # noqa: E402
from hub.channels.models import Message, Suppression, WebhookEvent  # noqa: E402
from hub.core import services  # noqa: E402
from hub.core.auth import create_user, public  # noqa: E402
from hub.core.clock import utcnow
from hub.core.db import engine_for, session_scope
from hub.crm.customers.models import Contact, Customer  # noqa: E402
from hub.crm.followups.models import FollowUp
from hub.runtime.maintenance import upgrade_database  # noqa: E402
from hub.simulator.sendgrid_api import sign_events  # noqa: E402
from hub.web.app import create_app  # noqa: E402

INTAKE = "/webhooks/sendgrid/events"
FLOOR = "/webhooks/bench/verify-only"
SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
BOUNCE_SHARE = 0.08  # of recipients: hard bounces (each suppresses a new address)
OPEN_SHARE = 0.40  # of delivered messages: opened once


# --- the scratch database -----------------------------------------------------------------------


@contextmanager
def scratch_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.sqlite3'}"


# --- the app, with the floor beside the real intake ---------------------------------------------


def add_floor(app: Flask) -> None:
    """The cheapest signed request: the hub's key lookup and signature check, nothing stored."""

    @public
    def verify_only() -> Response:
        raw = request.get_data(cache=True)
        verified = EventWebhook(webhooks.sendgrid_public_key()).verify_signature(
            raw.decode("utf-8"),
            request.headers.get(SIGNATURE, ""),
            request.headers.get(TIMESTAMP, ""),
        )
        return Response(status=204 if verified else 403)

    app.add_url_rule(FLOOR, "bench_verify_only", verify_only, methods=["POST"])


def seed(app: Flask, messages: int, seed_value: int = 11) -> list[tuple[int, str]]:
    """Sent emails with their customers, contacts and follow-ups, as the send job leaves them;
    returns (message id, address) in send order."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    with session_scope(app) as s:
        user = create_user(s, "sender@bench.example", "agent", "benchmark password")
        s.flush()
        customers = max(1, messages // 4)
        s.execute(
            sa.insert(Customer),
            [{"id": i, "name": f"Bench Customer {i}"} for i in range(1, customers + 1)],
        )
        s.execute(
            sa.insert(Contact),
            [
                {"id": i, "customer_id": i, "name": f"Contact {i}", "email": f"c{i}@bench.example"}
                for i in range(1, customers + 1)
            ],
        )
        out: list[tuple[int, str]] = []
        follow_ups, rows = [], []
        for i in range(1, messages + 1):
            contact = rng.randrange(1, customers + 1)
            # A bouncing recipient has an address of its own, so each bounce suppresses anew.
            to = (
                f"gone{i}@bench.example"
                if rng.random() < BOUNCE_SHARE
                else f"c{contact}@bench.example"
            )
            follow_ups.append(
                {
                    "id": i,
                    "customer_id": contact,
                    "contact_id": contact,
                    "user_id": user.id,
                    "channel": "email",
                    "direction": "outbound",
                    "summary": "Your quote\n\nPlease find the figures attached.",
                    "status": "sent",
                    "message_ref": str(i),
                }
            )
            rows.append(
                {
                    "id": i,
                    "channel": "email",
                    "direction": "outbound",
                    "customer_id": contact,
                    "contact_id": contact,
                    "user_id": user.id,
                    "to_address": to,
                    "from_address": "sales@bench.example",
                    "subject": "Your quote",
                    "body": "Please find the figures attached.",
                    "status": "sent",
                    "provider_id": secrets.token_urlsafe(16),
                    "follow_up_id": i,
                    "sent_at": now,
                    "status_at": now,
                }
            )
            out.append((i, to))
        s.execute(sa.insert(FollowUp), follow_ups)
        s.execute(sa.insert(Message), rows)
    return out


def batches(
    messages: list[tuple[int, str]], count: int, size: int, seed_value: int = 12
) -> list[bytes]:
    """`count` batches of `size` events in SendGrid's shape: each message processed, then
    delivered (and maybe opened) or bounced, with unique sg_event_ids and our message id as a
    custom argument (a top-level key, as SendGrid echoes custom args)."""
    rng = random.Random(seed_value)
    pending = iter(messages)
    out = []
    now = int(time.time())
    for _ in range(count):
        events: list[dict[str, Any]] = []
        while len(events) < size:
            message_id, email = next(pending)
            common = {
                "email": email,
                "timestamp": now,
                "smtp-id": f"<{secrets.token_urlsafe(12)}@bench.sendgrid.net>",
                "sg_message_id": f"{secrets.token_urlsafe(16)}.filterdrecv-bench.0",
                "category": "quote",
                MESSAGE_ID_ARG: str(message_id),
            }
            events.append({**common, "event": "processed", "sg_event_id": _event_id()})
            if email.startswith("gone"):
                events.append(
                    {
                        **common,
                        "event": "bounce",
                        "type": "bounce",
                        "status": "5.1.1",
                        "reason": "550 5.1.1 The email account that you tried to reach does "
                        "not exist.",
                        "bounce_classification": "Invalid Address",
                        "sg_event_id": _event_id(),
                    }
                )
                continue
            events.append(
                {
                    **common,
                    "event": "delivered",
                    "response": "250 2.0.0 OK",
                    "ip": "127.0.0.1",
                    "tls": 1,
                    "sg_event_id": _event_id(),
                }
            )
            if rng.random() < OPEN_SHARE:
                events.append(
                    {
                        **common,
                        "event": "open",
                        "timestamp": now + rng.randrange(60, 3600),
                        "useragent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                        "ip": "203.0.113.7",
                        "sg_machine_open": False,
                        "sg_event_id": _event_id(),
                    }
                )
        out.append(json.dumps(events[:size]).encode("utf-8"))
    return out


def _event_id() -> str:
    return secrets.token_urlsafe(16)


# --- what the report proposes, tried on the scratch databases only ------------------------------


def proposed_store(db: Session, events: Any) -> list[int]:
    """`provider_events.store` on PostgreSQL with the batch as ONE JSON parameter. The statement
    as built has five parameters an event (5,000 for a batch), and psycopg rewrites a statement
    that long on every call (its cache keeps only short ones): over half of the intake's time.
    Same rows, same ON CONFLICT, same RETURNING; SQLite keeps the code as built."""
    if db.get_bind().dialect.name != "postgresql":
        return ORIGINAL_STORE(db, events)
    rows = [
        {
            "provider": e.provider,
            "event_key": e.event_key[:200],
            "kind": e.kind[:40],
            "payload": e.payload,
        }
        for e in events
    ]
    if not rows:
        return []
    stmt = sa.text(
        "INSERT INTO webhook_events (provider, event_key, kind, payload, received_at) "
        "SELECT e->>'provider', e->>'event_key', e->>'kind', e->'payload', :at "
        "FROM json_array_elements(CAST(:rows AS json)) AS e "
        "ON CONFLICT (event_key) DO NOTHING RETURNING id"
    )
    return list(db.scalars(stmt, {"rows": json.dumps(rows), "at": utcnow()}))


def proposed_apply(db: Session, events: list[WebhookEvent]) -> None:
    """`provider_events.apply` without a statement per message: the follow-ups loaded
    with the messages (set_status's `db.get` then finds them in the session), no autoflush in the
    loop (as built, every `db.get(FollowUp)` first flushes the changes so far), the batch's
    suppressions in one INSERT .. ON CONFLICT DO NOTHING (deduplicated first: the rows are not
    flushed one by one any more), and applied_at in one UPDATE."""
    pending = [e for e in events if e.applied_at is None]
    messages = provider_events._messages_for(db, pending)
    follow_up_ids = {m.follow_up_id for m in messages.values() if m.follow_up_id}
    # Held through the loop: the session's identity map keeps unchanged objects only weakly.
    _held = (
        db.scalars(sa.select(FollowUp).where(FollowUp.id.in_(follow_up_ids))).all()
        if follow_up_ids
        else []
    )
    suppress: dict[str, dict[str, str]] = {}
    with db.no_autoflush:
        for event_row in pending:
            message = messages.get(event_row.id)
            p = event_row.payload
            if event_row.provider == "twilio":
                status = p.get("MessageStatus") or p.get("SmsStatus")
                if message is not None and status in provider_events.TWILIO_STATUSES:
                    set_status(
                        db,
                        message,
                        "delivered" if status == "read" else status,
                        error_code=p.get("ErrorCode") or None,
                    )
                continue
            kind = event_row.kind
            if message is not None and kind in provider_events.SENDGRID_STATUS:
                set_status(
                    db, message, provider_events.SENDGRID_STATUS[kind], error=p.get("reason")
                )
            email = p.get("email")
            if email and (
                kind in provider_events.SENDGRID_SUPPRESS
                or (kind == "bounce" and p.get("type", "bounce") == "bounce")
            ):
                address = suppressions.normalize_address("email", str(email))
                suppress.setdefault(
                    address,
                    {
                        "channel": "email",
                        "address": address,
                        "reason": provider_events.SENDGRID_SUPPRESS.get(kind, "bounce"),
                        "source": f"SendGrid {kind}",
                    },
                )
    if suppress:
        insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        db.execute(
            insert(Suppression).on_conflict_do_nothing(index_elements=["channel", "address"]),
            list(suppress.values()),
        )
    if pending:
        db.execute(
            sa.update(WebhookEvent)
            .where(WebhookEvent.id.in_([e.id for e in pending]))
            .values(applied_at=utcnow()),
            execution_options={"synchronize_session": False},
        )


ORIGINAL_STORE = provider_events.store
ORIGINAL_APPLY = provider_events.apply


@contextmanager
def proposals() -> Iterator[None]:
    """Swap the proposed store and apply in for the duration of a measurement."""
    provider_events.store, provider_events.apply = proposed_store, proposed_apply
    try:
        yield
    finally:
        provider_events.store, provider_events.apply = ORIGINAL_STORE, ORIGINAL_APPLY


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Statements:
    executions: list[tuple[str, bool]] = field(default_factory=list)  # (SQL, executemany)

    @property
    def count(self) -> int:
        return len(self.executions)

    @property
    def many(self) -> int:
        return sum(1 for _sql, many in self.executions if many)

    def shapes(self) -> Counter[str]:
        """'SELECT follow_ups' and the like, with how often each ran."""
        out: Counter[str] = Counter()
        for sql, many in self.executions:
            words = re.sub(r"\s+", " ", sql).strip()
            verb = words.split(" ", 1)[0].upper()
            table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", words, re.I)
            out[f"{verb} {table.group(1) if table else ''}{' (executemany)' if many else ''}"] += 1
        return out


@contextmanager
def counting(app: Flask) -> Iterator[Statements]:
    engine = engine_for(app)
    seen = Statements()

    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.executions.append((sql, many))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def post(client: FlaskClient, path: str, key: Any, raw: bytes) -> float:
    """Sign and post one batch; the seconds it took (signing is the provider's work: not timed)."""
    headers = sign_events(key, raw)
    started = time.perf_counter()
    response = client.post(path, data=raw, headers=headers, content_type="application/json")
    elapsed = time.perf_counter() - started
    if response.status_code != 204:
        raise SystemExit(f"{path} answered {response.status_code}: {response.get_data()[:200]!r}")
    return elapsed


def enqueued_ids(app: Flask, before: set[str]) -> list[list[int]]:
    """The events the intake stored and queued an apply job for since `before` (the job is
    deleted and the events applied inline here instead)."""
    with app.app_context():
        queue = services.queue("high")
        new = [j for j in queue.job_ids if j not in before]
        out = []
        for job_id in new:
            job = Job.fetch(job_id, connection=queue.connection, serializer=JSONSerializer)
            if job.func_name == f"{provider_events.__name__}.apply_pending_job":
                job.delete()
                services.redis().delete(provider_events.APPLY_QUEUED)
                with session_scope(app) as s:
                    out.append(
                        list(
                            s.scalars(
                                sa.select(WebhookEvent.id)
                                .where(WebhookEvent.applied_at.is_(None))
                                .order_by(WebhookEvent.id)
                            )
                        )
                    )
        return out


def job_ids(app: Flask) -> set[str]:
    with app.app_context():
        return set(services.queue("high").job_ids)


@dataclass
class Run:
    label: str
    events: int
    floor: list[float] = field(default_factory=list)
    intake: list[float] = field(default_factory=list)
    apply: list[float] = field(default_factory=list)
    replay: list[float] = field(default_factory=list)
    intake_sql: list[int] = field(default_factory=list)
    apply_sql: list[int] = field(default_factory=list)
    apply_many: list[int] = field(default_factory=list)
    replay_sql: int = 0
    shapes: Counter[str] = field(default_factory=Counter)
    wrong: int = 0  # messages or suppressions not as the events say


def measure(app: Flask, key: Any, bodies: list[bytes], label: str, events: int) -> Run:
    """Post each batch to the floor and to the intake, then apply what the intake enqueued; the
    first batch warms up. Ends with replays of the last three batches, stored already."""
    client = app.test_client()
    result = Run(label, events)
    for n, raw in enumerate(bodies):
        floor = post(client, FLOOR, key, raw)
        before = job_ids(app)
        with counting(app) as intake_sql:
            intake = post(client, INTAKE, key, raw)
        [ids] = enqueued_ids(app, before)
        if len(ids) != events:
            raise SystemExit(f"the intake stored {len(ids)} of {events} events")
        with app.app_context(), counting(app) as apply_sql:
            applied_started = time.perf_counter()
            applied = provider_events.apply_events_job(ids)
            applied_took = time.perf_counter() - applied_started
        if applied != events:
            raise SystemExit(f"apply_events_job applied {applied} of {events}")
        if n == 0:
            continue
        result.floor.append(floor)
        result.intake.append(intake)
        result.apply.append(applied_took)
        result.intake_sql.append(intake_sql.count)
        result.apply_sql.append(apply_sql.count)
        result.apply_many.append(apply_sql.many)
        result.shapes = apply_sql.shapes()
    # SendGrid retries a batch it thinks failed: the replay stores nothing and enqueues nothing.
    for raw in bodies[-3:]:
        before = job_ids(app)
        with counting(app) as replay_sql:
            result.replay.append(post(client, INTAKE, key, raw))
        if enqueued_ids(app, before):
            raise SystemExit("a replayed batch enqueued an apply job")
        result.replay_sql = replay_sql.count
    result.wrong = check(app, bodies)
    return result


RANK = {"sent": 2, "delivered": 3, "bounced": 3, "opened": 4}
EVENT_STATUS = {"delivered": "delivered", "bounce": "bounced", "open": "opened"}


def check(app: Flask, bodies: list[bytes]) -> int:
    """How many messages or suppressions differ from what the batches' events say."""
    want: dict[int, str] = {}
    bounced: set[str] = set()
    for raw in bodies:
        for e in json.loads(raw):
            message_id = int(e[MESSAGE_ID_ARG])
            status = want.setdefault(message_id, "sent")
            new = EVENT_STATUS.get(e["event"])
            if new and RANK[new] > RANK[status]:
                want[message_id] = new
            if e["event"] == "bounce":
                bounced.add(e["email"])
    with session_scope(app) as s:
        have = dict(
            s.execute(sa.select(Message.id, Message.status).where(Message.id.in_(want))).all()
        )
        listed = set(
            s.scalars(sa.select(Suppression.address).where(Suppression.address.in_(bounced)))
        )
        unapplied = s.scalar(
            sa.select(sa.func.count())
            .select_from(WebhookEvent)
            .where(WebhookEvent.applied_at.is_(None))
        )
    return sum(have.get(k) != v for k, v in want.items()) + len(bounced - listed) + (unapplied or 0)


def run_backend(
    backend: str, url: str, redis_url: str, args: argparse.Namespace, report: Callable[[str], None]
) -> list[Run]:
    with tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {
                "HUB_DATABASE_URL": url,
                "HUB_REDIS_URL": redis_url,
                "HUB_INSTANCE_DIR": instance,
                "HUB_SECRET_KEY": secrets.token_urlsafe(32),
            }
        )
        add_floor(app)
        upgrade_database(app)
        key = load_or_create(Path(instance)).private_key()
        per_phase = args.batches + 1  # one warm-up
        phases = 2 if args.proposals else 1
        per_batch = int(args.events / (2 + OPEN_SHARE * (1 - BOUNCE_SHARE))) + 50
        started = time.perf_counter()
        messages = seed(app, per_batch * per_phase * phases)
        bodies = batches(messages, per_phase * phases, args.events)
        report(
            f"\n[{backend}] seeded {len(messages)} sent emails and built {len(bodies)} batches of "
            f"{args.events} events in {time.perf_counter() - started:.1f} s"
        )
        runs = [measure(app, key, bodies[:per_phase], "as built", args.events)]
        if args.proposals:
            with proposals():
                runs.append(measure(app, key, bodies[per_phase:], "proposed", args.events))
        engine_for(app).dispose()
    return runs


def describe(backend: str, runs: list[Run], report: Callable[[str], None]) -> None:
    def ms(samples: list[float]) -> float:
        return statistics.median(samples) * 1000

    first = runs[0]
    report(f"\n### {backend}: {len(first.intake)} timed batches of {first.events} events\n")
    report("| step | median ms / batch | events / s | ratio to floor | SQL statements / batch |")
    report("|---|---:|---:|---:|---:|")
    floor = ms(first.floor)
    report(f"| floor: verify only | {floor:.1f} | {first.events / floor * 1000:,.0f} | 1.0x | 0 |")
    for r in runs:
        rows = [
            ("intake: verify, store, enqueue", ms(r.intake), max(r.intake_sql), ""),
            ("replayed batch (all stored already)", ms(r.replay), r.replay_sql, ""),
            (
                "apply (`apply_events_job`, inline)",
                ms(r.apply),
                statistics.median(r.apply_sql),
                f" ({statistics.median(r.apply_sql) / r.events:.2f} an event, "
                f"{statistics.median(r.apply_many):.0f} executemany)",
            ),
        ]
        for name, took, statements, note in rows:
            report(
                f"| {name}, {r.label} | {took:.1f} | {r.events / took * 1000:,.0f} | "
                f"{took / floor:.1f}x | {statements:.0f}{note} |"
            )
    for r in runs:
        report(f"\nApply's statements in the last batch, {r.label}, by shape:\n")
        for shape, n in r.shapes.most_common():
            report(f"- {n} x {shape}")
    for r in runs:
        if r.wrong:
            raise SystemExit(f"{backend}, {r.label}: {r.wrong} messages or suppressions are wrong")
    report(
        "\nEvery message's status and every bounced address's suppression checked: as the events say."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="timed batches (after 1 warm-up)")
    parser.add_argument("--events", type=int, default=1000, help="events per batch")
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--no-proposals",
        dest="proposals",
        action="store_false",
        help="measure only the code as built",
    )
    args = parser.parse_args()
    base = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
    report: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    started = time.perf_counter()
    for backend in args.backends.split(","):
        if backend not in ("postgresql", "sqlite"):
            raise SystemExit(f"unknown backend {backend!r}: postgresql or sqlite")
        scratch = scratch_postgres(base) if backend == "postgresql" else scratch_sqlite()
        with scratch as url:
            describe(backend, run_backend(backend, url, redis_url, args, report), report)
    print(f"\ntotal run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
