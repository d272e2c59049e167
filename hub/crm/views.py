"""Customer pages."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from hub import db
from hub.auth import login_required, require_user
from hub.crm.customers import CustomerFilters, search_customers

bp = Blueprint("crm", __name__)


@bp.get("/customers")
@login_required
def customers() -> str:
    user = require_user()
    q = request.args.get("q", "")
    cls = request.args.get("class") or None
    if cls not in (None, "A", "B", "C"):
        cls = None
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    region = current_app.config["SETTINGS"].default_region
    page = search_customers(
        db.session(), user, q, CustomerFilters(customer_class=cls), page=number, region=region
    )
    return render_template("customers.html", page=page, q=q, cls=cls)
