"""The JSON API under /api/v1: bearer tokens, problem+json errors."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from werkzeug.wrappers import Response

from hub.core import services
from hub.core.apikit import document, openapi_document
from hub.core.auth import login_required, require_user, roles_required
from hub.web import api_bp as bp
from hub.web.system import request_worker_check


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


document(
    "get",
    "/me",
    "Who the token belongs to",
    "account",
    response={
        "type": "object",
        "properties": {
            k: {"type": t}
            for k, t in (
                ("id", "integer"),
                ("email", "string"),
                ("name", "string"),
                ("role", "string"),
                ("locale", ["string", "null"]),
                ("active", "boolean"),
            )
        },
    },
)
document(
    "post",
    "/system/worker-checks",
    "Queue a check on every queue",
    "system",
    body=None,
    response={"type": "object", "properties": {"jobs": {"type": "array"}}},
    status=202,
    roles="admin",
)
document("get", "/openapi.json", "This document", "system", response={"type": "object"})


@bp.get("/openapi.json")
@login_required
def openapi() -> Response:
    return jsonify(openapi_document(url_for("api.me", _external=True).rsplit("/me", 1)[0]))


@bp.post("/system/worker-checks")
@roles_required()
def worker_checks() -> tuple[Response, int]:
    """Queue one check on every queue; GET /admin/system (or the database) shows who ran them."""
    return jsonify({"jobs": request_worker_check(services.redis())}), 202
