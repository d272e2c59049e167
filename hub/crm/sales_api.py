"""/api/v1 for opportunities, orders and complaints: the same service functions as the pages.

The routes live in `opportunity_api`, `order_api` and `complaint_api`, which hang them on this
blueprint; the scaffolding they share with the receivable and credit APIs (query arguments,
lists, answers after a write) is in `record_routes`.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sales_api", __name__, url_prefix="/api/v1")


# The route modules attach their endpoints to `bp`; importing them here registers them with it.
from hub.crm import complaint_api, opportunity_api, order_api  # noqa: E402, F401
