"""Customer pages."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from hub import db
from hub.auth import current_user, login_required
from hub.crm.customers import search_customers

bp = Blueprint("crm", __name__)


@bp.get("/customers")
@login_required
def customers() -> str:
    user = current_user()
    assert user is not None
    q = request.args.get("q", "")
    cls = request.args.get("class") or None
    if cls not in (None, "A", "B", "C"):
        cls = None
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    page = search_customers(db.session(), user, q, cls, number)
    return render_template("customers.html", page=page, q=q, cls=cls)
