"""Customer list benchmark on PostgreSQL: 100,000 customers with 1-3 contacts each, requested
through the real app and the Flask test client by a signed-in director.

    python bench/customer_list.py [--customers 100000] [--repeat 40]

HUB_BENCH_DATABASE_URL names a PostgreSQL server (default postgresql://postgres@127.0.0.1/test);
a scratch database is created next to it and dropped afterwards. HUB_BENCH_REDIS_URL is the Redis
the app uses for sign-in (default redis://127.0.0.1:6379/15; nothing in it is flushed).

Each case is timed `--repeat` times after a warm-up; the floor is /healthz requested by the same
client in the same run (routing, the access check, one SELECT 1 and a Redis PING), so the ratio
says how much the page itself costs. Statements slower than --explain-ms are shown with their
EXPLAIN ANALYZE plan.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_postgres  # noqa: E402 - bench/ is on the path when run

from hub.core.auth import create_token, create_user  # noqa: E402
from hub.core.db import engine_for, session_scope  # noqa: E402
from hub.runtime import demo  # noqa: E402
from hub.runtime.maintenance import upgrade_database  # noqa: E402
from hub.web.app import create_app  # noqa: E402

PASSWORD = "benchmark password"  # noqa: S105 (a scratch database's only user)
TARGET_MS = 100.0
CN_MOBILE = ("138", "139", "150", "186", "177", "135", "188")
US_AREAS = ("212", "415", "312", "617", "206")


# --- the scratch database -----------------------------------------------------------------------


# --- data ---------------------------------------------------------------------------------------


def _phone(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return f"+86{rng.choice(CN_MOBILE)}{rng.randrange(10**8):08d}"
    return f"+1{rng.choice(US_AREAS)}{rng.randrange(200, 1000)}{rng.randrange(10**4):04d}"


def _person(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return rng.choice(demo.SURNAMES) + "".join(
            rng.choice(demo.GIVEN) for _ in range(rng.choice([1, 2]))
        )
    return f"{rng.choice(demo.EN_FIRST)} {rng.choice(demo.EN_LAST)}"


def _company(rng: random.Random, chinese: bool) -> str:
    if chinese:
        return (
            rng.choice(demo.CN_CITIES)
            + rng.choice(demo.CN_WORDS)
            + rng.choice(demo.CN_TRADES)
            + rng.choice(demo.CN_SUFFIXES)
        )
    return (
        f"{rng.choice(demo.EN_WORDS)} {rng.choice(demo.EN_TRADES)} {rng.choice(demo.EN_SUFFIXES)}"
    )


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return r"\N"
        if isinstance(v, bool):
            return "t" if v else "f"
        if isinstance(v, datetime | date):
            return v.isoformat()
        return str(v).replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")

    return "".join("\t".join(cell(v) for v in row) + "\n" for row in rows)


CUSTOMER_COLUMNS = (
    "id, kind, stage, lead_source, name, phone, email, region, industry, customer_class, "
    "owner_id, next_contact_on, last_contact_at, created_at, updated_at"
)
CONTACT_COLUMNS = (
    "customer_id, name, title, phone, email, is_decision_maker, created_at, updated_at"
)


def load(app: Flask, customers: int, owners: list[int], seed: int = 7) -> tuple[int, str]:
    """Bulk-load customers and contacts with COPY; returns the contact count and one contact's
    phone (E.164) for the phone search."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    today = now.date()
    contacts = 0
    probe = ""
    raw = engine_for(app).raw_connection()
    try:
        cur = raw.cursor()
        chunk = 20_000
        for start in range(1, customers + 1, chunk):
            cust_rows, contact_rows = [], []
            for cid in range(start, min(start + chunk, customers + 1)):
                chinese = rng.random() < 0.7
                person = rng.random() < 0.3
                name = _person(rng, chinese) if person else _company(rng, chinese)
                created = now - timedelta(days=rng.randint(0, 900))
                cust_rows.append(
                    (
                        cid,
                        "person" if person else "organization",
                        rng.choices(["lead", "prospect", "customer", "inactive"], [2, 2, 10, 1])[0],
                        rng.choice(["website", "import", "referral", "exhibition", "call"]),
                        name,
                        _phone(rng, chinese),
                        f"customer{cid}@example.{'cn' if chinese else 'com'}",
                        rng.choice(demo.REGIONS) if chinese else "Overseas",
                        rng.choice(demo.INDUSTRIES),
                        rng.choices("ABC", [2, 3, 5])[0],
                        rng.choice(owners),
                        today + timedelta(days=rng.randint(-5, 14)),
                        now - timedelta(days=rng.randint(1, 60)),
                        created,
                        created,
                    )
                )
                for i in range(1 if person else rng.randint(1, 3)):
                    phone = _phone(rng, chinese)
                    if cid == customers // 2 and i == 0:
                        probe = phone
                    contact_rows.append(
                        (
                            cid,
                            name if person else _person(rng, chinese),
                            None if person else rng.choice(["经理", "采购", "Manager", "Buyer"]),
                            phone,
                            f"c{cid}.{i}@example.{'cn' if chinese else 'com'}",
                            i == 0,
                            created,
                            created,
                        )
                    )
            with cur.copy(f"COPY customers ({CUSTOMER_COLUMNS}) FROM STDIN") as copy:
                copy.write(_copy_text(cust_rows))
            with cur.copy(f"COPY contacts ({CONTACT_COLUMNS}) FROM STDIN") as copy:
                copy.write(_copy_text(contact_rows))
            contacts += len(contact_rows)
        cur.execute("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return contacts, probe


def national_format(e164: str) -> str:
    """'+8613812345678' as a person types it at home: '138 1234 5678'."""
    digits = e164.removeprefix("+86")
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


# --- timing -------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    path: str
    headers: dict[str, str] | None = None


@dataclass
class Result:
    case: Case
    samples: list[float]  # ms

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def time_case(client: FlaskClient, case: Case, repeat: int, warmup: int = 3) -> Result:
    samples = []
    for i in range(warmup + repeat):
        started = time.perf_counter()
        response = client.get(case.path, headers=case.headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{case.name}: {case.path} answered {response.status_code}")
        if i >= warmup:
            samples.append(elapsed)
    return Result(case, samples)


@contextmanager
def statements(app: Flask) -> Iterator[list[tuple[float, str, Any]]]:
    """Record (ms, SQL, parameters) of every statement run inside the block."""
    engine = engine_for(app)
    seen: list[tuple[float, str, Any]] = []

    def before(conn: Any, cursor: Any, stmt: str, params: Any, context: Any, many: bool) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def after(conn: Any, cursor: Any, stmt: str, params: Any, context: Any, many: bool) -> None:
        seen.append(((time.perf_counter() - conn.info["bench_started"]) * 1000, stmt, params))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(app: Flask, sql: str, params: Any) -> str:
    raw = engine_for(app).raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cur.fetchall())
        raw.rollback()
    finally:
        raw.close()
    return plan


def profile(
    app: Flask, client: FlaskClient, case: Case, explain_ms: float, out: io.StringIO
) -> None:
    with statements(app) as seen:
        client.get(case.path, headers=case.headers)
    slow = [(ms, sql, params) for ms, sql, params in seen if ms >= explain_ms / 5]
    slowest = ", ".join(f"{ms:.1f}" for ms in sorted((m for m, _s, _p in seen), reverse=True)[:5])
    total = sum(m for m, _s, _p in seen)
    out.write(
        f"\n### {case.name}: {len(seen)} statements, {total:.1f} ms in the database; "
        f"slowest ms: {slowest}\n"
    )
    for ms, sql, params in slow:
        short = re.sub(r"\s+", " ", sql)
        out.write(f"\n{ms:.1f} ms: {short[:600]}{'...' if len(short) > 600 else ''}\n")
        out.write(f"params: {params}\n")
        out.write(explain(app, sql, params) + "\n")


# --- what the report proposes, tried on the scratch database only ------------------------------

PROPOSED_INDEXES = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX bench_customers_name_trgm ON customers USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX bench_customers_email_trgm ON customers USING gin (lower(email) gin_trgm_ops)",
    "CREATE INDEX bench_customers_phone_trgm ON customers USING gin (phone gin_trgm_ops)",
    "CREATE INDEX bench_contacts_name_trgm ON contacts USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX bench_contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops)",
    "CREATE INDEX bench_contacts_phone_trgm ON contacts USING gin (phone gin_trgm_ops)",
    "CREATE INDEX bench_customers_name_id ON customers (name, id)",
)


def add_proposed_indexes(app: Flask) -> float:
    started = time.perf_counter()
    with engine_for(app).begin() as conn:
        for ddl in PROPOSED_INDEXES:
            conn.execute(sa.text(ddl))
    vacuum_analyze(app)
    return time.perf_counter() - started


def vacuum_analyze(app: Flask) -> None:
    # What autovacuum does in a live database: statistics, and the visibility map that lets
    # index-only scans skip the table.
    with engine_for(app).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def proposed_search_condition(query: str, region: str) -> sa.ColumnElement[bool] | None:
    """The search as a UNION of per-table id lists, so each side can use its own indexes; a whole
    phone number compared for equality only (the B-tree index answers it); and no lower() when
    the query has no letter case (Chinese, digits), which halves a sequential scan."""
    from hub.core.normalize import halfwidth, phone_search_key
    from hub.crm.customers.models import Contact, Customer

    text = halfwidth(query).strip()
    if not text:
        return None
    cased = text.lower() != text.upper()
    needle = text.lower()
    e164 = phone_search_key(text, region)
    digits = re.sub(r"\D", "", text)
    mostly_digits = len(digits) >= 4 and len(digits) >= len(re.sub(r"[\s()+-]", "", text)) - 1

    def like(column: Any) -> sa.ColumnElement[bool]:
        return (sa.func.lower(column) if cased else column).contains(needle, autoescape=True)

    def matches(name: Any, email: Any, phone: Any) -> sa.ColumnElement[bool]:
        if e164:
            return phone == e164
        conditions = [like(name), like(email)]
        if mostly_digits:
            conditions.append(phone.contains(digits, autoescape=True))
        return sa.or_(*conditions)

    ids = sa.union(
        sa.select(Customer.id).where(matches(Customer.name, Customer.email, Customer.phone)),
        sa.select(Contact.customer_id).where(matches(Contact.name, Contact.email, Contact.phone)),
    )
    return Customer.id.in_(ids)


def one_pass_paginate(db: Any, stmt: sa.Select[Any], number: int = 1, per_page: int = 25) -> Any:
    """hub.core.pagination.paginate for customers: the page's ids first (an index-only scan over the
    sort index walks a deep offset), then only those rows. A filtered list gets its total in the
    same statement (count(*) OVER ()), so a search is scanned once rather than twice; the whole
    list keeps its separate count, which an index-only scan answers faster than a window."""
    from sqlalchemy.orm import joinedload

    from hub.core.pagination import Page
    from hub.crm.customers.models import Customer

    windowed = stmt.whereclause is not None

    def count() -> int:
        query = sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())
        return db.scalar(query) or 0

    def page_ids(n: int) -> list[Any]:
        total = sa.func.count().over() if windowed else sa.literal(None)
        ids = stmt.with_only_columns(Customer.id, total)
        return list(db.execute(ids.limit(per_page).offset((n - 1) * per_page)))

    number = max(1, number)
    total = None if windowed else count()
    if total is not None:
        number = min(number, max(1, -(-total // per_page)))
    rows = page_ids(number)
    if windowed and rows:
        total = rows[0][1]
    elif windowed:  # past the last page (or nothing matches): count, then show the last page
        total = count()
        number = max(1, -(-total // per_page))
        rows = page_ids(number) if total else []
    by_id = {
        c.id: c
        for c in db.scalars(
            sa.select(Customer)
            .where(Customer.id.in_([r[0] for r in rows]))
            .options(joinedload(Customer.owner))
        )
    }
    items = [by_id[r[0]] for r in rows]
    return Page(items=items, total=total or 0, number=number, per_page=per_page)


def eager_keyset_page(db: Any, stmt: sa.Select[Any], *args: Any, **kw: Any) -> Any:
    """hub.core.apikit.keyset_page with the customer's contacts, consents, tags, custom values and
    owner loaded in a few statements instead of several per customer."""
    from sqlalchemy.orm import joinedload, selectinload

    from hub.core.apikit import keyset_page
    from hub.crm.customers.models import Contact, Customer, CustomFieldValue

    stmt = stmt.options(
        selectinload(Customer.contacts).selectinload(Contact.consents),
        selectinload(Customer.tags),
        selectinload(Customer.custom_values).joinedload(CustomFieldValue.field),
        joinedload(Customer.owner),
    )
    return keyset_page(db, stmt, *args, **kw)


@contextmanager
def proposed_queries() -> Iterator[None]:
    """Swap the proposed query changes in for the duration of a measurement."""
    from hub.crm.customers import api
    from hub.crm.customers import lookup as customers

    swaps = [
        (customers, "search_condition", proposed_search_condition),
        (customers, "paginate", one_pass_paginate),
        (api, "keyset_page", eager_keyset_page),
    ]
    originals = [(module, name, getattr(module, name)) for module, name, _new in swaps]
    for module, name, new in swaps:
        setattr(module, name, new)
    try:
        yield
    finally:
        for module, name, old in originals:
            setattr(module, name, old)


# --- the run ------------------------------------------------------------------------------------


def sign_in(client: FlaskClient, email: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if token is None:
        raise SystemExit("no CSRF token on /login")
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if response.status_code != 302:
        raise SystemExit(f"sign-in failed: {response.status_code}")


def measure(
    app: Flask,
    client: FlaskClient,
    cases: list[Case],
    args: argparse.Namespace,
    label: str,
    report: Callable[[str], None],
) -> list[Result]:
    results = [time_case(client, case, args.repeat) for case in cases]
    floor = results[0].median
    report(f"\n## {label}\n")
    report(f"| request | median ms | p95 ms | median / floor | p95 under {TARGET_MS:.0f} ms |")
    report("|---|---:|---:|---:|---|")
    for r in results:
        ok = "yes" if r.p95 < TARGET_MS else "**no**"
        report(f"| {r.case.name} | {r.median:.1f} | {r.p95:.1f} | {r.median / floor:.1f}x | {ok} |")
    if args.explain_ms > 0:
        plans = io.StringIO()
        for r in results[1:]:
            if r.p95 >= args.explain_ms:
                profile(app, client, r.case, args.explain_ms, plans)
        if plans.getvalue():
            report("\nSlow requests: their statements, and the plans of the slow ones:")
            report(plans.getvalue())
    return results


def run(args: argparse.Namespace, report: Callable[[str], None]) -> None:
    base = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    with scratch_postgres(base) as url, tempfile.TemporaryDirectory() as instance:
        app = create_app(
            {
                "HUB_DATABASE_URL": url,
                "HUB_REDIS_URL": redis_url,
                "HUB_INSTANCE_DIR": instance,
                "HUB_SECRET_KEY": secrets.token_urlsafe(32),
            }
        )
        upgrade_database(app)
        with session_scope(app) as s:
            director = create_user(s, "director@bench.example", "director", PASSWORD)
            agents = [
                create_user(s, f"agent{i}@bench.example", "agent", PASSWORD) for i in range(20)
            ]
            s.flush()
            owners = [a.id for a in agents]
            token = create_token(s, director, "bench")
        started = time.perf_counter()
        contacts, probe = load(app, args.customers, owners)
        vacuum_analyze(app)
        report(
            f"loaded {args.customers} customers and {contacts} contacts "
            f"in {time.perf_counter() - started:.1f} s (COPY, then VACUUM ANALYZE)"
        )

        client = app.test_client()
        sign_in(client, director.email)
        bearer = {"Authorization": f"Bearer {token}"}
        deep = max(1, args.customers // 25 * 3 // 4)
        phone = national_format(probe)
        cases = [
            Case("floor: /healthz", "/healthz"),
            Case("list, page 1", "/customers"),
            Case(f"list, page {deep}", f"/customers?page={deep}"),
            Case("search by name fragment (华信)", "/customers?q=华信"),
            Case("search by name fragment (Harbor)", "/customers?q=Harbor"),
            Case(f"search by phone ({phone})", f"/customers?q={phone}"),
            Case("API list, q=华信", "/api/v1/customers?q=华信", bearer),
            Case("API list, q=phone", f"/api/v1/customers?q={phone}", bearer),
        ]
        measure(app, client, cases, args, "As built", report)
        if args.proposals:
            took = add_proposed_indexes(app)
            report(f"\n(proposed indexes built in {took:.1f} s)")
            measure(app, client, cases, args, "With the proposed indexes", report)
            with proposed_queries():
                measure(app, client, cases, args, "With the indexes and the query changes", report)
        engine_for(app).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--explain-ms",
        type=float,
        default=TARGET_MS,
        help="profile requests whose p95 is at least this slow, and EXPLAIN ANALYZE their "
        "statements over a fifth of it (0: never)",
    )
    parser.add_argument(
        "--no-proposals",
        dest="proposals",
        action="store_false",
        help="measure only the schema and queries as built",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    run(args, lambda line: print(line, flush=True))
    print(f"\ntotal run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
