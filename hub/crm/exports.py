"""Customer lists out to CSV and XLSX, with every cell safe to open in a spreadsheet."""

from __future__ import annotations

# A cell starting with one of these is read as a formula by Excel, LibreOffice or Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with ' so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
