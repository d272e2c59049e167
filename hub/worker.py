"""The RQ worker: the hub's queues, JSON job payloads, every job inside the app context."""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask
from rq import Worker
from rq.serializers import JSONSerializer
from sqlalchemy.orm import configure_mappers

from hub import services
from hub.logs import library_level
from hub.services import QUEUE_NAMES

log = logging.getLogger(__name__)


class HubWorker(Worker):
    """RQ's worker, whose stop never waits a minute for its pub/sub thread."""

    def unsubscribe(self) -> None:
        # RQ unsubscribes, then stops its pub/sub thread (redis-py's stop() joins it from 8.2).
        # A thread that read the unsubscribe reply before stop() cleared its running flag goes
        # back to wait up to RQ's sleep_time (60 s) for a subscription that never comes, and the
        # join waits with it: every burst run in the tests, every hub worker's shut down. With
        # the flag cleared first the thread ends on that reply.
        running = getattr(self.pubsub_thread, "_running", None)
        if isinstance(running, threading.Event):
            running.clear()
        super().unsubscribe()


def run_worker(
    app: Flask, queue_names: list[str], burst: bool = False, with_scheduler: bool = True
) -> bool:
    """Work the named queues; returns whether any job ran. Raises ValueError on an unknown queue."""
    unknown = [n for n in queue_names if n not in QUEUE_NAMES]
    if unknown or not queue_names:
        raise ValueError(
            f"unknown queue {', '.join(unknown) or '(none given)'}; "
            f"the queues are {', '.join(QUEUE_NAMES)}"
        )
    conn = services.redis(app)
    # Mappers configured once here, not again in every work horse RQ forks for a job.
    configure_mappers()
    # Pushed before the work horse forks, so each job inherits it and can open its own session.
    with app.app_context():
        w = HubWorker(
            [services.queue(n, conn) for n in queue_names],
            connection=conn,
            serializer=JSONSerializer,
        )
        # RQ's own lines are INFO (quiet without --verbose): start and stop are said here.
        log.info("worker %s (pid %d) listening on %s", w.name, os.getpid(), ", ".join(queue_names))
        level = logging.getLevelName(library_level())
        worked = w.work(burst=burst, with_scheduler=with_scheduler, logging_level=level)
        if not burst:  # only a signal ends it: SIGTERM's warm shut down lets a job finish
            log.info("worker %s stopped after a warm shut down", w.name)
        return worked
