"""Headless Chromium for the page tests: Debian's build, driven by Playwright (TESTING.md)."""

from __future__ import annotations

import os
from typing import Any

from tests.conftest import PASSWORD, PATIENCE, REPO

CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def new_page(browser: Any, **context: Any) -> Any:
    ctx = browser.new_context(**context)
    # Every wait (a click's target, a selector, a navigation) may take as long as any condition
    # a test waits for: a loaded CI machine, not a slow hub, is what makes a page late.
    ctx.set_default_timeout(PATIENCE * 1000)
    ctx.set_default_navigation_timeout(PATIENCE * 1000)
    return ctx.new_page()


def sign_in(page: Any, base: str, user: Any, path: str | None = "/login") -> None:
    if path:
        page.goto(base + path)
    # By name, not label: the same helper signs in on Chinese pages.
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button.primary").click()
