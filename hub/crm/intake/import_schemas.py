"""The JSON of /api/v1/imports: the schemas its documentation shows, and an import run as the API
returns it."""

from __future__ import annotations

from typing import Any

from flask import url_for

from hub.crm.customers.models import Stage
from hub.crm.intake.import_files import TARGETS
from hub.crm.intake.import_jobs import read_progress
from hub.crm.intake.import_models import OUTCOMES, ROW_OUTCOMES, ImportRun

STAGES = [Stage.LEAD.value, Stage.PROSPECT.value, Stage.CUSTOMER.value]

_COUNTS = {
    "anyOf": [
        {"type": "object", "properties": {k: {"type": "integer"} for k in OUTCOMES}},
        {"type": "null"},
    ]
}
_NULLABLE_TIME = {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
RUN_OUT = {
    "type": "object",
    "required": ["id", "status", "headers", "mapping"],
    "properties": {
        "id": {"type": "integer"},
        "filename": {"type": "string"},
        "file_format": {"type": "string", "enum": ["csv", "xlsx"]},
        "encoding": {"type": ["string", "null"]},
        "status": {
            "type": "string",
            "enum": ["uploaded", "checking", "checked", "importing", "done", "failed"],
        },
        "header_row": {"type": "integer"},
        "headers": {"type": "array", "items": {"type": "string"}},
        "mapping": {"type": "array", "items": {"type": "string"}},
        "stage": {"type": "string"},
        "owner_id": {"type": ["integer", "null"]},
        "rows_total": {"type": ["integer", "null"]},
        "progress": {
            "type": "object",
            "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
        },
        "dry_run_counts": _COUNTS,
        "counts": _COUNTS,
        "error": {"type": ["string", "null"]},
        "files_expired": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": _NULLABLE_TIME,
        "finished_at": _NULLABLE_TIME,
        "report_url": {"type": "string", "format": "uri"},
        "refused_url": {"type": "string", "format": "uri"},
        "rows_url": {"type": "string", "format": "uri"},
    },
}
_MAPPING = {
    "type": "array",
    "items": {"type": "string", "enum": ["", *TARGETS]},
    "description": "One field per column, in the file's order; an empty string skips a column",
}
OPTIONS_IN = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "mapping": _MAPPING,
        "stage": {"type": "string", "enum": STAGES, "description": "Stage of new customers"},
        "owner_id": {
            "type": "integer",
            "description": "Who new customers go to (directors and admins; default: you)",
        },
    },
}
UPLOAD_IN = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "A .csv or .xlsx file"},
        "mapping": {
            "type": "string",
            "description": 'The mapping as a JSON array, e.g. ["name", "", "phone"]; default: '
            "guessed from the headings",
        },
        "stage": {"type": "string", "enum": STAGES},
        "owner_id": {"type": "integer"},
    },
}
REPORT_OUT = {
    "type": "object",
    "properties": {
        "row": {"type": "integer", "description": "The row's number in the spreadsheet"},
        "column": {"type": "string"},
        "problem": {"type": "string"},
    },
}

ROW_OUT = {
    "type": "object",
    "properties": {
        "row": {"type": "integer", "description": "As the spreadsheet numbers it"},
        "outcome": {"type": "string", "enum": list(ROW_OUTCOMES)},
        "customer_id": {"type": ["integer", "null"]},
        "customer_url": {"type": ["string", "null"], "format": "uri"},
        "problems": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def run_json(run: ImportRun) -> dict[str, Any]:
    """An import run as RUN_OUT describes it, with its progress while it runs."""
    done, total = read_progress(run.id) if run.running else (0, 0)
    return {
        "id": run.id,
        "filename": run.filename,
        "file_format": run.file_format,
        "encoding": run.encoding,
        "status": run.status,
        "header_row": run.header_row,
        "headers": list(run.headers),
        "mapping": list(run.mapping),
        "stage": run.stage,
        "owner_id": run.owner_id,
        "rows_total": run.rows_total,
        "progress": {"done": done, "total": total or run.rows_total or 0},
        "dry_run_counts": run.dry_run_counts,
        "counts": run.counts,
        "error": run.error,
        "files_expired": run.files_expired,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "report_url": url_for("import_api.report", run_id=run.id, _external=True),
        "refused_url": url_for("import_api.refused", run_id=run.id, _external=True),
        "rows_url": url_for("import_api.rows", run_id=run.id, _external=True),
    }
