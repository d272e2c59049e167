"""`hub up`: embedded Redis, the database, workers, the scheduler and the web server in one command."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

import click
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from werkzeug.serving import BaseWSGIServer, make_server

from hub.channels.credentials import load_or_create
from hub.core import services
from hub.core.clock import business_zone
from hub.core.config import Settings, load_settings
from hub.core.services import RedisNotConfigured, embedded_url_file, resolve_redis_url
from hub.runtime.maintenance import FIRST_ADMIN_EMAIL, ensure_admin, upgrade_database
from hub.runtime.schedule import enqueue_due
from hub.simulator.server import ProviderSimulator
from hub.web.app import create_app

log = logging.getLogger(__name__)
WORKER_GRACE = (
    6.0  # seconds a worker gets to finish its job on shutdown; the whole stop stays < 10 s
)
WORKER_START = 30.0  # seconds the banner waits for the workers to be listening


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    # A session of their own: a terminal's Ctrl-C reaches only `hub up`, which stops the children
    # in order (workers before the Redis they talk to). --parent-pid makes them follow us if we die.
    return subprocess.Popen(
        [sys.executable, "-m", "hub", *args, "--parent-pid", str(os.getpid())],
        start_new_session=True,
    )


def _start_embedded_redis(settings: Settings) -> subprocess.Popen[bytes]:
    url_file = embedded_url_file(settings.instance_dir)
    try:
        resolve_redis_url(None, settings.instance_dir)
    except RedisNotConfigured:  # not running: the expected case
        url_file.unlink(missing_ok=True)
    else:
        info = json.loads(url_file.read_text())
        raise click.ClickException(
            f"another hub already runs on {settings.instance_dir} (embedded Redis pid {info['pid']}); "
            "stop it first, or give this one its own HUB_INSTANCE_DIR"
        )
    proc = _spawn("redis")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(
                "the embedded Redis server did not start; see "
                f"{settings.instance_dir / 'redis' / 'valkey.log'}"
            )
        if url_file.exists():
            return proc
        time.sleep(0.1)
    proc.kill()
    raise click.ClickException("the embedded Redis server did not start within 30 s")


def _start_simulator(settings: Settings) -> ProviderSimulator | None:
    """The provider simulator, in this process, when neither Twilio nor SendGrid is configured."""
    if settings.twilio_account_sid or settings.sendgrid_api_key:
        return None
    sim = ProviderSimulator(
        settings.instance_dir / "simulator",
        load_or_create(settings.instance_dir),
        hub_url=settings.public_url,
    )
    sim.start()
    return sim


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def banner(lines: list[str]) -> str:
    """The lines in a double-ruled box, so the address and the first password stand out."""
    width = max(len(line) for line in lines)
    rule = "═" * (width + 2)
    body = [f"║ {line.ljust(width)} ║" for line in lines]
    return "\n".join([f"╔{rule}╗", *body, f"╚{rule}╝"])


def _wait_for_workers(
    conn: Redis, children: list[subprocess.Popen[bytes]], stop: threading.Event
) -> bool:
    """Whether every worker started registered with RQ (it is listening) within WORKER_START."""
    deadline = time.monotonic() + WORKER_START
    wanted = {child.pid for child in children}
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            if wanted <= {w.pid for w in Worker.all(connection=conn)}:
                return True
        except RedisError:
            pass  # the embedded server still loading its append-only file
        if any(child.poll() is not None for child in children):
            return False
        stop.wait(0.2)
    return False


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def run_up(host: str, port: int, workers: int, verbose: bool = False) -> None:
    """Run the whole hub from this process until Ctrl-C or SIGTERM, then stop it in order."""
    port = port or _free_port(host)
    _default_public_url(host, port)
    settings = load_settings()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    app: Flask = create_app()
    server = _listen(host, port, app)

    upgrade_database(app)
    admin_password = ensure_admin(app)

    children: list[subprocess.Popen[bytes]] = []
    redis_proc = _start_embedded_redis(settings) if not settings.redis_url else None
    simulator = _start_simulator(settings)
    stop = threading.Event()
    _stop_on_signals(stop, children, redis_proc)
    web = threading.Thread(target=server.serve_forever, name="web", daemon=True)
    worker_args = ("worker", "--verbose") if verbose else ("worker",)
    try:
        children.extend(_spawn(*worker_args) for _ in range(workers))
        web.start()
        conn = services.redis(app)
        # The banner comes last, once the workers listen: what a newcomer needs is not lost
        # among the start-up lines.
        if not _wait_for_workers(conn, children, stop) and not stop.is_set():
            click.echo(
                f"the workers did not start within {WORKER_START:.0f} s; jobs wait until they do",
                err=True,
            )
        url = f"http://{host}:{server.server_port}"
        if not stop.is_set():
            click.echo(banner(_banner_lines(url, settings, simulator, admin_password)))
        with app.app_context():
            tz = business_zone()
        _supervise(conn, tz, stop, redis_proc, children)
    finally:
        _shut_down(server, web, children, simulator, redis_proc)


def _default_public_url(host: str, port: int) -> None:
    if not os.environ.get("HUB_PUBLIC_URL"):
        # Provider callbacks (the simulator's, on this machine) need an address to come back to;
        # the workers inherit it.
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - only shown
        os.environ["HUB_PUBLIC_URL"] = f"http://{shown}:{port}"


def _listen(host: str, port: int, app: Flask) -> BaseWSGIServer:
    try:
        return make_server(host, port, app, threaded=True)
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port"
        ) from exc


def _stop_on_signals(
    stop: threading.Event,
    children: list[subprocess.Popen[bytes]],
    redis_proc: subprocess.Popen[bytes] | None,
) -> None:
    """SIGINT and SIGTERM set `stop`; a second one kills the children (those started later too)."""
    signals = {"count": 0}

    def _on_signal(signum: int, _frame: object) -> None:
        signals["count"] += 1
        stop.set()
        if signals["count"] > 1:  # a second Ctrl-C: no more waiting
            for child in children + ([redis_proc] if redis_proc else []):
                if child.poll() is None:
                    child.kill()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def _banner_lines(
    url: str,
    settings: Settings,
    simulator: ProviderSimulator | None,
    admin_password: str | None,
) -> list[str]:
    lines = [f"Contact Hub is running at {url}", f"Data in {settings.instance_dir}"]
    if simulator is not None:
        lines.append(
            f"No provider credentials: the provider simulator stands in at {simulator.url}"
        )
    if admin_password:
        lines += [
            f"First start: sign in as {FIRST_ADMIN_EMAIL}",
            f"with the one-time password {admin_password}",
            "(you choose your own password at that first sign-in)",
        ]
    lines.append("Ctrl-C stops it.")
    return lines


def _supervise(
    conn: Redis,
    tz: ZoneInfo,
    stop: threading.Event,
    redis_proc: subprocess.Popen[bytes] | None,
    children: list[subprocess.Popen[bytes]],
) -> None:
    """Until stopped: the periodic jobs enqueued when due, a worker that exits replaced; the
    embedded Redis stopping ends it all."""
    last_schedule = 0.0
    while not stop.wait(0.5):
        if time.monotonic() - last_schedule >= 1.0:
            last_schedule = time.monotonic()
            try:
                enqueue_due(conn, tz=tz)
            except Exception:  # Redis restarting: the next tick tries again
                log.exception("scheduler tick failed")
        if redis_proc is not None and redis_proc.poll() is not None:
            click.echo("the embedded Redis server stopped; shutting down", err=True)
            return
        for i, child in enumerate(children):
            if child.poll() is not None:
                click.echo(f"a worker exited ({child.returncode}); starting another", err=True)
                children[i] = _spawn("worker")


def _shut_down(
    server: BaseWSGIServer,
    web: threading.Thread,
    children: list[subprocess.Popen[bytes]],
    simulator: ProviderSimulator | None,
    redis_proc: subprocess.Popen[bytes] | None,
) -> None:
    """Web first, then the workers together (each given WORKER_GRACE), the Redis they use last."""
    click.echo("Stopping Contact Hub...")
    if web.is_alive():
        server.shutdown()
    server.server_close()
    threads = [threading.Thread(target=_stop, args=(c, WORKER_GRACE)) for c in children]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if simulator is not None:
        simulator.stop()
    if redis_proc is not None:
        _stop(redis_proc, 3.0)
    click.echo("Stopped.")
