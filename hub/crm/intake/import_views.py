"""Import pages: upload, column mapping, dry run, live progress, the report and its files."""

from __future__ import annotations

from pathlib import Path

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import login_required, require_user
from hub.core.pagination import page_arg
from hub.core.refusals import FieldError, NotFound, ValidationError
from hub.crm.customers.lookup import can_assign, can_create
from hub.crm.customers.models import Stage
from hub.crm.customers.views import owners
from hub.crm.intake import import_report as report
from hub.crm.intake import import_run_files as run_files
from hub.crm.intake import imports as svc
from hub.crm.intake import imports_bp as bp
from hub.crm.intake.exports import csv_stream, disposition
from hub.crm.intake.import_files import TARGETS
from hub.crm.intake.import_jobs import enqueue_import, read_progress
from hub.crm.intake.import_models import OUTCOMES, ROW_OUTCOMES
from hub.crm.labels import choice_label


def _instance() -> Path:
    return Path(current_app.config["INSTANCE_DIR"])


@bp.get("/imports")
@login_required
def index() -> str:
    user = require_user()
    q = request.args.get("q", "")
    return render_template(
        "imports.html",
        page=svc.list_runs(db.session(), user, q, page_arg()),
        q=q,
        can_import=can_create(user),
        errors={},
    )


@bp.post("/imports")
@login_required
def upload() -> Response | tuple[str, int]:
    user = require_user()
    s = db.session()
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise ValidationError([FieldError("file", _("Choose a file to import."))])
        run = svc.start_import(
            s, user, upload.filename, upload.stream, _instance(), str(get_locale() or "en")
        )
    except ValidationError as exc:
        s.rollback()
        page = svc.list_runs(s, user, "", 1)
        return render_template(
            "imports.html", page=page, q="", can_import=can_create(user), errors=exc.as_dict()
        ), 422
    s.commit()
    return redirect(url_for("imports.show", run_id=run.id))


@bp.get("/imports/<int:run_id>")
@login_required
def show(run_id: int) -> str:
    user = require_user()
    s = db.session()
    run = svc.load_run(s, user, run_id)
    return _render(run, {})


def _render(run: svc.ImportRun, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    user = require_user()
    s = db.session()
    done, total = read_progress(run.id) if run.running else (0, 0)
    rows, outcome = None, request.args.get("outcome", "")
    if run.counts and not run.running and report.has_outcomes(s, run.id):
        try:
            rows = report.outcome_page(s, run.id, outcome, page_arg())
        except ValidationError as exc:
            errors = {**errors, **exc.as_dict()}
            outcome, rows = "", report.outcome_page(s, run.id, "", page_arg())
    editable = (
        run.status in ("uploaded", "checked", "failed")
        and run.counts is None
        and not run.files_expired
    )
    return render_template(
        "import_run.html",
        run=run,
        errors=errors,
        targets=TARGETS,
        samples=svc.sample_rows(_instance(), run) if editable else [],
        editable=editable,
        stages=[Stage.LEAD.value, Stage.PROSPECT.value, Stage.CUSTOMER.value],
        owners=owners(db.session()) if can_assign(user) else [],
        outcomes=OUTCOMES,
        row_outcomes=ROW_OUTCOMES,
        rows=rows,
        outcome=outcome,
        reason_text=report.reason_text,
        report=run_files.read_report(_instance(), run.id)
        if run.outcome_counts() and not rows
        else [],
        done=done,
        total=total or run.rows_total or 0,
        file_days=current_app.config["SETTINGS"].import_file_days,
    ), status


@bp.post("/imports/<int:run_id>")
@login_required
def confirm(run_id: int) -> Response | tuple[str, int]:
    """Save the mapping, then queue the dry run or the import."""
    user = require_user()
    s = db.session()
    run = svc.load_run(s, user, run_id)
    dry_run = request.form.get("action") != "import"
    mapping = [request.form.get(f"column.{i}", "") for i in range(len(run.headers))]
    owner = request.form.get("owner_id", "")
    try:
        svc.set_mapping(
            s,
            user,
            run,
            mapping,
            request.form.get("stage", ""),
            int(owner) if owner.isdigit() else None,
        )
        svc.begin(s, run, dry_run)
    except ValidationError as exc:
        s.rollback()
        return _render(svc.load_run(s, user, run_id), exc.as_dict(), 422)
    s.commit()
    enqueue_import(run.id, dry_run)
    flash(_("The dry run has started.") if dry_run else _("The import has started."), "success")
    return redirect(url_for("imports.show", run_id=run.id))


@bp.get("/imports/<int:run_id>/refused.csv")
@login_required
def refused(run_id: int) -> Response:
    return _file(run_id, run_files.refused_path, _("refused"))


@bp.get("/imports/<int:run_id>/report.csv")
@login_required
def problems(run_id: int) -> Response:
    """The problems of the latest dry run or import: row, column, what is wrong."""
    return _file(run_id, run_files.report_path, _("problems"))


@bp.get("/imports/<int:run_id>/rows.csv")
@login_required
def rows_csv(run_id: int) -> Response:
    """The whole report: one line for each row of the file, streamed while it is read."""
    run = svc.load_run(db.session(), require_user(), run_id)
    if not run.counts or not report.has_outcomes(db.session(), run.id):
        raise NotFound(_("This import has not run yet."))
    labels = {o: choice_label("import_outcome", o) for o in ROW_OUTCOMES}
    lines = report.report_lines(
        current_app.extensions["hub.core.db"],
        run.id,
        labels.__getitem__,
        # Absolute, so the link works from the downloaded file.
        lambda cid: url_for("crm.customer", customer_id=cid, _external=True),
    )
    response = Response(
        stream_with_context(csv_stream(lines, report.report_header())), mimetype="text/csv"
    )
    label = _("report")
    name = f"{Path(run.filename).stem}-{label}.csv"
    response.headers.set("Content-Disposition", "attachment", **disposition(name))
    return response


def _file(run_id: int, where: object, label: str) -> Response:
    user = require_user()
    run = svc.load_run(db.session(), user, run_id)
    path = where(_instance(), run.id)  # type: ignore[operator]
    if not path.exists():
        if run.files_expired and where is run_files.refused_path:
            raise NotFound(_("The refused rows have expired."))
        raise NotFound(_("This import has not run yet."))
    stem = Path(run.filename).stem
    # Worded in the reader's language as it streams (the request's locale stays with it).
    text = run_files.refused_csv if where is run_files.refused_path else run_files.report_csv
    response = Response(stream_with_context(text(_instance(), run.id)), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", **disposition(f"{stem}-{label}.csv"))
    return response
