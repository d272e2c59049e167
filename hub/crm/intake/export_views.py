"""Downloading the customer list, as filtered and searched on its page, as CSV or XLSX."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Response, current_app, request, send_file
from flask_babel import gettext as _

from hub.core import db
from hub.core.auth import login_required, require_user
from hub.core.clock import stamp
from hub.crm.customers.views import _filters_from_args, region
from hub.crm.intake import exports_bp as bp
from hub.crm.intake.exports import (
    csv_stream,
    disposition,
    export_rows,
    header,
    rows_in_own_session,
    write_xlsx,
)


def _rows() -> Iterator[list[Any]]:
    user = require_user()
    s = db.session()
    filters, _kept = _filters_from_args(s)
    return export_rows(s, user, request.args.get("q", ""), filters, region())


def _name(ext: str) -> str:
    return f"{_('customers')}-{stamp()}.{ext}"


@bp.get("/customers/export.csv")
@login_required
def export_csv() -> Response:
    """The list as CSV, streamed while it is read, from a session of the stream's own."""
    user = require_user()
    filters, _kept = _filters_from_args(db.session())
    rows = rows_in_own_session(
        current_app.extensions["hub.core.db"], user, request.args.get("q", ""), filters, region()
    )
    response = Response(csv_stream(rows, header()), mimetype="text/csv")
    response.headers.set("Content-Disposition", "attachment", **disposition(_name("csv")))
    return response


@bp.get("/customers/export.xlsx")
@login_required
def export_xlsx() -> Response:
    """The list as an Excel workbook, written to a temporary file and sent from it."""
    fd, name = tempfile.mkstemp(suffix=".xlsx", dir=current_app.config["INSTANCE_DIR"])
    os.close(fd)
    try:
        write_xlsx(_rows(), Path(name))
        response = send_file(
            name,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=_name("xlsx"),
        )
    except BaseException:
        os.unlink(name)
        raise
    response.call_on_close(lambda: os.unlink(name))
    return response
