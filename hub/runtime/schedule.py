"""Periodic jobs, enqueued once per period however many schedulers run."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from redis import Redis
from redis.exceptions import RedisError

from hub.campaigns.care.occasions import enqueue_care
from hub.campaigns.recovery import enqueue_sweep
from hub.channels.stranded import enqueue_stranded
from hub.core import services
from hub.crm.customers.duplicates import enqueue_duplicates_job
from hub.crm.intake.import_expiry import enqueue_import_expiry
from hub.crm.sales.opportunity_pipeline import enqueue_nurture_job
from hub.insight.summaries import enqueue_refresh_all, enqueue_refresh_recent
from hub.web.system import request_worker_check

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    """A job every `every` seconds, or, with `at_hour`, once a day from that hour (local time)."""

    name: str
    every: int  # seconds; for a daily job, how long its claim is kept
    enqueue: Callable[[Redis], object]
    at_hour: int | None = None

    def slot(self, now: float, tz: ZoneInfo) -> str | None:
        """The period `now` falls in, or None when a daily job's hour has not come yet today."""
        if self.at_hour is None:
            return str(int(now // self.every))
        local = datetime.fromtimestamp(now, tz)
        return local.date().isoformat() if local.hour >= self.at_hour else None


def enqueue_morning_digests(conn: Redis) -> list[str]:
    job = services.queue("default", conn).enqueue(
        "hub.crm.followups.reminders.send_morning_digests", result_ttl=86400
    )
    return [job.id]


def enqueue_credit_events(conn: Redis) -> list[str]:
    job = services.queue("default", conn).enqueue(
        "hub.crm.sales.credit.open_overdue_events_job", result_ttl=86400
    )
    return [job.id]


PERIODIC: tuple[Periodic, ...] = (
    Periodic("worker-check", 300, request_worker_check),
    Periodic("stranded-webhooks", 120, enqueue_stranded),
    Periodic("nurture", 2 * 86400, enqueue_nurture_job, at_hour=6),
    Periodic("morning-digest", 2 * 86400, enqueue_morning_digests, at_hour=8),
    # Before the digests, so a customer long overdue has its event by the time reps look.
    Periodic("credit-events", 2 * 86400, enqueue_credit_events, at_hour=7),
    Periodic("likely-duplicates", 3600, enqueue_duplicates_job),
    Periodic("campaigns", 10, enqueue_sweep),
    Periodic("care-messages", 2 * 86400, enqueue_care, at_hour=10),
    Periodic("import-files", 2 * 86400, enqueue_import_expiry, at_hour=3),
    Periodic("insight-recent", 300, enqueue_refresh_recent),
    Periodic("insight-all", 2 * 86400, enqueue_refresh_all, at_hour=3),
)


def enqueue_due(
    conn: Redis,
    now: float | None = None,
    periodic: tuple[Periodic, ...] = PERIODIC,
    tz: ZoneInfo | None = None,
) -> list[str]:
    """Enqueue every periodic job whose current period has not been claimed yet."""
    now = time.time() if now is None else now
    tz = tz or ZoneInfo("UTC")
    ran = []
    for job in periodic:
        slot = job.slot(now, tz)
        # SET NX claims the period in Redis, so two schedulers never both enqueue it.
        if slot is not None and conn.set(
            f"hub:schedule:{job.name}:{slot}", "1", nx=True, ex=job.every * 2
        ):
            job.enqueue(conn)
            ran.append(job.name)
    return ran


def run_scheduler(conn: Redis, stop: threading.Event, tz: ZoneInfo, tick: float = 1.0) -> None:
    while not stop.is_set():
        try:
            for name in enqueue_due(conn, tz=tz):
                log.info("scheduled %s", name)
        except RedisError:
            log.exception("scheduler could not reach Redis; trying again")
        stop.wait(tick)
