"""Where a page may send people back to after a sign-in or an action: only paths on this site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def safe_next(target: str | None) -> str:
    # Only same-site paths: an open redirect after login is a phishing tool.
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or urlsplit(target).netloc
    ):
        return url_for("pages.index")
    return target
