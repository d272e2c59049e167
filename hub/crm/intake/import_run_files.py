"""An import run's files: where its upload and reports are kept, the row report and the refused
rows written as the rows go in, and both read back in the reader's language."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from hub.core import problems
from hub.core.cells import neutralize
from hub.core.refusals import FieldError
from hub.crm.intake.import_models import ImportRun


def run_dir(instance_dir: Path, run_id: int) -> Path:
    """Where a run keeps its uploaded file and its reports."""
    return instance_dir / "imports" / str(run_id)


def source_path(instance_dir: Path, run: ImportRun) -> Path:
    return run_dir(instance_dir, run.id) / f"source.{run.file_format}"


def report_path(instance_dir: Path, run_id: int) -> Path:
    return run_dir(instance_dir, run_id) / "report.csv"


def refused_path(instance_dir: Path, run_id: int) -> Path:
    return run_dir(instance_dir, run_id) / "refused.csv"


class ReportWriter:
    """The row report (row, column, what is wrong) and the refused rows as they came, with an
    error column; both UTF-8 with a BOM so Excel opens them right in either language.

    Each problem is kept as its code and parameters (hub/core/problems.py) beside the words of the
    job's language; pages and downloads word it again in the reader's language."""

    def __init__(self, instance_dir: Path, run_id: int, headers: list[str]) -> None:
        self.report_file = report_path(instance_dir, run_id)
        self.refused_file = refused_path(instance_dir, run_id)
        self.headers = headers

    def __enter__(self) -> ReportWriter:
        self._report = self.report_file.open("w", encoding="utf-8-sig", newline="")
        self._refused = self.refused_file.open("w", encoding="utf-8-sig", newline="")
        self.report = csv.writer(self._report)
        self.refused = csv.writer(self._refused)
        self.report.writerow(["row", "column", "problem", "code", "params"])
        self.refused.writerow([neutralize(h) for h in self.headers] + [_("Error")])
        return self

    def refuse(self, number: int, cells: list[str], errors: list[FieldError]) -> None:
        for e in errors:
            self.report.writerow(
                [
                    number,
                    neutralize(e.field),
                    neutralize(e.message),
                    e.code or "",
                    json.dumps(e.params or {}, ensure_ascii=False),
                ]
            )
        self.refused.writerow([neutralize(c) for c in cells] + [problems.dump(errors)])

    def __exit__(self, *exc: object) -> None:
        self._report.close()
        self._refused.close()


def read_report(
    instance_dir: Path, run_id: int, limit: int = 200, offset: int = 0
) -> list[list[str]]:
    """`limit` lines of the row report after the first `offset`, for the page and the API (the
    file has them all)."""
    path = report_path(instance_dir, run_id)
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = itertools.islice(csv.reader(f), 1 + offset, 1 + offset + limit)
        return [_report_line(line) for line in lines]


def _report_line(line: list[str]) -> list[str]:
    """[row, column, problem] in the reader's language; a report written before codes (three
    cells of plain text) as it was written."""
    if len(line) < 5:
        return (line + ["", "", ""])[:3]
    try:
        params = json.loads(line[4]) if line[4] else {}
    except ValueError:
        params = {}
    return [line[0], line[1], problems.problem_text(line[3], params, line[2])]


def report_csv(instance_dir: Path, run_id: int) -> Iterator[str]:
    """The whole row report as CSV text in the reader's language (headings included)."""
    path = report_path(instance_dir, run_id)
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = csv.reader(f)
        next(lines, None)
        yield from _csv_text(
            [_("Row"), _("Column"), _("Problem")],
            ([r, c, neutralize(p)] for r, c, p in map(_report_line, lines)),
        )


def refused_csv(instance_dir: Path, run_id: int) -> Iterator[str]:
    """The refused rows as they came, the error column in the reader's language."""
    path = refused_path(instance_dir, run_id)
    with path.open(encoding="utf-8-sig", newline="") as f:
        lines = csv.reader(f)
        headings = next(lines, [])
        yield from _csv_text(
            headings[:-1] + [_("Error")],
            (line[:-1] + [neutralize(problems.render(line[-1]))] for line in lines if line),
        )


def _csv_text(headings: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # a BOM, so Excel reads the UTF-8 right
    writer.writerow(headings)
    for i, row in enumerate(rows, start=1):
        writer.writerow(row)
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
