"""The JSON API under /api/v1: bearer tokens, problem+json errors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from werkzeug.wrappers import Response

from hub import services
from hub.auth import login_required, require_user, roles_required
from hub.system import request_worker_check

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def user_json(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "locale": user.locale,
        "active": user.active,
    }


@bp.get("/me")
@login_required
def me() -> Response:
    """Who the token belongs to."""
    return jsonify(user_json(require_user()))


@bp.post("/system/worker-checks")
@roles_required()
def worker_checks() -> tuple[Response, int]:
    """Queue one check on every queue; GET /admin/system (or the database) shows who ran them."""
    return jsonify({"jobs": request_worker_check(services.redis())}), 202
