"""The RQ worker: the hub's queues, JSON job payloads, every job inside the app context."""

from __future__ import annotations

import logging
import os

from flask import Flask
from rq import Worker
from rq.serializers import JSONSerializer
from sqlalchemy.orm import configure_mappers

from hub.core import services
from hub.core.logs import library_level
from hub.core.services import QUEUE_NAMES

log = logging.getLogger(__name__)


class HubWorker(Worker):
    """RQ's worker, whose stop never waits a minute for its pub/sub thread."""

    # How long the pub/sub thread waits for a message between looks at its running flag.
    PUBSUB_POLL_SECONDS = 0.5

    def subscribe(self) -> None:
        # RQ's own subscribe, with a short poll instead of RQ's 60 s. RQ unsubscribes, then
        # stops the thread; redis-py's stop() joins it (from 8.2). A thread that read the
        # unsubscribe reply before stop() cleared its flag goes back to wait for a subscription
        # for the whole poll, and the join waits with it: every burst run, every shut down.
        # Clearing the flag before unsubscribing instead let the thread close the connection
        # while the unsubscribe was being written on it (a broken pipe, seen in CI).
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(
            sleep_time=self.PUBSUB_POLL_SECONDS,
            daemon=True,
            exception_handler=self._pubsub_exception_handler,
        )


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
