"""The navigation's counts: what is due for the signed-in user, and the nurture pool's size."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from hub.core import db
from hub.core.auth import Role


def nav_counts() -> dict[str, int]:
    """Counted once per request, only when a page with the navigation is rendered."""
    if "nav_counts" not in g:
        from hub.core.clock import business_today
        from hub.crm.followups.reminders import due_count
        from hub.crm.sales.opportunity_pipeline import can_work_pool, nurture_count

        user = g.get("user")
        counts = {"due": 0, "nurture": 0}
        if user is not None:
            s = db.session()
            if user.role != Role.SPECIALIST:
                counts["due"] = due_count(s, user, business_today())
            if can_work_pool(user):
                counts["nurture"] = nurture_count(s)
        g.nav_counts = counts
    return g.nav_counts


def init_app(app: Flask) -> None:
    @app.context_processor
    def _nav() -> dict[str, Any]:
        return {"nav_counts": nav_counts}
