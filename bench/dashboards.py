"""Dashboards benchmark on PostgreSQL: 1,000,000 customers and 10,000,000 follow-ups (with
opportunities, orders, complaints, campaign messages, suppressions, survey answers and calls in
proportion), each dashboard requested through the real app by a signed-in user.

    python bench/dashboards.py [--customers 1000000] [--follow-ups 10000000] [--repeat 15]
        [--keep-database NAME [--keep-summaries]]

HUB_BENCH_DATABASE_URL names a PostgreSQL server (default postgresql://postgres@127.0.0.1/test);
a scratch database is created next to it and dropped afterwards, or, with --keep-database NAME,
a database of that name is kept: the first run generates into it, later runs with the same sizes
reuse the data (migrations still run; the summary tables are built again unless
--keep-summaries). HUB_BENCH_REDIS_URL is the Redis
the app uses for sign-in (default redis://127.0.0.1:6379/15; nothing in it is flushed).

The data is generated inside PostgreSQL (INSERT ... SELECT over generate_series, with a fixed
random seed), which loads ten million rows in minutes rather than hours. The floor is /healthz
requested by the same client in the same run; the goal is each dashboard under 500 ms.
"""

# The generated SQL interpolates only numbers and fixed names from this file.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from customer_list import (  # noqa: E402 - bench/ is on the path when run
    PASSWORD,
    Case,
    Result,
    profile,
    sign_in,
    time_case,
    vacuum_analyze,
)
from scratch import kept_postgres, scratch_postgres  # noqa: E402

from hub.core.auth import User, create_user  # noqa: E402
from hub.core.db import engine_for, session_scope  # noqa: E402
from hub.runtime.maintenance import upgrade_database  # noqa: E402
from hub.web.app import create_app  # noqa: E402

TARGET_MS = 500.0
AGENTS = 50
DAYS = 900  # the history spans this many days back from today


def generate(app: Flask, customers: int, follow_ups: int, agent_ids: list[int],
             report: Callable[[str], None]) -> None:
    """Every table the dashboards read, filled in SQL; row counts proportional to customers."""
    agents = "(array[" + ",".join(map(str, agent_ids)) + "])"
    from hub.runtime import demo

    regions = "(array[" + ",".join(f"'{r}'" for r in demo.REGIONS) + "])"
    region_count = len(demo.REGIONS)
    n, f = customers, follow_ups
    opportunities, orders, complaints = n // 5, n // 2, n // 50
    campaigns, messages, calls = 60, n * 2, n // 2
    steps = [
        ("customers", f"""
        INSERT INTO customers (id, kind, stage, lead_source, name, company_key, match_block,
            region, industry, customer_class, owner_id, next_contact_on, next_credit_review,
            converted_at, created_at, updated_at)
        SELECT g, 'organization',
            (array['lead','prospect','customer','customer','customer','inactive'])[1 + g % 6],
            (array['website','import','referral','exhibition','call'])[1 + (g / 7) % 5],
            'Customer ' || g, 'customer ' || g, '', {regions}[1 + (g / 3) % {region_count}], '',
            CASE WHEN g % 10 < 2 THEN 'A' WHEN g % 10 < 5 THEN 'B' ELSE 'C' END,
            {agents}[1 + g % {len(agent_ids)}],
            current_date + (random() * 40)::int - 20,
            current_date + (random() * 400)::int - 30,
            CASE WHEN g % 6 = 3 THEN now() - random() * interval '{DAYS} days' END,
            t.c, t.c
        FROM generate_series(1, {n}) g,
            LATERAL (SELECT now() - (random() * {DAYS}) * interval '1 day' + g * interval '0'
                     AS c) t
        """),
        ("follow_ups", f"""
        INSERT INTO follow_ups (customer_id, user_id, channel, direction, occurred_at, summary,
            created_at)
        SELECT 1 + (random() * ({n} - 1))::int, a[1 + g % array_length(a, 1)],
            (array['call','call','sms','email','visit','note','system'])[1 + g % 7],
            'outbound', t.at, '', t.at
        FROM generate_series(1, {f}) g, (SELECT {agents} AS a) s,
            LATERAL (SELECT now() - (random() * {DAYS}) * interval '1 day' + g * interval '0'
                     AS at) t
        """),
        ("opportunities", f"""
        INSERT INTO opportunities (customer_id, title, stage, amount, currency, expected_close,
            owner_id, lost_reason, closed_at, created_at, updated_at)
        SELECT c, 'Deal ' || g, st, (random() * 500000)::numeric(14, 2), 'CNY',
            current_date + (random() * 200)::int - 30, a[1 + g % array_length(a, 1)],
            CASE WHEN st = 'lost' THEN (array['Price','Timing','Competitor','No budget'])[1 + g % 4]
            END,
            CASE WHEN st IN ('won', 'lost') THEN now() - random() * interval '{DAYS} days' END,
            now() - random() * interval '{DAYS} days', now()
        FROM generate_series(1, {opportunities}) g, (SELECT {agents} AS a) s,
            LATERAL (SELECT 1 + (random() * ({n} - 1))::int + g * 0 AS c,
                (array['new','qualified','proposal','negotiation','won','lost'])[1 + g % 6] AS st) t
        """),
        ("orders", f"""
        INSERT INTO orders (customer_id, contract_number, status, currency, amount, order_date,
            created_at, updated_at)
        SELECT 1 + (power(random(), 3) * ({n} - 1))::int, 'B-' || g,
            (array['delivered','delivered','delivered','shipped','confirmed','cancelled'])[1 + g % 6],
            'CNY', (random() * 100000)::numeric(14, 2),
            current_date - (random() * {DAYS})::int, now(), now()
        FROM generate_series(1, {orders}) g
        """),
        ("complaints", f"""
        INSERT INTO complaints (customer_id, owner_id, channel, content, step, step_due_at,
            received_at, created_at, updated_at)
        SELECT 1 + (random() * ({n} - 1))::int, a[1 + g % array_length(a, 1)], 'call', 'x',
            (array['received','confirmed','assessed','negotiated','resolved','followed_up',
                   'followed_up','followed_up'])[1 + g % 8],
            now() + (random() * 10 - 5) * interval '1 day', t.at, t.at, t.at
        FROM generate_series(1, {complaints}) g, (SELECT {agents} AS a) s,
            LATERAL (SELECT now() - (random() * 200) * interval '1 day' + g * interval '0' AS at) t
        """),
        ("campaigns", f"""
        INSERT INTO segments (name, definition, created_at, updated_at)
            VALUES ('bench', '{{"all": []}}', now(), now());
        INSERT INTO message_templates (name, channel, body, created_at, updated_at)
            VALUES ('bench sms', 'sms', 'Hi', now(), now()), ('bench email', 'email', 'Hi', now(), now());
        INSERT INTO campaigns (name, channel, segment_id, template_id, state, rate, quiet_start,
            quiet_end, planned_through, launched_at, created_at, updated_at)
        SELECT 'Campaign ' || g, ch, 1, CASE ch WHEN 'sms' THEN 1 ELSE 2 END, 'completed', 10,
            1260, 480, 0, now() - (g * {DAYS} / {campaigns}) * interval '1 day', now(), now()
        FROM generate_series(1, {campaigns}) g,
            LATERAL (SELECT (array['sms','email'])[1 + g % 2] AS ch) t
        """),
        ("messages", f"""
        INSERT INTO messages (channel, direction, customer_id, user_id, to_address, from_address,
            body, status, provider_id, campaign_id, created_at, sent_at, attempts, quiet_wait)
        SELECT CASE WHEN k % 2 = 0 THEN 'sms' ELSE 'email' END, 'outbound',
            1 + (random() * ({n} - 1))::int, NULL, 'addr' || g, '', '',
            (array['delivered','delivered','delivered','opened','opened','clicked','bounced',
                   'failed'])[1 + g % 8],
            'P' || g, k, t.at, t.at, 1, false
        FROM generate_series(1, {messages}) g,
            LATERAL (SELECT 1 + g % {campaigns} AS k) kk,
            LATERAL (SELECT now() - ((1 + g % {campaigns}) * {DAYS} / {campaigns}) * interval '1 day'
                     + random() * interval '2 hours' AS at) t
        """),
        ("replies", """
        INSERT INTO messages (channel, direction, customer_id, to_address, from_address, body,
            status, in_reply_to_id, created_at, attempts, quiet_wait)
        SELECT channel, 'inbound', customer_id, 'hub', to_address, 'thanks', 'received', id,
            sent_at + interval '1 hour', 0, false
        FROM messages WHERE id % 50 = 0
        """),
        ("suppressions", """
        INSERT INTO suppressions (channel, address, reason, source, created_at)
        SELECT channel, to_address,
            (array['stop','unsubscribe','bounce','spamreport','manual'])[1 + (id / 100) % 5],
            'bench', sent_at + interval '2 hours'
        FROM messages WHERE id % 40 = 1 AND direction = 'outbound'
        """),
        ("survey_responses", """
        INSERT INTO survey_responses (message_id, campaign_id, customer_id, kind, score, channel,
            answered_at)
        SELECT id, campaign_id, customer_id, 'nps', (random() * 10)::int, channel,
            sent_at + interval '1 day'
        FROM messages WHERE id % 20 = 7 AND direction = 'outbound'
        """),
        ("calls", f"""
        INSERT INTO calls (sid, direction, customer_id, agent_id, offered_to, customer_number,
            hub_number, status, created_at, answered_at)
        SELECT 'CA' || g, 'outbound', 1 + (random() * ({n} - 1))::int,
            a[1 + g % array_length(a, 1)], '[]', '+8613800000000', '', 'completed', t.at,
            CASE WHEN g % 3 > 0 THEN t.at END
        FROM generate_series(1, {calls}) g, (SELECT {agents} AS a) s,
            LATERAL (SELECT now() - (random() * {DAYS}) * interval '1 day' + g * interval '0'
                     AS at) t
        """),
        ("one-to-one messages", f"""
        INSERT INTO messages (channel, direction, customer_id, user_id, to_address, from_address,
            body, status, provider_id, created_at, sent_at, attempts, quiet_wait)
        SELECT 'sms', 'outbound', 1 + (random() * ({n} - 1))::int, a[1 + g % array_length(a, 1)],
            'one' || g, '', '', 'delivered', 'Q' || g, t.at, t.at, 1, false
        FROM generate_series(1, {n // 5}) g, (SELECT {agents} AS a) s,
            LATERAL (SELECT now() - (random() * {DAYS}) * interval '1 day' + g * interval '0'
                     AS at) t
        """),
    ]
    raw = engine_for(app).raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT setseed(0.42)")
        # Ten million rows load several times faster without their indexes; built again below.
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('follow_ups', 'messages') AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'"
        )
        indexes = cur.fetchall()
        for index_name, _definition in indexes:
            cur.execute(f'DROP INDEX "{index_name}"')
        raw.commit()
        for name, sql in steps:
            started = time.perf_counter()
            for statement in sql.split(";\n"):
                if statement.strip():
                    cur.execute(statement)
            raw.commit()
            report(f"- {name}: {cur.rowcount:,} rows in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        raw.commit()
        report(f"- indexes of follow_ups and messages built in {time.perf_counter() - started:.1f} s")
        for table in ("customers", "follow_ups", "opportunities", "orders", "complaints",
                      "messages", "suppressions", "survey_responses", "calls", "campaigns",
                      "segments", "message_templates"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table}))")
        raw.commit()
    finally:
        raw.close()


def measure(app: Flask, cases: list[tuple[Case, object]], repeat: int, explain_ms: float,
            label: str, report: Callable[[str], None]) -> list[Result]:
    results = [time_case(client, case, repeat) for case, client in cases]
    floor = results[0].median
    report(f"\n## {label}\n")
    report(f"| request | median ms | p95 ms | median / floor | p95 under {TARGET_MS:.0f} ms |")
    report("|---|---:|---:|---:|---|")
    for r in results:
        ok = "yes" if r.p95 < TARGET_MS else "**no**"
        report(f"| {r.case.name} | {r.median:.1f} | {r.p95:.1f} | {r.median / floor:.1f}x | {ok} |")
    if explain_ms > 0:
        plans = io.StringIO()
        for r, (case, client) in zip(results[1:], cases[1:], strict=True):
            if r.p95 >= explain_ms:
                profile(app, client, case, explain_ms, plans)
        if plans.getvalue():
            report("\nSlow requests: their statements, and the plans of the slow ones:")
            report(plans.getvalue())
    return results


def run(args: argparse.Namespace, report: Callable[[str], None]) -> None:
    base = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    if args.keep_database:
        database = kept_postgres(base, args.keep_database)
    else:
        database = _fresh(scratch_postgres(base))
    with database as (url, existed), tempfile.TemporaryDirectory() as instance:
        app = create_app({
            "HUB_DATABASE_URL": url,
            "HUB_REDIS_URL": redis_url,
            "HUB_INSTANCE_DIR": instance,
            "HUB_SECRET_KEY": secrets.token_urlsafe(32),
        })
        upgrade_database(app)
        reused = existed and _generated_sizes(app) == (args.customers, args.follow_ups)
        if existed and not reused:
            raise SystemExit(f"database {args.keep_database} holds no finished bench data of "
                             "these sizes; drop it or name another")
        if reused:
            report(f"reusing the data in {args.keep_database} ({args.customers:,} customers, "
                   f"{args.follow_ups:,} follow-ups)")
        else:
            with session_scope(app) as s:
                create_user(s, "director@bench.example", "director", PASSWORD)
                create_user(s, "specialist@bench.example", "specialist", PASSWORD)
                for i in range(AGENTS):
                    create_user(s, f"agent{i}@bench.example", "agent", PASSWORD)
            with session_scope(app) as s:
                agent_ids = list(s.scalars(
                    sa.select(User.id).where(User.role == "agent").order_by(User.id)))
            started = time.perf_counter()
            generate(app, args.customers, args.follow_ups, agent_ids, report)
            vacuum_analyze(app)
            report(f"generated in {time.perf_counter() - started:.0f} s (then VACUUM ANALYZE)")
            _mark_generated(app, args.customers, args.follow_ups)
        if args.summaries and not (reused and args.keep_summaries):
            from hub.insight import summaries

            started = time.perf_counter()
            with app.app_context(), session_scope(app) as s:
                summaries.refresh_all(s, ZoneInfo(app.config["SETTINGS"].timezone))
            vacuum_analyze(app)
            report(f"summary tables built in {time.perf_counter() - started:.1f} s")

        emails = ["director@bench.example", "specialist@bench.example", "agent0@bench.example"]
        d, sp, ag = (app.test_client() for _email in emails)
        for client, email in zip((d, sp, ag), emails, strict=True):
            sign_in(client, email)
        cases = [
            (Case("floor: /healthz", "/healthz"), d),
            (Case("director dashboard (last 90 days)", "/insight/director"), d),
            (Case("director dashboard, class A in one region",
                  "/insight/director?class=A&region=" + _first_region()), d),
            (Case("director dashboard, one year", "/insight/director?start="
                  + _days_ago(364)), d),
            (Case("specialist dashboard (last 90 days)", "/insight/specialist"), sp),
            (Case("specialist dashboard, SMS", "/insight/specialist?channel=sms"), sp),
            (Case("agent dashboard (last 90 days)", "/insight/agent"), ag),
            (Case("one CSV: follow-ups per rep", "/insight/director/follow_ups_rep.csv"), d),
        ]
        measure(app, cases, args.repeat, args.explain_ms, "As built", report)
        engine_for(app).dispose()


@contextmanager
def _fresh(scratch: AbstractContextManager[str]) -> Iterator[tuple[str, bool]]:
    with scratch as url:
        yield url, False


def _generated_sizes(app: Flask) -> tuple[int, int] | None:
    """The sizes a finished generation recorded in this database, if any."""
    with engine_for(app).connect() as conn:
        if not sa.inspect(conn).has_table("bench_generated"):
            return None
        row = conn.execute(sa.text("SELECT customers, follow_ups FROM bench_generated")).first()
    return (row[0], row[1]) if row else None


def _mark_generated(app: Flask, customers: int, follow_ups: int) -> None:
    # Written last, so an interrupted generation is never taken for a finished one.
    with engine_for(app).begin() as conn:
        conn.execute(sa.text("CREATE TABLE bench_generated (customers bigint, follow_ups bigint, "
                             "generated_at timestamptz DEFAULT now())"))
        conn.execute(sa.text("INSERT INTO bench_generated (customers, follow_ups) VALUES (:c, :f)"),
                     {"c": customers, "f": follow_ups})


def _first_region() -> str:
    from urllib.parse import quote

    from hub.runtime import demo

    return quote(demo.REGIONS[0])


def _days_ago(days: int) -> str:
    from datetime import date, timedelta

    return (date.today() - timedelta(days=days)).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--follow-ups", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--explain-ms", type=float, default=TARGET_MS,
                        help="profile requests whose p95 is at least this slow (0: never)")
    parser.add_argument("--keep-database", metavar="NAME",
                        help="generate into this database and keep it; reuse it when it holds "
                             "data of the same sizes")
    parser.add_argument("--keep-summaries", action="store_true",
                        help="with reused data, do not build the summary tables again")
    parser.add_argument("--no-summaries", dest="summaries", action="store_false",
                        help="measure without building the summary tables (empty dashboards)")
    args = parser.parse_args()
    started = time.perf_counter()
    run(args, lambda line: print(line, flush=True))
    print(f"\ntotal run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
