"""/api/v1/imports: upload a spreadsheet, confirm its mapping, dry run, import, follow progress,
read the row report and fetch the refused rows: the same service functions as the pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, current_app, jsonify, request, stream_with_context, url_for
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import DEFAULT_LIMIT, LIST_QUERY, MAX_LIMIT, document, keyset_page
from hub.core.auth import login_required, require_user
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.core.validation import MAX_ID
from hub.crm.customers.lookup import can_create
from hub.crm.intake import import_api_bp as bp
from hub.crm.intake import import_report as row_report
from hub.crm.intake import import_run_files as run_files
from hub.crm.intake import imports as svc
from hub.crm.intake.import_jobs import enqueue_import
from hub.crm.intake.import_models import ROW_OUTCOMES, ImportRun
from hub.crm.intake.import_report import worded
from hub.crm.intake.import_schemas import (
    OPTIONS_IN,
    REPORT_OUT,
    ROW_OUT,
    RUN_OUT,
    UPLOAD_IN,
    run_json,
)

TAG = "imports"
OPTIONS = ("mapping", "stage", "owner_id")


def _instance() -> Path:
    return Path(current_app.config["INSTANCE_DIR"])


def _load(run_id: int) -> ImportRun:
    return svc.load_run(db.session(), require_user(), run_id)


def _apply_options(run: ImportRun, data: dict[str, Any]) -> None:
    """Mapping, stage and owner as sent (each defaults to what the run has); 422 names each
    wrong one."""
    errors = [FieldError(k, _("Unknown field.")) for k in sorted(data) if k not in OPTIONS]
    mapping = data.get("mapping", run.mapping)
    if not isinstance(mapping, list) or not all(isinstance(m, str) for m in mapping):
        errors.append(FieldError("mapping", _("Send a list of field names, one per column.")))
    stage = data.get("stage", run.stage)
    if not isinstance(stage, str):
        errors.append(FieldError("stage", _("Choose lead, prospect or customer.")))
    owner_id = data.get("owner_id", run.owner_id)
    if owner_id is not None and (
        isinstance(owner_id, bool) or not isinstance(owner_id, int) or not 0 < owner_id <= MAX_ID
    ):
        errors.append(FieldError("owner_id", _("Expected a user's id.")))
    if len(errors) == len([k for k in data if k not in OPTIONS]):
        # Only unknown keys so far: report them with whatever the mapping itself gets wrong.
        try:
            svc.set_mapping(db.session(), require_user(), run, mapping, stage, owner_id)
        except ValidationError as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationError(errors)


def _upload_options() -> dict[str, Any]:
    """The mapping options of a multipart upload, typed as the JSON ones are."""
    form, data = request.form, {}
    errors = []
    if form.get("mapping"):
        try:
            data["mapping"] = json.loads(form["mapping"])
        except ValueError:
            errors.append(
                FieldError("mapping", _('Send the mapping as a JSON array: ["name", "", "phone"].'))
            )
    if form.get("stage"):
        data["stage"] = form["stage"]
    if form.get("owner_id"):
        if not form["owner_id"].isdigit():
            errors.append(FieldError("owner_id", _("Expected a user's id.")))
        else:
            data["owner_id"] = int(form["owner_id"])
    if errors:
        raise ValidationError(errors)
    return data


def _optional_body() -> dict[str, Any]:
    """The JSON body of a dry run or an import: optional, but an object when sent."""
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(
            [FieldError("body", _("Send a JSON object with Content-Type: application/json."))]
        )
    return data


document(
    "get",
    "/imports",
    "List imports, newest last; agents see their own",
    TAG,
    response=RUN_OUT,
    list_of=True,
    query=(("q", "string", "Part of the file name"), *LIST_QUERY[1:]),
)


@bp.get("/imports")
@login_required
def list_imports() -> Response:
    stmt = svc.runs_query(require_user(), request.args.get("q", ""))
    return jsonify(
        keyset_page(db.session(), stmt, ImportRun.id, "import_api.list_imports", run_json)
    )


document(
    "post",
    "/imports",
    "Upload a CSV or XLSX file (multipart, field `file`); the mapping is guessed from its "
    "headings unless sent",
    TAG,
    body=UPLOAD_IN,
    body_type="multipart/form-data",
    response=RUN_OUT,
    status=201,
    roles="admin, director, agent",
)


@bp.post("/imports")
@login_required
def upload() -> tuple[Response, int, dict[str, str]]:
    user = require_user()
    if not can_create(user):
        raise Forbidden(_("Your role may not add customers."))
    s = db.session()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError([FieldError("file", _("Choose a file to import."))])
    options = _upload_options()
    run = svc.start_import(
        s, user, upload.filename, upload.stream, _instance(), user.locale or "en"
    )
    if options:
        _apply_options(run, options)
    s.commit()
    location = url_for("import_api.get_import", run_id=run.id)
    return jsonify(run_json(run)), 201, {"Location": location}


document(
    "get",
    "/imports/{id}",
    "An import: its mapping, status, progress while it runs, and the counts of its dry run "
    "and import",
    TAG,
    response=RUN_OUT,
)


@bp.get("/imports/<int:run_id>")
@login_required
def get_import(run_id: int) -> Response:
    return jsonify(run_json(_load(run_id)))


def _start(run_id: int, dry_run: bool) -> tuple[Response, int]:
    s = db.session()
    run = _load(run_id)
    data = _optional_body()
    if data and not run.files_expired:
        _apply_options(run, data)
    svc.begin(s, run, dry_run)
    s.commit()
    enqueue_import(run.id, dry_run)
    return jsonify(run_json(run)), 202


document(
    "post",
    "/imports/{id}/dry-run",
    "Queue a dry run: what the import would create, update, merge and refuse, changing nothing "
    "(the body may change the mapping first; `{}` keeps it)",
    TAG,
    body=OPTIONS_IN,
    response=RUN_OUT,
    status=202,
)


@bp.post("/imports/<int:run_id>/dry-run")
@login_required
def dry_run(run_id: int) -> tuple[Response, int]:
    return _start(run_id, True)


document(
    "post",
    "/imports/{id}/commit",
    "Queue the import itself (the body may change the mapping first; `{}` keeps it); 422 when "
    "it is running or done",
    TAG,
    body=OPTIONS_IN,
    response=RUN_OUT,
    status=202,
)


@bp.post("/imports/<int:run_id>/commit")
@login_required
def commit(run_id: int) -> tuple[Response, int]:
    return _start(run_id, False)


document(
    "get",
    "/imports/{id}/report",
    "The row report of the latest dry run or import: row number, column, what is wrong",
    TAG,
    response=REPORT_OUT,
    list_of=True,
    query=(
        ("limit", "integer", f"Lines per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
        ("after", "integer", "Skip this many lines (use the `next` URL)"),
    ),
)


@bp.get("/imports/<int:run_id>/report")
@login_required
def report(run_id: int) -> Response:
    run = _load(run_id)
    if not run_files.report_path(_instance(), run.id).exists():
        raise NotFound(_("This import has not run yet."))
    limit = _arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = _arg("after", 0, 0, MAX_ID)
    lines = run_files.read_report(_instance(), run.id, limit + 1, after)
    items = [
        {"row": int(r[0]) if r[0].isdigit() else 0, "column": r[1], "problem": r[2]}
        for r in lines[:limit]
    ]
    more = len(lines) > limit
    next_url = (
        url_for(
            "import_api.report", run_id=run.id, limit=limit, after=after + limit, _external=True
        )
        if more
        else None
    )
    return jsonify({"items": items, "next": next_url})


document(
    "get",
    "/imports/{id}/rows",
    "What the import did with each row: created, updated, merged, unchanged (with the customer)"
    " or refused (with its problems)",
    TAG,
    response=ROW_OUT,
    list_of=True,
    query=(
        ("outcome", "string", "Only rows with this outcome: " + ", ".join(ROW_OUTCOMES)),
        ("limit", "integer", f"Rows per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
        ("after", "integer", "Rows after this row number (use the `next` URL)"),
    ),
)


@bp.get("/imports/<int:run_id>/rows")
@login_required
def rows(run_id: int) -> Response:
    run = _load(run_id)
    s = db.session()
    if not run.counts or not row_report.has_outcomes(s, run.id):
        raise NotFound(_("This import has not run yet."))
    outcome = request.args.get("outcome", "")
    limit = _arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = _arg("after", 0, 0, MAX_ID)
    found = row_report.rows_after(s, run.id, outcome, after, limit + 1)
    items = [
        {
            "row": o.row,
            "outcome": o.outcome,
            "customer_id": o.customer_id,
            "customer_url": None
            if o.customer_id is None
            else url_for("crm.customer", customer_id=o.customer_id, _external=True),
            "problems": worded(o.problems),
        }
        for o in found[:limit]
    ]
    next_url = None
    if len(found) > limit:
        args = {"outcome": outcome or None, "limit": limit, "after": found[limit - 1].row}
        next_url = url_for("import_api.rows", run_id=run.id, **args, _external=True)
    return jsonify({"items": items, "next": next_url})


def _arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ValidationError(
            [FieldError(name, _("Expected a number from %(low)d to %(high)d.", low=low, high=high))]
        )
    return int(raw)


document(
    "get",
    "/imports/{id}/refused.csv",
    "The refused rows as they came, with an error column (UTF-8 with a BOM)",
    TAG,
    response={"type": "string"},
    response_type="text/csv",
)


@bp.get("/imports/<int:run_id>/refused.csv")
@login_required
def refused(run_id: int) -> Response:
    run = _load(run_id)
    path = run_files.refused_path(_instance(), run.id)
    if not path.exists():
        raise NotFound(
            _("The refused rows have expired.")
            if run.files_expired
            else _("This import has not run yet.")
        )
    response = Response(
        stream_with_context(run_files.refused_csv(_instance(), run.id)), mimetype="text/csv"
    )
    response.headers.set(
        "Content-Disposition", "attachment", filename=f"{Path(run.filename).stem}-refused.csv"
    )
    return response
