"""The import's RQ job (it takes the run's id) and its progress, kept in Redis for the page."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from redis import Redis

from hub.core import services
from hub.crm.intake.import_models import ImportRun
from hub.crm.intake.imports import execute_import

PROGRESS_TTL = 86400


def progress_key(run_id: int) -> str:
    return f"hub:import:{run_id}:progress"


def enqueue_import(run_id: int, dry_run: bool, connection: Redis | None = None) -> str:
    """Queue the dry run or the import of a run on the bulk queue; returns the job id."""
    conn = connection or services.redis()
    conn.delete(progress_key(run_id))
    job = services.queue("bulk", conn).enqueue(
        import_job, run_id, dry_run, job_timeout=6 * 3600, result_ttl=86400
    )
    return job.id


def import_job(run_id: int, dry_run: bool) -> dict[str, int]:
    """RQ job: run the import (or dry run) of `run_id`, writing progress to Redis as it goes."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    conn = services.redis(app)
    key = progress_key(run_id)

    def progress(done: int, total: int | None) -> None:
        conn.hset(key, mapping={"done": done, "total": total or 0})
        conn.expire(key, PROGRESS_TTL)

    factory = app.extensions["hub.core.db"]
    with factory() as s:
        run = s.get(ImportRun, run_id)
        locale = run.locale if run else "en"
        # The row report is written in the language of the person who started the import.
        with force_locale(locale):
            return execute_import(
                s,
                run_id,
                dry_run,
                Path(app.config["INSTANCE_DIR"]),
                app.config["SETTINGS"].default_region,
                progress,
            )


def read_progress(run_id: int, connection: Redis | None = None) -> tuple[int, int]:
    """(rows done, rows in the file) of a running import; (0, 0) before it starts counting."""
    raw = (connection or services.redis()).hgetall(progress_key(run_id))
    return int(raw.get(b"done", 0)), int(raw.get(b"total", 0))
