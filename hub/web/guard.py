"""The access check every request passes through, driven by the rule each view declares."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from hub.core import db
from hub.core.auth import (
    ANY_USER,
    PUBLIC,
    access_rule,
    bearer_token,
    load_session_user,
    user_for_token,
)
from hub.core.errors import is_api_request, problem, render_error
from hub.core.refusals import FieldError, ValidationError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_EXEMPT = ("/webhooks/", "/unsubscribe/")
# What a signed-in user whose password someone else chose may reach before choosing their own.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"admin.password", "admin.change_password"})
csrf = CSRFProtect()


def refuse_nul() -> None:
    """A NUL in a query or form value is never typed by a person, and PostgreSQL cannot store or
    compare it: refused up front as a field error naming the parameter (422), instead of failing
    deep in a query."""
    # Multipart bodies (uploads, Inbound Parse) are not parsed here: they may be large.
    sources = (
        [request.args]
        if request.mimetype == "multipart/form-data"
        else [request.args, request.form]
    )
    for source in sources:
        for name, values in source.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                field = name.replace("\x00", "")
                raise ValidationError([FieldError(field, _("Contains a NUL character."))])


def enforce_access() -> Any:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    rule = access_rule(view)
    if request.endpoint == "static":
        rule = PUBLIC
    if is_api_request():
        token = bearer_token()
        g.user = user_for_token(db.session(), token) if token else None
        if g.user is None:
            # Every /api/v1 path, known or not, answers 401 alike: no probing for routes.
            db.session().rollback()
            return problem(
                401,
                _("Sign-in required"),
                _("Send a valid API token as 'Authorization: Bearer <token>'."),
                headers={"WWW-Authenticate": 'Bearer realm="contact-hub"'},
            )
        db.session().commit()  # keeps last_used_at (a no-op when nothing changed)
    else:
        # Webhooks carry a provider's signature instead of a CSRF token (checked in the view).
        # Unsubscribing is one click from a mail client, guarded by the signed token in its URL.
        if request.method not in SAFE_METHODS and not request.path.startswith(CSRF_EXEMPT):
            csrf.protect()  # raises CSRFError, answered as 400 with a message
        g.user = load_session_user(db.session())
    if rule == PUBLIC:
        return None
    if g.user is None:
        return redirect(url_for("login.login", next=request.full_path.rstrip("?")))
    if (
        g.user.must_change_password
        and not is_api_request()  # a token is not a password, and whoever made it chose it
        and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS
    ):
        target = request.full_path.rstrip("?") if request.method in SAFE_METHODS else None
        return redirect(url_for("admin.password", next=target))
    if view is None:
        return None  # a routing error (404/405) for a signed-in user: let Flask answer it
    if rule == ANY_USER:
        return None
    if rule is None or g.user.role not in rule:
        return render_error(403)
    return None


def init_app(app: Flask) -> None:
    # CSRF is checked inside enforce_access, so that the API (bearer tokens, no cookies) is left
    # out by path, known route or not, and answers 401 before anything else.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)
    app.before_request(refuse_nul)
    app.before_request(enforce_access)
