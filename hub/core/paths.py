"""Where the package's own files are: templates, static files, translations, migrations."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
