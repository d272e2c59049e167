"""Periodic jobs, enqueued once per period however many schedulers run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from hub.system import request_worker_check

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: int  # seconds
    enqueue: Callable[[Redis], object]


PERIODIC: tuple[Periodic, ...] = (Periodic("worker-check", 300, request_worker_check),)


def enqueue_due(
    conn: Redis, now: float | None = None, periodic: tuple[Periodic, ...] = PERIODIC
) -> list[str]:
    """Enqueue every periodic job whose current period has not been claimed yet."""
    now = time.time() if now is None else now
    ran = []
    for job in periodic:
        slot = int(now // job.every)
        # SET NX claims the period in Redis, so two schedulers never both enqueue it.
        if conn.set(f"hub:schedule:{job.name}:{slot}", "1", nx=True, ex=job.every * 2):
            job.enqueue(conn)
            ran.append(job.name)
    return ran


def run_scheduler(conn: Redis, stop: threading.Event, tick: float = 1.0) -> None:
    while not stop.is_set():
        try:
            for name in enqueue_due(conn):
                log.info("scheduled %s", name)
        except RedisError:
            log.exception("scheduler could not reach Redis; trying again")
        stop.wait(tick)
