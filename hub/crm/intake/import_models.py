"""An import run: the uploaded file, its column mapping, and what its dry run and import did."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.db import Base


class ImportStatus(StrEnum):
    UPLOADED = "uploaded"  # mapping to confirm
    CHECKING = "checking"  # dry run queued or running
    CHECKED = "checked"  # dry run done: the counts of what would happen
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"


OUTCOMES = ("created", "updated", "merged", "unchanged", "refused", "queued")
# What can happen to one row of the file ("queued" counts likely duplicates, not rows).
ROW_OUTCOMES = ("created", "updated", "merged", "unchanged", "refused")


class ImportRun(Base):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Who new customers go to (the importing agent, or whom a director chose).
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(sa.String(255))
    file_format: Mapped[str] = mapped_column(sa.String(10))
    encoding: Mapped[str | None] = mapped_column(sa.String(20))
    header_row: Mapped[int] = mapped_column(default=1)  # 1-based, as the spreadsheet numbers it
    headers: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    mapping: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    stage: Mapped[str] = mapped_column(sa.String(20), default="lead")
    # The language of the person who started it: the row report is written in it.
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    status: Mapped[str] = mapped_column(sa.String(20), default=ImportStatus.UPLOADED.value)
    rows_total: Mapped[int | None]
    dry_run_counts: Mapped[dict[str, int] | None] = mapped_column(sa.JSON)
    counts: Mapped[dict[str, int] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The uploaded file and the refused rows were deleted (HUB_IMPORT_FILE_DAYS after upload).
    files_deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    __table_args__ = (
        sa.CheckConstraint(
            sa.column("status").in_([s.value for s in ImportStatus]), name="status_known"
        ),
    )

    @property
    def running(self) -> bool:
        return self.status in (ImportStatus.CHECKING, ImportStatus.IMPORTING)

    @property
    def files_expired(self) -> bool:
        """The uploaded file is gone: the run cannot run again, its refused rows are gone too."""
        return self.files_deleted_at is not None

    def outcome_counts(self) -> dict[str, Any]:
        """The latest counts: the import's once it ran, else the dry run's."""
        return self.counts or self.dry_run_counts or {}


class ImportRowOutcome(Base):
    """What the import did with one row of the file: which customer it created, merged into or
    left unchanged, or the problems it was refused for. One narrow row per input row, keyed by
    the run and the row's number, so a 100,000-row import pages and filters by index."""

    __tablename__ = "import_row_outcomes"

    run_id: Mapped[int] = mapped_column(
        sa.ForeignKey("import_runs.id", ondelete="CASCADE"), primary_key=True
    )
    row: Mapped[int] = mapped_column(primary_key=True)  # as the spreadsheet numbers it
    outcome: Mapped[str] = mapped_column(sa.String(10))
    # No foreign key: a customer deleted or merged away later leaves the report as it was (its
    # page says it no longer exists), and deleting a customer does not scan every import.
    customer_id: Mapped[int | None]
    # A refused row's problems as parse_row found them: [{"field": ..., "message": ...}].
    problems: Mapped[list[dict[str, str]] | None] = mapped_column(sa.JSON)
