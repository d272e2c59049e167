"""(Being written.)"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sales_api", __name__, url_prefix="/api/v1")
