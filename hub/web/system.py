"""Worker checks: a job on each queue proves a worker serves it; the admin system page shows it."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from redis import Redis
from redis.exceptions import RedisError
from rq import Worker, get_current_job
from rq.worker import BaseWorker
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.wrappers import Response

from hub.core import db, services
from hub.core.auth import roles_required
from hub.core.clock import utcnow
from hub.core.db import Base, session_scope
from hub.core.services import QUEUE_NAMES, RedisNotConfigured
from hub.web import system_bp as bp
from hub.web.health import check_database, check_redis


class WorkerHeartbeat(Base):
    """One worker check: which worker ran it, on which queue, when it was asked and when it ran."""

    __tablename__ = "worker_heartbeats"

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(sa.String(20), index=True)
    worker: Mapped[str] = mapped_column(sa.String(200))
    host: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int]
    requested_at: Mapped[datetime]
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
    job_id: Mapped[str] = mapped_column(sa.String(64), unique=True)


HEARTBEAT_KEEP = timedelta(days=7)


def record_heartbeat(queue_name: str, requested_at: str) -> int:
    """RQ job: write down that a worker picked this queue's check up. Returns the row id."""
    job = get_current_job()
    with session_scope() as s:
        s.execute(
            sa.delete(WorkerHeartbeat).where(WorkerHeartbeat.ran_at < utcnow() - HEARTBEAT_KEEP)
        )
        row = WorkerHeartbeat(
            queue=queue_name,
            worker=(job.worker_name if job else None) or "inline",
            host=socket.gethostname(),
            pid=os.getpid(),
            requested_at=datetime.fromisoformat(requested_at),
            job_id=job.id if job else f"inline-{os.getpid()}-{utcnow().timestamp()}",
        )
        s.add(row)
        s.flush()
        return row.id


def request_worker_check(connection: Redis) -> list[str]:
    """Enqueue one check on every queue, in one round trip; returns the job ids."""
    requested_at = utcnow().isoformat()
    with connection.pipeline() as pipe:
        jobs = []
        for name in QUEUE_NAMES:
            q = services.queue(name, connection)
            data = q.prepare_data(
                record_heartbeat, args=(name, requested_at), result_ttl=3600, ttl=3600
            )
            jobs.extend(q.enqueue_many([data], pipeline=pipe))
        pipe.execute()
    return [j.id for j in jobs]


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    failed: int
    last_served: datetime | None


def queue_states(db_session: Session, connection: Redis) -> list[QueueState]:
    last = dict(
        db_session.execute(
            sa.select(WorkerHeartbeat.queue, sa.func.max(WorkerHeartbeat.ran_at)).group_by(
                WorkerHeartbeat.queue
            )
        ).all()
    )
    states = []
    for name in QUEUE_NAMES:
        q = services.queue(name, connection)
        states.append(QueueState(name, q.count, q.failed_job_registry.count, last.get(name)))
    return states


def recent_heartbeats(db_session: Session, limit: int = 20) -> list[WorkerHeartbeat]:
    return list(
        db_session.scalars(
            sa.select(WorkerHeartbeat).order_by(WorkerHeartbeat.ran_at.desc()).limit(limit)
        )
    )


@bp.get("/")
@roles_required()
def overview() -> str:
    s = db.session()
    redis_error = check_redis()
    states: list[QueueState] = []
    workers: list[BaseWorker] = []
    if redis_error is None:
        conn = services.redis()
        states = queue_states(s, conn)
        workers = Worker.all(connection=conn)
    return render_template(
        "system.html",
        database_error=check_database(),
        redis_error=redis_error,
        states=states,
        workers=workers,
        heartbeats=recent_heartbeats(s),
    )


@bp.post("/check")
@roles_required()
def check() -> Response:
    try:
        request_worker_check(services.redis())
    except (RedisError, RedisNotConfigured) as exc:
        flash(_("Could not queue the worker check: %(error)s", error=str(exc)), "error")
    else:
        flash(
            _(
                "A check was queued on every queue. Reload in a few seconds to see which workers "
                "answered."
            ),
            "success",
        )
    return redirect(url_for("system.overview"))
