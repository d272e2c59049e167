"""Inbound call benchmark: the voice webhook's latency with 1,000,000 contacts on PostgreSQL, and
the time from the webhook to the screen pop arriving on a connected Server-Sent Events client.

    python bench/voice_pop.py [--contacts 1000000] [--calls 1000]

HUB_BENCH_DATABASE_URL names a PostgreSQL server (default postgresql://postgres@127.0.0.1/test);
a scratch database is created next to it and dropped afterwards. HUB_BENCH_REDIS_URL is the Redis
for the pop events (default redis://127.0.0.1:6379/8; flushed before and after).

The hub runs in a separate process on a real port (werkzeug's threaded server, as `hub web`),
with one extra route: the floor, `POST /webhooks/bench/verify-only`, which checks the same Twilio
signature over the same URL and parameters and answers 204. Each signed request (what Twilio
sends for an inbound call: CallSid, From, To, CallStatus, Direction) goes to the real webhook and
the floor in turn, on a new connection each (as the simulator posts, so no keep-alive stall), one
at a time. The caller is a random contact of the million; every customer is owned by one of 20
agents, and only the benchmark's agent is available, so every pop goes to its open stream.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import requests
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_postgres  # noqa: E402 - bench/ is on the path when run

FLOOR = "/webhooks/bench/verify-only"
VOICE = "/webhooks/twilio/voice"
AGENTS = 20
PASSWORD = "benchmark password"  # noqa: S105 - a scratch database's user
NO_PROXY = {"http": None, "https": None}


# --- the server process ------------------------------------------------------------------------


def serve(port: int) -> None:
    """The hub with the floor route beside the real webhook, until killed."""
    from flask import Response
    from werkzeug.serving import make_server

    from hub.channels.webhooks import twilio_verified
    from hub.core.auth import public
    from hub.web.app import create_app

    app = create_app()

    @public
    def verify_only() -> Response:
        return Response(status=204 if twilio_verified() else 403)

    app.add_url_rule(FLOOR, "bench_verify_only", verify_only, methods=["POST"])
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


# --- the data ------------------------------------------------------------------------------------


def load(url: str, contacts: int) -> None:
    """Customers with four contacts each (`contacts` in all), owned by 20 agents; a benchmark
    agent who is the only one available. Generated in SQL: a million rows in seconds."""
    from hub.channels.calls.models import AgentProfile
    from hub.core.auth import create_user
    from hub.core.db import session_scope
    from hub.runtime.maintenance import upgrade_database
    from hub.web.app import create_app

    app = create_app({"HUB_DATABASE_URL": url, "HUB_INSTANCE_DIR": tempfile.mkdtemp()})
    upgrade_database(app)
    customers = contacts // 4
    with session_scope(app) as s:
        for n in range(AGENTS):
            user = create_user(s, f"agent{n}@bench.example", "agent", PASSWORD)
            s.flush()
            s.add(AgentProfile(user_id=user.id, phone=f"+86139{n:08d}", availability="away"))
        me = s.scalar(sa.select(AgentProfile).where(AgentProfile.phone == "+8613900000000"))
        me.availability = "available"
        s.execute(
            sa.text(
                "INSERT INTO customers (id, name, kind, customer_class, region, industry, "
                "owner_id, created_at, updated_at) "
                "SELECT g, 'Bench Customer ' || g, 'organization', (ARRAY['A','B','C'])[1 + g % 3],"
                " 'Henan', 'Machinery', 1 + g % :agents, now(), now() "
                "FROM generate_series(1, :n) AS g"
            ),
            {"n": customers, "agents": AGENTS},
        )
        s.execute(
            sa.text(
                "INSERT INTO contacts (customer_id, name, phone, is_decision_maker, created_at, "
                "updated_at) SELECT 1 + (g - 1) / 4, 'Contact ' || g, '+86138' || lpad(g::text, 8, '0'), "
                "g % 4 = 1, now(), now() FROM generate_series(1, :n) AS g"
            ),
            {"n": customers * 4},
        )
        s.execute(sa.text(f"SELECT setval('customers_id_seq', {customers})"))
    with session_scope(app) as s:
        s.execute(sa.text("ANALYZE customers"))
        s.execute(sa.text("ANALYZE contacts"))


# --- the client ----------------------------------------------------------------------------------


class PopListener(threading.Thread):
    """An agent's open console stream: records when each call's pop arrives."""

    def __init__(self, base: str, cookies: requests.cookies.RequestsCookieJar):
        super().__init__(daemon=True)
        self.response = requests.get(
            f"{base}/events", cookies=cookies, stream=True, proxies=NO_PROXY, timeout=(5, 600)
        )
        self.response.raise_for_status()
        self.arrived: dict[int, float] = {}
        self.ready = threading.Event()

    def run(self) -> None:
        kind = ""
        try:
            for line in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                self.ready.set()
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "call":
                    self.arrived.setdefault(json.loads(line[6:])["call_id"], time.perf_counter())
        except requests.RequestException:
            pass  # the server was stopped at the end of the run


def sign_in(base: str) -> requests.cookies.RequestsCookieJar:
    session = requests.Session()
    session.trust_env = False
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    done = session.post(
        f"{base}/login",
        data={"email": "agent0@bench.example", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code == 302, done.text
    return session.cookies


def post(url: str, params: dict[str, str], token: str) -> tuple[float, requests.Response]:
    signature = RequestValidator(token).compute_signature(url, params)
    start = time.perf_counter()
    response = requests.post(
        url,
        data=urlencode(params),
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
            "Connection": "close",
        },
        proxies=NO_PROXY,
        timeout=10,
    )
    return start, response


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(contacts: int, calls: int) -> None:
    import random

    base_db = os.environ.get("HUB_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
    port = 5300 + secrets.randbelow(500)
    base = f"http://127.0.0.1:{port}"
    instance = tempfile.mkdtemp(prefix="voicebench")
    from redis import Redis

    Redis.from_url(redis_url).flushdb()
    with scratch_postgres(base_db) as url:
        started = time.perf_counter()
        load(url, contacts)
        print(f"loaded {contacts:,} contacts in {time.perf_counter() - started:.1f} s")
        env = {
            **os.environ,
            "HUB_DATABASE_URL": url,
            "HUB_REDIS_URL": redis_url,
            "HUB_INSTANCE_DIR": instance,
            "HUB_PUBLIC_URL": base,
        }
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port)], env=env, cwd=Path(__file__).parent
        )
        try:
            for _ in range(100):
                try:
                    requests.get(f"{base}/healthz", proxies=NO_PROXY, timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            from hub.channels.credentials import load_or_create

            creds = load_or_create(Path(instance))
            listener = PopListener(base, sign_in(base))
            listener.start()
            listener.ready.wait(5)
            rng = random.Random(5)
            webhook, floor, pops = [], [], []
            for n in range(calls):
                number = f"+86138{rng.randrange(1, contacts + 1):08d}"
                params = {
                    "CallSid": "CA" + secrets.token_hex(16),
                    "AccountSid": creds.account_sid,
                    "From": number,
                    "To": creds.from_number,
                    "CallStatus": "ringing",
                    "Direction": "inbound",
                    "ApiVersion": "2010-04-01",
                }
                # Alternate which goes first, so neither always meets a warmer server.
                order = (FLOOR, VOICE) if n % 2 else (VOICE, FLOOR)
                for path in order:
                    start, response = post(base + path, params, creds.auth_token)
                    elapsed = time.perf_counter() - start
                    if path == FLOOR:
                        assert response.status_code == 204, response.status_code
                        floor.append(elapsed)
                        continue
                    assert response.status_code == 200, response.text[:300]
                    webhook.append(elapsed)
                    call_id = int(re.search(r"call=(\d+)", response.text).group(1))  # type: ignore[union-attr]
                    deadline = time.perf_counter() + 2
                    while call_id not in listener.arrived and time.perf_counter() < deadline:
                        time.sleep(0.0005)
                    if call_id in listener.arrived:
                        pops.append(listener.arrived[call_id] - start)
            report(contacts, calls, webhook, floor, pops)
        finally:
            server.terminate()
            server.wait(10)
            Redis.from_url(redis_url).flushdb()


def report(contacts: int, calls: int, webhook: list[float], floor: list[float], pops: list[float]) -> None:
    def ms(values: list[float], share: float) -> float:
        return percentile(values, share) * 1000

    print(f"\n{calls:,} inbound calls, {contacts:,} contacts on PostgreSQL")
    print(f"{'':28}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}")
    rows = [
        ("floor (verify only)", floor),
        ("voice webhook", webhook),
        ("webhook -> pop on SSE", pops),
    ]
    for name, values in rows:
        print(f"{name:28}{ms(values, .5):9.2f}{ms(values, .99):9.2f}{statistics.mean(values) * 1000:9.2f}")
    print(f"\nwebhook / floor: p50 {ms(webhook, .5) / ms(floor, .5):.2f}x, p99 {ms(webhook, .99) / ms(floor, .99):.2f}x")
    print(f"pop / floor: p50 {ms(pops, .5) / ms(floor, .5):.2f}x, p99 {ms(pops, .99) / ms(floor, .99):.2f}x")
    print(f"pops received: {len(pops)} of {calls}")
    print(f"goals: webhook p99 < 50 ms: {'met' if ms(webhook, .99) < 50 else 'MISSED'}; "
          f"pop p99 < 200 ms: {'met' if ms(pops, .99) < 200 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    run(args.contacts, args.calls)


if __name__ == "__main__":
    main()
