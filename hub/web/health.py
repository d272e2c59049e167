"""GET /healthz: the database and Redis, each checked for real."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, jsonify

from hub.core import db, services
from hub.core.auth import public
from hub.web import health_bp as bp


def check_database() -> str | None:
    """None when the database answers, else what went wrong."""
    try:
        db.session().execute(sa.text("SELECT 1"))
    except Exception as exc:  # any driver error means "not healthy"; the reason is reported
        db.session().rollback()
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return None


def check_redis() -> str | None:
    try:
        services.redis().ping()
    except Exception as exc:  # connection refused, timeout, no embedded server...
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return None


@bp.get("/healthz")
@public
def healthz() -> tuple[Response, int]:
    problems = {
        name: err for name, err in (("database", check_database()), ("redis", check_redis())) if err
    }
    checks = {name: problems.get(name, "ok") for name in ("database", "redis")}
    status = 503 if problems else 200
    body: dict[str, object] = {"status": "fail" if problems else "ok", "checks": checks}
    if problems:
        body["failing"] = sorted(problems)
    return jsonify(body), status
