"""`hub up` on the embedded defaults (SQLite, the embedded Redis, the simulator) killed with SIGKILL,
every process of it at once, in the middle of a campaign, and started again: the campaign resumes
and completes, each recipient sent exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from hub.core import db as hubdb
from hub.core.db import session_scope
from hub.simulator.store import read_request_log
from hub.web.app import create_app
from tests.campaign_helpers import bulk_contacts
from tests.conftest import PATIENCE, free_port
from tests.test_up import _api as _up_api
from tests.test_up import _clean_env, _descendants, _get

pytestmark = pytest.mark.slow

RECIPIENTS = 600


def _api(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    """Patient: on SQLite the web server also takes every delivery callback while it sends."""
    return _up_api(base, token, method, path, body, timeout=60)


def _up(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**_clean_env(home), "HUB_CAMPAIGN_LEASE": "10", "HUB_PROVIDER_TIMEOUT": "1"}
    # Its log to a file: a pipe nobody reads fills up and stops every thread that logs.
    with open(home / "up.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "up", "--port", str(port)],
            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (home / "up.log").read_text()
        try:
            if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("hub up did not become healthy within 60 s")


def _kill_everything(proc: subprocess.Popen[bytes], home: Path) -> None:
    """SIGKILL to every process of it (web, worker, scheduler, embedded Redis), no goodbyes. The
    processes are left as they fall: unreaped (zombies), and the embedded Redis's file stays."""
    pids = _descendants(proc.pid) | {proc.pid}
    try:
        pids.add(int(json.loads((home / "instance" / "embedded-redis.json").read_text())["pid"]))
    except (OSError, ValueError, KeyError):
        pass
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=PATIENCE)


def test_hub_up_killed_mid_campaign_resumes_and_completes(tmp_path):
    home, port = tmp_path, free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _up(home, port)
    try:
        made = subprocess.run(
            [sys.executable, "-m", "hub", "tokens", "create", "--user", "admin@contact-hub.example"],
            cwd=home, env=_clean_env(home), capture_output=True, text=True, timeout=60,
        )
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        app = create_app({"HUB_INSTANCE_DIR": str(home / "instance")})
        with session_scope(app) as s:
            bulk_contacts(s, RECIPIENTS, "sms")
        hubdb.engine_for(app).dispose()
        segment = _api(base, token, "POST", "/segments", {
            "name": "Everyone", "match": "all", "rules": [{"field": "contact_phone", "op": "not_empty"}]})
        template = _api(base, token, "POST", "/templates", {
            "name": "Launch", "channel": "sms", "body": "Hello {{ contact.name }}, our spring range is out."})
        campaign = _api(base, token, "POST", "/campaigns", {
            "name": "Spring", "channel": "sms", "segment_id": segment["id"],
            "template_id": template["id"], "rate": 40, "quiet_start": "00:00", "quiet_end": "00:00"})
        _api(base, token, "POST", f"/campaigns/{campaign['id']}/launch")
        deadline = time.monotonic() + 120
        sent = 0
        while time.monotonic() < deadline:
            sent = _api(base, token, "GET", f"/campaigns/{campaign['id']}")["counts"]["sent"]
            if sent >= 100:
                break
            time.sleep(0.2)
        assert 100 <= sent < RECIPIENTS, f"not caught mid-campaign: {sent} sent"
    finally:
        _kill_everything(proc, home)

    proc = _up(home, port)  # the same folder, as an operator would after a crash
    try:
        deadline = time.monotonic() + 180
        state = None
        while time.monotonic() < deadline:
            shown = _api(base, token, "GET", f"/campaigns/{campaign['id']}")
            state = shown["state"]
            if state == "completed":
                break
            time.sleep(0.5)
        assert state == "completed", shown
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=PATIENCE)

    counts = shown["counts"]
    assert counts["planned"] == RECIPIENTS and counts["sent"] == RECIPIENTS, counts
    assert counts["failed"] == 0 and counts["pending"] == 0 and counts["sending"] == 0, counts
    requests = Counter(
        r["body"]["To"] for r in read_request_log(home / "instance" / "simulator" / "requests.jsonl")
        if r.get("kind") == "message"
    )
    assert len(requests) == RECIPIENTS and set(requests.values()) == {1}, Counter(requests.values())
