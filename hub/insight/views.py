"""The dashboard pages and each chart's CSV download (the same filters, the same numbers)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, render_template, request

from hub.core import db
from hub.core.auth import Role, User, login_required, require_user, roles_required
from hub.core.charts import COLOURS
from hub.core.clock import business_zone, utcnow
from hub.core.formatting import datetime_text
from hub.core.refusals import ValidationError
from hub.crm.intake.exports import csv_stream
from hub.insight import insight_bp as bp
from hub.insight import summaries
from hub.insight.dashboards import AGENT, DIRECTOR, SPECIALIST, Dashboard
from hub.insight.filters import CHANNELS, CLASSES, Filters, parse_filters


def _filters() -> Filters:
    return parse_filters(request.args, utcnow(), business_zone())


def _page(dashboard: Dashboard) -> tuple[str, int]:
    viewer = require_user()
    s = db.session()
    errors: dict[str, str] = {}
    charts: list[Any] = []
    filters = None
    try:
        filters = _filters()
        charts = dashboard.render(s, viewer, filters)
    except ValidationError as exc:
        errors = exc.as_dict()
    owners = []
    if not dashboard.own_work:
        owners = s.scalars(sa.select(User).where(User.active).order_by(User.name, User.email)).all()
    refreshed = summaries.refreshed_at(s)
    page = render_template(
        "insight.html",
        refreshed=datetime_text(refreshed) if refreshed else None,
        dashboard=dashboard,
        charts=charts,
        filters=filters,
        errors=errors,
        args=request.args,
        owners=owners,
        classes=CLASSES,
        channels=CHANNELS,
        colours=COLOURS,
    )
    return page, 422 if errors else 200


def _csv(dashboard: Dashboard, chart_key: str) -> Response:
    chart = dashboard.chart(db.session(), require_user(), _filters(), chart_key)
    headings, rows = chart.table()
    return Response(
        csv_stream(iter(rows), headings),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{dashboard.name}-{chart.key}.csv"'},
    )


@bp.get("/director")
@roles_required(Role.DIRECTOR)
def director() -> tuple[str, int]:
    return _page(DIRECTOR)


@bp.get("/director/<chart>.csv")
@roles_required(Role.DIRECTOR)
def director_csv(chart: str) -> Response:
    return _csv(DIRECTOR, chart)


@bp.get("/specialist")
@roles_required(Role.SPECIALIST, Role.DIRECTOR)
def specialist() -> tuple[str, int]:
    return _page(SPECIALIST)


@bp.get("/specialist/<chart>.csv")
@roles_required(Role.SPECIALIST, Role.DIRECTOR)
def specialist_csv(chart: str) -> Response:
    return _csv(SPECIALIST, chart)


@bp.get("/agent")
@login_required
def agent() -> tuple[str, int]:
    return _page(AGENT)


@bp.get("/agent/<chart>.csv")
@login_required
def agent_csv(chart: str) -> Response:
    return _csv(AGENT, chart)
