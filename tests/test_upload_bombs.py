"""Uploads built to hurt the importer: a workbook that unpacks a thousandfold, shared text too big
to hold, a CSV line of megabytes, a row of thousands of columns, a body over the upload limit.
Each is refused at upload with the reason, quickly and in bounded memory, and nothing is kept."""

from __future__ import annotations

import io
import re
import resource
import time
import zipfile

import sqlalchemy as sa

from hub.crm.intake.import_models import ImportRun
from tests.conftest import csrf_token

PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
}
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>"
)
ROW = '<row><c t="inlineStr"><is><t>Acme</t></is></c><c t="inlineStr"><is><t>13800138000</t></is></c></row>'


def workbook(sheet_rows: int = 2, shared_bytes: int = 0, row: str = ROW) -> bytes:
    """A valid .xlsx; `sheet_rows` repeated rows and `shared_bytes` of shared text, streamed
    through the compressor so the test never holds what the file unpacks to."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(SHEET_HEAD.encode())
            block = (row * 1000).encode()
            for _ in range(sheet_rows // 1000):
                part.write(block)
            part.write((row * (sheet_rows % 1000)).encode() + b"</sheetData></worksheet>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            block = b"<si><t>" + b"x" * 1000 + b"</t></si>"
            for _ in range(shared_bytes // len(block)):
                part.write(block)
            part.write(b"</sst>")
    return out.getvalue()


def _upload(client, data: bytes, name: str):
    return client.post(
        "/imports",
        data={"csrf_token": csrf_token(client, "/imports"), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _refused(client, db, data: bytes, name: str) -> str:
    started = time.monotonic()
    response = _upload(client, data, name)
    took = time.monotonic() - started
    text = response.get_data(as_text=True)
    assert response.status_code == 422, (response.status_code, text[:500])
    assert took < 30, f"took {took:.1f}s to refuse"  # refused from the sizes, not after unpacking
    assert db.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 0  # nothing kept
    return text


def test_a_workbook_that_unpacks_a_thousandfold_is_refused_before_it_is_unpacked(client, signed_in, db):
    signed_in("agent")
    padding = '<row><c t="inlineStr"><is><t>' + "A" * 4000 + "</t></is></c></row>"
    bomb = workbook(sheet_rows=20_000, row=padding)  # ~80 MiB of rows in about 100 KiB
    assert len(bomb) < (256 << 10)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    text = _refused(client, db, bomb, "customers.xlsx")
    assert "compression bomb" in text and "xl/worksheets/sheet1.xml" in text
    grew_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grew_mib < 64, f"memory grew {grew_mib:.0f} MiB"
    # The same workbook, small, is an ordinary upload.
    assert _upload(client, workbook(sheet_rows=5), "small.xlsx").status_code == 302


def test_shared_text_too_big_to_hold_is_refused(client, signed_in, db):
    signed_in("agent")
    text = _refused(client, db, workbook(shared_bytes=140 << 20), "customers.xlsx")
    assert re.search(r"shared text unpacks to 1[34]\d MiB; at most 128 MiB are read", text)


def test_a_csv_line_of_megabytes_is_refused_naming_the_line(client, signed_in, db):
    signed_in("agent")
    data = b"name,phone\nAcme,13800138000\n" + b"x" * (5 << 20) + b"\n"
    text = _refused(client, db, data, "customers.csv")
    assert "Line 3 is longer than 4,194,304 characters" in text


def test_a_row_of_thousands_of_columns_is_refused_naming_the_row(client, signed_in, db):
    signed_in("agent")
    data = b"name,phone\n" + b"," * 5000 + b"\n"
    text = _refused(client, db, data, "customers.csv")
    assert "Row 2 has 5,001 columns; at most 1,000 are read." in text


def test_an_upload_over_the_limit_is_refused_before_it_is_read(client, signed_in, db, app):
    signed_in("agent")
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = _upload(client, b"name\n" + b"a\n" * (limit // 2 + 1), "customers.csv")
    assert response.status_code == 413
    assert db.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 0
