"""`hub up` on embedded defaults, in a clean environment, as a newcomer runs it."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PATIENCE, free_port

pytestmark = pytest.mark.slow


def _clean_env(home: Path) -> dict[str, str]:
    # Nothing of ours: no HUB_*, no provider settings; the way a fresh shell looks.
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    for key in ("VIRTUAL_ENV", "PYTHONPATH", "SYSTEMROOT"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def _start_up(home: Path, port: int, *options: str) -> subprocess.Popen[str]:
    """`hub up` in `home` on `port`, its output (both streams) in one pipe, in a session of its
    own so that a test can signal the whole process tree."""
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "up", "--port", str(port), *options],
        cwd=home,
        env=_clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found |= {child} | _descendants(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _api(
    base: str, token: str, method: str, path: str, body: dict | None = None, timeout: float = 10
) -> dict:
    request = urllib.request.Request(
        base + "/api/v1" + path,
        method=method,
        data=json.dumps(body).encode() if body else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def _sms_and_email_come_back_delivered(base: str, home: Path, sim: str) -> None:
    """Through the running hub: its worker sends with the real SDKs to the simulator, whose signed
    callbacks come back to the web server and are applied by the worker."""
    made = subprocess.run(
        [sys.executable, "-m", "hub", "tokens", "create", "--user", "admin@contact-hub.example"],
        cwd=home,
        env=_clean_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    customer = _api(
        base,
        token,
        "POST",
        "/customers",
        {
            "name": "Up Co",
            "contacts": [{"name": "Li", "phone": "138 0013 8000", "email": "li@example.com"}],
        },
    )
    contact_id = customer["contacts"][0]["id"]
    ids = [
        _api(
            base,
            token,
            "POST",
            "/messages",
            {"contact_id": contact_id, "channel": "sms", "body": "hi"},
        )["id"],
        _api(
            base,
            token,
            "POST",
            "/messages",
            {"contact_id": contact_id, "channel": "email", "body": "hi", "subject": "Hello"},
        )["id"],
    ]
    deadline = time.monotonic() + PATIENCE
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [_api(base, token, "GET", f"/messages/{i}")["status"] for i in ids]
        if statuses == ["delivered", "delivered"]:
            break
        time.sleep(0.3)
    assert statuses == ["delivered", "delivered"]
    recorded = json.loads(_get(sim + "/sim/requests")[1])
    assert {r["provider"] for r in recorded} >= {"twilio", "sendgrid"}


def test_hub_up_runs_everything_and_stops_cleanly_on_sigint(tmp_path):
    port = free_port()
    proc = _start_up(tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + PATIENCE
        status = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read()
            try:
                status, body = _get(base + "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert status == 200, "no healthy /healthz within 30 s"
        assert json.loads(body)["checks"] == {"database": "ok", "redis": "ok"}

        assert "<h1>Sign in</h1>" in _get(base + "/login")[1]
        assert "<h1>登录</h1>" in _get(base + "/login", {"Accept-Language": "zh-CN"})[1]
        assert (tmp_path / "instance" / "hub.sqlite3").exists()
        # No provider credentials: the simulator stands in, with credentials the hub shares.
        sim = json.loads((tmp_path / "instance" / "simulator" / "url.json").read_text())["url"]
        status, requests_seen = _get(sim + "/sim/requests")
        assert status == 200 and json.loads(requests_seen) == []
        assert (
            tmp_path / "instance" / "simulator" / "credentials.json"
        ).stat().st_mode & 0o777 == 0o600
        _sms_and_email_come_back_delivered(base, tmp_path, sim)
        assert (tmp_path / "instance" / "redis").is_dir()
        children = _descendants(proc.pid)
        assert len(children) >= 3  # embedded Redis (wrapper and server) and a worker
    finally:
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out, _ = proc.communicate(timeout=15)
        took = time.monotonic() - started
    assert took < 10, f"took {took:.1f}s to stop"
    banner = _banner_before_stopping(out)
    assert "Contact Hub is running at " + base in banner
    assert "First start: sign in as admin@contact-hub.example" in banner
    assert re.search(r"with the one-time password \S{12,}", banner)
    assert "the provider simulator stands in" in banner
    # The libraries' INFO chatter (migrations, RQ's job lines, each request) stays out.
    assert not re.search(r" INFO (alembic|rq|werkzeug|valkey)", out), out
    assert "Stopped." in out
    assert "Traceback" not in out, out
    leftovers = [pid for pid in children if _alive(pid)]
    assert leftovers == [], out


def _banner_before_stopping(out: str) -> str:
    """The framed block, which must be the last thing printed before Ctrl-C's 'Stopping...'."""
    before = out.split("Stopping Contact Hub...")[0].rstrip("\n").splitlines()
    assert before and before[-1].startswith("╚") and before[-1].endswith("╝"), out
    top = max(i for i, line in enumerate(before) if line.startswith("╔"))
    box = before[top:]
    assert all(line.startswith("║") and line.endswith("║") for line in box[1:-1]), out
    assert len({len(line) for line in box}) == 1, out  # a closed frame, every line as wide
    return "\n".join(box)


def test_hub_up_verbose_shows_the_libraries_logs_and_still_ends_with_the_banner(tmp_path):
    port = free_port()
    proc = _start_up(tmp_path, port, "--verbose")
    base = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + PATIENCE
        status = None
        while time.monotonic() < deadline and status != 200:
            assert proc.poll() is None, "".join(lines)
            try:
                status = _get(base + "/healthz")[0]
            except OSError:
                time.sleep(0.3)
        assert status == 200, "no healthy /healthz within 30 s"
        while time.monotonic() < deadline and not any(line.startswith("╚") for line in lines):
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=PATIENCE)
        reader.join(timeout=5)
    out = "".join(lines)
    assert "First start: sign in as admin@contact-hub.example" in out
    for chatter in (" INFO alembic.runtime.migration: Running upgrade", " INFO rq.worker: ",
                    " INFO werkzeug: ", "GET /healthz"):
        assert chatter in out, (chatter, out)
    banner_at = out.index("╔")
    assert out.index("Running upgrade") < banner_at
    assert out.index("*** Listening on") < banner_at  # the worker was up before the banner


def test_embedded_redis_keeps_queued_work_across_a_restart(tmp_path):
    from redis import Redis

    env = {**_clean_env(tmp_path), "HUB_INSTANCE_DIR": str(tmp_path / "instance")}
    url_file = tmp_path / "instance" / "embedded-redis.json"

    def start() -> tuple[subprocess.Popen, Redis]:
        proc = subprocess.Popen([sys.executable, "-m", "hub", "redis"], env=env)
        deadline = time.monotonic() + PATIENCE
        while not url_file.exists():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        return proc, Redis.from_url(json.loads(url_file.read_text())["url"])

    proc, conn = start()
    conn.rpush("rq:queue:default", "job-1", "job-2")
    conn.close()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=PATIENCE) == 0
    assert not url_file.exists()

    proc, conn = start()
    try:
        assert conn.lrange("rq:queue:default", 0, -1) == [b"job-1", b"job-2"]
    finally:
        conn.close()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=PATIENCE)


def test_a_second_hub_up_on_the_same_instance_is_refused(tmp_path):
    env = {**_clean_env(tmp_path), "HUB_INSTANCE_DIR": str(tmp_path / "instance")}
    first = subprocess.Popen([sys.executable, "-m", "hub", "redis"], env=env)
    try:
        deadline = time.monotonic() + PATIENCE
        while not (tmp_path / "instance" / "embedded-redis.json").exists():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "-m", "hub", "up", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0
        assert "another hub already runs" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=PATIENCE)


def test_a_busy_port_is_reported(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "hub", "up", "--port", str(port)],
            cwd=tmp_path,
            env=_clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert f"Port {port} is in use by another program" in done.stderr
    assert "Traceback" not in done.stderr
