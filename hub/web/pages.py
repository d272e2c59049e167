"""The start page and the language switch."""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import LOCALES, current_user, login_required, public, require_user
from hub.core.redirects import safe_next
from hub.crm.customers.lookup import class_counts
from hub.web import pages_bp as bp


@bp.get("/")
@login_required
def index() -> str:
    user = require_user()
    counts = class_counts(db.session(), user)
    return render_template("index.html", counts=counts, total=sum(counts.values()))


@bp.post("/language")
@public
def set_language() -> Response:
    """Remember the chosen language: on the account when signed in, in the session otherwise."""
    lang = request.form.get("lang", "")
    if lang in LOCALES:
        session["lang"] = lang
        user = current_user()
        if user is not None:
            user.locale = lang
            db.session().commit()
    return redirect(safe_next(request.form.get("next") or url_for("pages.index")))
