"""Reading spreadsheets as they come: the encoding of a CSV, rows streamed from CSV or XLSX, and
which row is the header and which column holds what (English and Chinese headers)."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

from hub.crm.intake.cleaning import cell_text, clean_text

CHUNK = 1 << 16
HEADER_SCAN_ROWS = 10
# csv refuses a field over 128 KiB by default; a notes cell can be long, a whole file in one cell not.
csv.field_size_limit(1 << 20)
# Bounds that tell a spreadsheet from a bomb. A real customer list has tens of columns; a line of
# a CSV that is megabytes long, or a workbook that unpacks a thousandfold, is not one.
MAX_COLUMNS = 1000
MAX_LINE = 4 << 20  # characters in one line of a CSV
MAX_XLSX_UNPACKED = 2 << 30  # all parts of a workbook together, unpacked
MAX_XLSX_STRINGS = 128 << 20  # the shared strings part, which openpyxl holds in memory
MAX_XLSX_RATIO = 200  # unpacked to packed, for a part over 16 MiB


class UnreadableFile(ValueError):
    """The file is not a spreadsheet the importer can read; the message says why."""


# --- encodings --------------------------------------------------------------------------------


def detect_encoding(path: Path) -> str:
    """The Python codec name for a CSV: a BOM decides; else UTF-16 by its zero bytes; else UTF-8
    if the whole file decodes as UTF-8 (checked streaming); else GB18030 (a superset of GBK and
    GB2312, the usual encoding of files saved by a Chinese Excel)."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        sample = f.read(CHUNK)
        if len(sample) >= 2 and sample.count(0) * 4 >= len(sample):
            # Every other byte zero: UTF-16 without a BOM; the zero's side tells the order.
            return "utf-16-le" if sample[1::2].count(0) > sample[0::2].count(0) else "utf-16-be"
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while sample:
                decoder.decode(sample)
                sample = f.read(CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


# --- rows -------------------------------------------------------------------------------------


def file_format(filename: str) -> str:
    """'csv' or 'xlsx' from the name; anything else is refused with the reason."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".xls":
        raise UnreadableFile(
            str(_l("Old Excel files (.xls) cannot be read: save the file as .xlsx or CSV."))
        )
    raise UnreadableFile(str(_l("Upload a CSV or an Excel (.xlsx) file.")))


def _sniff_dialect(path: Path, encoding: str) -> type[csv.Dialect] | csv.Dialect:
    with path.open(encoding=encoding, newline="", errors="replace") as f:
        sample = f.read(CHUNK)
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def iter_rows(
    path: Path, fmt: str, encoding: str | None = None, clean: bool = True
) -> Iterator[list[str]]:
    """Every row as a list of cleaned-up cell texts (`clean=False`: a CSV's cells as written),
    streamed: memory stays flat however long."""
    if fmt == "xlsx":
        yield from _xlsx_rows(path)
        return
    encoding = encoding or detect_encoding(path)
    dialect = _sniff_dialect(path, encoding)
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(_bounded_lines(f), dialect)
        try:
            for row in reader:
                _check_width(reader.line_num, len(row))
                yield [clean_text(c) for c in row] if clean else row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(
                str(_l("The file cannot be read as CSV: %(reason)s", reason=str(exc)))
            ) from exc


def _bounded_lines(f: Any) -> Iterator[str]:
    """The file's lines, refusing one longer than MAX_LINE before it is all in memory."""
    number = 0
    while line := f.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE:
            raise UnreadableFile(str(_l(
                "Line %(line)d is longer than %(size)s characters: this is not a spreadsheet row.",
                line=number, size=f"{MAX_LINE:,}",
            )))
        yield line


def _check_width(line: int, columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise UnreadableFile(str(_l(
            "Row %(line)d has %(count)s columns; at most %(max)s are read.",
            line=line, count=f"{columns:,}", max=f"{MAX_COLUMNS:,}",
        )))


def check_workbook(path: Path) -> None:
    """Refuse a workbook whose parts unpack to more than a spreadsheet could hold (a zip bomb),
    from the sizes its directory declares, before anything is unpacked."""
    from zipfile import BadZipFile, ZipFile

    try:
        with ZipFile(path) as archive:
            parts = archive.infolist()
    except (BadZipFile, OSError) as exc:
        raise UnreadableFile(str(_l("The file is not a readable .xlsx workbook."))) from exc
    mib = 1 << 20
    total = sum(p.file_size for p in parts)
    if total > MAX_XLSX_UNPACKED:
        raise UnreadableFile(str(_l(
            "The workbook unpacks to %(size)s MiB; at most %(max)s MiB are read.",
            size=f"{total // mib:,}", max=f"{MAX_XLSX_UNPACKED // mib:,}",
        )))
    for part in parts:
        if part.filename.endswith("sharedStrings.xml") and part.file_size > MAX_XLSX_STRINGS:
            raise UnreadableFile(str(_l(
                "The workbook's shared text unpacks to %(size)s MiB; at most %(max)s MiB are read.",
                size=f"{part.file_size // mib:,}", max=f"{MAX_XLSX_STRINGS // mib:,}",
            )))
        if part.file_size > 16 * mib and part.file_size > MAX_XLSX_RATIO * max(1, part.compress_size):
            raise UnreadableFile(str(_l(
                "%(part)s in the workbook unpacks %(ratio)s times larger than it is packed: a "
                "compression bomb, not a spreadsheet.",
                part=part.filename, ratio=f"{part.file_size // max(1, part.compress_size):,}",
            )))


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    check_workbook(path)
    try:
        # read_only streams the sheet's XML instead of building the whole workbook in memory.
        wb = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise UnreadableFile(str(_l("The file is not a readable .xlsx workbook."))) from exc
    try:
        ws = wb.worksheets[0]
        for number, row in enumerate(ws.iter_rows(values_only=True), 1):
            _check_width(number, len(row))
            yield [cell_text(c) for c in row]
    finally:
        wb.close()


def count_data_rows(path: Path, fmt: str, encoding: str | None, header_row: int) -> int:
    """How many rows under the header are not blank (a streaming pass), for the progress bar.
    A row is blank when every cell cleans to nothing; cleaning stops at its first cell with
    text, so counting costs a fraction of reading."""
    rows = iter_rows(path, fmt, encoding, clean=False)
    return sum(
        1
        for number, cells in enumerate(rows, start=1)
        if number > header_row and any(clean_text(c) for c in cells)
    )


# --- headers and mapping ----------------------------------------------------------------------

# The fields a column can fill. "phone" and "email" may be chosen for several columns (a mobile
# and a landline column); the others once.
TARGETS: dict[str, object] = {
    "name": _l("Customer name"),
    "contact_name": _l("Contact person"),
    "title": _l("Contact's title"),
    "phone": _l("Phone"),
    "email": _l("Email"),
    "address": _l("Address"),
    "city": _l("City"),
    "region": _l("Region"),
    "industry": _l("Industry"),
    "postcode": _l("Postcode"),
    "website": _l("Website"),
    "notes": _l("Notes"),
}
REPEATABLE = ("phone", "email")

ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "客户名称", "客户名", "客户", "公司名称", "公司", "企业名称", "企业", "单位名称", "单位",
        "名称", "商家", "店铺", "company", "company name", "customer", "customer name", "name",
        "organization", "organisation", "account", "account name", "business",
    ),
    "contact_name": (
        "联系人", "联系人姓名", "姓名", "负责人", "contact", "contact name", "contact person",
        "person", "full name", "first name",
    ),
    "title": ("职位", "职务", "title", "job title", "position", "role"),
    "phone": (
        "电话", "手机", "座机", "手机号", "手机号码", "联系电话", "电话号码", "联系方式", "固话",
        "固定电话", "办公电话", "移动电话", "phone", "mobile", "tel", "telephone", "landline",
        "cell", "phone number", "mobile phone", "work phone", "office phone",
    ),
    "email": ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail", "email address"),
    "address": ("地址", "详细地址", "公司地址", "联系地址", "address", "street", "street address"),
    "city": ("城市", "所在城市", "市", "city", "town"),
    "region": ("省份", "省", "地区", "区域", "所在地区", "region", "province", "state"),
    "industry": ("行业", "所属行业", "行业类别", "industry", "sector"),
    "postcode": ("邮编", "邮政编码", "postcode", "post code", "zip", "zip code", "postal code"),
    "website": ("网站", "网址", "官网", "主页", "website", "web", "url", "homepage"),
    "notes": ("备注", "说明", "备注信息", "notes", "note", "remark", "remarks", "comments", "comment"),
}  # fmt: skip
_BY_ALIAS = {alias: target for target, aliases in ALIASES.items() for alias in aliases}
# Longest first, so "联系电话" is read as a phone before "联系人" could claim it.
_ALIASES_LONGEST = sorted(_BY_ALIAS, key=len, reverse=True)
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】")


def _header_key(text: str) -> str:
    text = _BRACKETED.sub("", clean_text(text).lower())
    return re.sub(r"[\s:*#._]+", " ", text).strip()


def guess_target(header: str) -> str:
    """The field a header names ("手机号码(必填)" is a phone), or "" when it is not recognised."""
    key = _header_key(header)
    if not key:
        return ""
    if key in _BY_ALIAS:
        return _BY_ALIAS[key]
    compact = key.replace(" ", "")
    for alias in _ALIASES_LONGEST:
        # A Chinese alias inside a longer header ("客户联系电话"); Latin ones only as whole words.
        if alias.isascii():
            if re.search(rf"(?<![a-z]){re.escape(alias)}(?![a-z])", key):
                return _BY_ALIAS[alias]
        elif len(alias) >= 2 and alias in compact:
            return _BY_ALIAS[alias]
    return ""


def guess_mapping(headers: list[str]) -> list[str]:
    """A target per column; a field that may appear once goes to its first column only."""
    taken: set[str] = set()
    mapping = []
    for header in headers:
        target = guess_target(header)
        if target and target not in REPEATABLE and target in taken:
            target = ""
        taken.add(target)
        mapping.append(target)
    return mapping


def find_header(rows: list[list[str]]) -> int:
    """The index of the header among the first rows: the one naming the most known fields (a
    title line such as "客户名单 2026" above it is skipped); the first non-empty row otherwise."""
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = sum(1 for cell in row if guess_target(cell))
        if score > best_score:
            best, best_score = i, score
    if best is not None:
        return best
    return next((i for i, row in enumerate(rows) if any(row)), 0)
