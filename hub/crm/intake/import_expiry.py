"""Uploaded import files and refused-row files kept only HUB_IMPORT_FILE_DAYS: what people typed
into a spreadsheet is not kept for ever. The runs' counts and row reports stay."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from redis import Redis
from sqlalchemy.orm import Session

from hub.core import services
from hub.core.clock import utcnow
from hub.core.db import session_scope
from hub.crm.intake.import_models import ImportRun, ImportStatus
from hub.crm.intake.import_run_files import refused_path, source_path


def expire_import_files(
    db: Session, instance_dir: Path, days: int, now: datetime | None = None
) -> list[int]:
    """Delete the uploaded file and refused rows of runs uploaded more than `days` ago (never a
    running one) and mark them; returns the runs' ids."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    runs = list(
        db.scalars(
            sa.select(ImportRun).where(
                ImportRun.files_deleted_at.is_(None),
                ImportRun.created_at < cutoff,
                ImportRun.status.not_in([ImportStatus.CHECKING, ImportStatus.IMPORTING]),
            )
        )
    )
    for run in runs:
        for path in (source_path(instance_dir, run), refused_path(instance_dir, run.id)):
            path.unlink(missing_ok=True)
        run.files_deleted_at = now or utcnow()
    db.flush()
    return [run.id for run in runs]


def expire_import_files_job() -> list[int]:
    """RQ job: the daily clean-up, with the configured number of days."""
    settings = current_app.config["SETTINGS"]
    with session_scope() as s:
        return expire_import_files(
            s, Path(current_app.config["INSTANCE_DIR"]), settings.import_file_days
        )


def enqueue_import_expiry(connection: Redis) -> list[str]:
    """For the periodic schedule."""
    job = services.queue("bulk", connection).enqueue(expire_import_files_job, result_ttl=86400)
    return [job.id]
