"""Importing customers from a spreadsheet: upload, mapping, dry run, the import itself (streamed in
chunks, committed chunk by chunk); the row report and refused rows it writes are in
import_run_files."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.clock import utcnow
from hub.core.pagination import Page, paginate
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.crm.customers.duplicates import find_likely_duplicates
from hub.crm.customers.lookup import can_create
from hub.crm.customers.models import Customer, Stage
from hub.crm.intake.import_files import (
    REPEATABLE,
    TARGETS,
    UnreadableFile,
    count_data_rows,
    detect_encoding,
    file_format,
    find_header,
    guess_mapping,
    iter_rows,
)
from hub.crm.intake.import_models import OUTCOMES, ImportRowOutcome, ImportRun, ImportStatus
from hub.crm.intake.import_report import applied_outcomes, record_outcomes, refused_outcome
from hub.crm.intake.import_rows import ChunkContext, ImportRow, apply_rows, parse_row
from hub.crm.intake.import_run_files import ReportWriter, source_path

CHUNK_ROWS = 2000
# Statistics are refreshed on PostgreSQL at the start, after 20,000 rows, and then whenever the
# rows done have doubled: plans change with the table's size, not with every 20,000 rows more.
ANALYZE_FIRST = 20_000
DUPLICATE_BATCH = 2000  # new customers checked for likely duplicates per statement
Progress = Callable[[int, int | None], None]


# --- starting -----------------------------------------------------------------------------------


def start_import(
    db: Session,
    actor: User,
    filename: str,
    stream: IO[bytes],
    instance_dir: Path,
    locale: str = "en",
) -> ImportRun:
    """Keep the uploaded file and read its header; the mapping is guessed from it."""
    if not can_create(actor):
        raise Forbidden(_("Your role may not add customers."))
    name = Path(filename or "").name
    try:
        fmt = file_format(name)
    except UnreadableFile as exc:
        raise ValidationError([FieldError("file", str(exc))]) from None
    run = ImportRun(
        user_id=actor.id, owner_id=actor.id, filename=name[:255], file_format=fmt, locale=locale
    )
    db.add(run)
    db.flush()
    path = source_path(instance_dir, run)
    # A folder left by a run whose id is used again (a restored database) is not this run's.
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    try:
        run.encoding = detect_encoding(path) if fmt == "csv" else None
        first = list(itertools.islice(iter_rows(path, fmt, run.encoding), 10))
    except UnreadableFile as exc:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise ValidationError([FieldError("file", str(exc))]) from None
    if not any(any(row) for row in first):
        shutil.rmtree(path.parent, ignore_errors=True)
        raise ValidationError([FieldError("file", _("The file is empty."))])
    header = find_header(first)
    run.header_row = header + 1
    run.headers = first[header]
    run.mapping = guess_mapping(run.headers)
    return run


def sample_rows(instance_dir: Path, run: ImportRun, count: int = 3) -> list[list[str]]:
    """The first rows under the header, shown beside the mapping."""
    rows = iter_rows(source_path(instance_dir, run), run.file_format, run.encoding)
    return list(itertools.islice(rows, run.header_row, run.header_row + count))


def set_mapping(
    db: Session,
    actor: User,
    run: ImportRun,
    mapping: Sequence[str],
    stage: str,
    owner_id: int | None = None,
) -> None:
    """Confirm what each column holds, the stage of new customers and (directors) their owner."""
    if run.running:
        raise ValidationError([FieldError("mapping", _("This import is running."))])
    errors: list[FieldError] = []
    if len(mapping) != len(run.headers):
        errors.append(FieldError("mapping", _("Choose a field (or none) for every column.")))
    seen: set[str] = set()
    for i, target in enumerate(mapping):
        if target and target not in TARGETS:
            errors.append(FieldError(f"mapping.{i}", _("Unknown field.")))
        elif target and target not in REPEATABLE and target in seen:
            errors.append(
                FieldError(f"mapping.{i}", _("%(field)s is chosen twice.", field=TARGETS[target]))
            )
        seen.add(target)
    if not {"name", "contact_name"} & seen:
        errors.append(
            FieldError("mapping", _("Choose the column with the customer's or contact's name."))
        )
    if stage not in (Stage.LEAD, Stage.PROSPECT, Stage.CUSTOMER):
        errors.append(FieldError("stage", _("Choose lead, prospect or customer.")))
    owner = actor
    if owner_id is not None and owner_id != actor.id:
        if actor.role not in (Role.ADMIN, Role.DIRECTOR):
            errors.append(FieldError("owner_id", _("An agent imports customers for themselves.")))
        else:
            owner = db.get(User, owner_id)
            if owner is None or not owner.active:
                errors.append(FieldError("owner_id", _("No active user has this id.")))
    if errors:
        raise ValidationError(errors)
    run.mapping = list(mapping)
    run.stage = stage
    run.owner_id = owner.id if owner else actor.id
    if run.status == ImportStatus.CHECKED:
        # The dry run counted another mapping; it has to run again to mean anything.
        run.dry_run_counts = None
        run.status = ImportStatus.UPLOADED.value


def begin(db: Session, run: ImportRun, dry_run: bool) -> None:
    """Mark the run as queued for a dry run or the import; a running run is refused."""
    if run.files_expired:
        raise ValidationError(
            [FieldError("file", _("The uploaded file has expired; upload it again."))]
        )
    if run.running:
        raise ValidationError([FieldError("mapping", _("This import is running."))])
    if run.status == ImportStatus.DONE:
        raise ValidationError([FieldError("mapping", _("This file has been imported."))])
    run.status = (ImportStatus.CHECKING if dry_run else ImportStatus.IMPORTING).value
    run.error = None


# --- running ------------------------------------------------------------------------------------


def execute_import(
    db: Session,
    run_id: int,
    dry_run: bool,
    instance_dir: Path,
    region: str = "CN",
    progress: Progress | None = None,
) -> dict[str, int]:
    """Run the import (or its dry run) and return how many rows had each outcome.

    Rows stream from the file in chunks of CHUNK_ROWS, so memory stays flat; the import commits
    each chunk, the dry run does the same work in one transaction and rolls it back, so what it
    reports is exactly what the import would do.
    """
    run = db.get(ImportRun, run_id)
    if run is None:
        raise NotFound(_("There is no import %(id)s.", id=run_id))
    actor = db.get(User, run.user_id) if run.user_id else None
    path = source_path(instance_dir, run)
    headers, mapping = list(run.headers), list(run.mapping)
    run.status = (ImportStatus.CHECKING if dry_run else ImportStatus.IMPORTING).value
    run.started_at = utcnow()
    run.rows_total = count_data_rows(path, run.file_format, run.encoding, run.header_row)
    ctx = ChunkContext(run.id, actor, run.owner_id, run.stage, run.started_at)
    if not dry_run:
        # A run stopped part way is run again from the first row: its first rows' outcomes go.
        db.execute(sa.delete(ImportRowOutcome).where(ImportRowOutcome.run_id == run.id))
    # Customers after this id are the run's own (and any added meanwhile): checked for likely
    # duplicates once the rows are in.
    first_id = db.scalar(sa.select(sa.func.max(Customer.id))) or 0
    db.commit()
    counts: Counter[str] = Counter({k: 0 for k in OUTCOMES})
    done, analyze_at = 0, 0
    try:
        with ReportWriter(instance_dir, run_id, headers) as report:
            for chunk in _batched(_data_rows(path, run), CHUNK_ROWS):
                if done >= analyze_at:
                    _refresh_statistics(db)
                    analyze_at = max(ANALYZE_FIRST, 2 * done)
                valid: list[ImportRow] = []
                outcomes: list[dict[str, Any]] = []
                for number, cells in chunk:
                    parsed = parse_row(number, cells, headers, mapping, region)
                    if isinstance(parsed, list):
                        report.refuse(number, cells, parsed)
                        counts["refused"] += 1
                        outcomes.append(refused_outcome(run.id, number, parsed))
                    else:
                        valid.append(parsed)
                applied = apply_rows(db, ctx, valid)
                counts.update(outcome for outcome, _id in applied)
                if dry_run:
                    db.flush()
                else:
                    outcomes += applied_outcomes(run.id, valid, applied)
                    record_outcomes(db, outcomes)
                    db.commit()
                db.expunge_all()  # the chunk's customers are written; let them go
                done += len(chunk)
                if progress:
                    progress(done, run.rows_total)
    except UnreadableFile as exc:
        # The file breaks off (bad bytes, a broken row): what came before stays imported, and
        # since a re-import changes nothing, running it again after a fix is safe.
        db.rollback()
        return _finish(db, run_id, dry_run, dict(counts), failed=_failure(exc, done))
    except sa.exc.SQLAlchemyError as exc:
        db.rollback()
        _finish(db, run_id, dry_run, dict(counts), failed=_failure(exc, done))
        raise
    # The finder's self-joins are planned by the statistics, which were taken before the rows
    # went in: a first import into a nearly empty hub left contacts estimated at no rows, and
    # the finder nested-looped over 10,000 of them for minutes.
    _refresh_statistics(db)
    counts["queued"] = _queue_likely_duplicates(db, first_id, dry_run)
    if dry_run:
        db.rollback()
    return _finish(db, run_id, dry_run, dict(counts))


def _queue_likely_duplicates(db: Session, first_id: int, dry_run: bool) -> int:
    """Exact duplicates merged as the rows went in; likely ones go to the review queue."""
    queued, last = 0, first_id
    while ids := list(
        db.scalars(
            sa.select(Customer.id)
            .where(Customer.id > last)
            .order_by(Customer.id)
            .limit(DUPLICATE_BATCH)
        )
    ):
        queued += find_likely_duplicates(db, ids)
        last = ids[-1]
        if not dry_run:
            db.commit()
    return queued


def _refresh_statistics(db: Session) -> None:
    """PostgreSQL plans the lookups by table statistics; a table that grows by an import's
    thousands of rows (or a lower(email) index never analyzed) would otherwise be scanned whole
    for every chunk instead of read through its indexes."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(sa.text("ANALYZE customers, contacts"))


def _failure(exc: Exception, done: int) -> str:
    return _("Stopped after %(done)d rows: %(reason)s", done=done, reason=str(exc)[:500])


def _finish(
    db: Session, run_id: int, dry_run: bool, counts: dict[str, int], failed: str | None = None
) -> dict[str, int]:
    run = db.get(ImportRun, run_id)
    assert run is not None
    if dry_run:
        run.dry_run_counts = counts
        run.status = (ImportStatus.FAILED if failed else ImportStatus.CHECKED).value
    else:
        run.counts = counts
        run.status = (ImportStatus.FAILED if failed else ImportStatus.DONE).value
    run.error = failed
    run.finished_at = utcnow()
    db.commit()
    return counts


def _data_rows(path: Path, run: ImportRun) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) under the header; blank rows are skipped, not refused."""
    rows = iter_rows(path, run.file_format, run.encoding)
    for number, cells in enumerate(rows, start=1):
        if number > run.header_row and any(cells):
            yield number, cells


def _batched(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while chunk := list(itertools.islice(rows, size)):
        yield chunk


# --- listing and loading ------------------------------------------------------------------------


def load_run(db: Session, user: User, run_id: int) -> ImportRun:
    """The run, if the user started it (directors and admins see every run)."""
    run = db.get(ImportRun, run_id) if 0 < run_id < 2**31 else None
    if run is None:
        raise NotFound(_("There is no import %(id)s.", id=run_id))
    if user.role not in (Role.ADMIN, Role.DIRECTOR) and run.user_id != user.id:
        raise Forbidden(_("This import was started by someone else."))
    return run


def runs_query(user: User, query: str = "") -> sa.Select[tuple[ImportRun]]:
    """The imports the user may see (agents: their own), by part of the file name; unordered."""
    stmt = sa.select(ImportRun)
    if user.role not in (Role.ADMIN, Role.DIRECTOR):
        stmt = stmt.where(ImportRun.user_id == user.id)
    if query.strip():
        stmt = stmt.where(
            sa.func.lower(ImportRun.filename).contains(query.strip().lower(), autoescape=True)
        )
    return stmt


def list_runs(db: Session, user: User, query: str = "", page: int = 1) -> Page:
    """Imports newest first, by file name; agents see their own."""
    return paginate(db, runs_query(user, query).order_by(ImportRun.id.desc()), page, 20)
