"""Sign-in and sign-out pages, with a limit on failed attempts kept in Redis."""

from __future__ import annotations

import logging

from flask import (
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from redis.exceptions import RedisError
from werkzeug.wrappers import Response

from hub.core import db, services
from hub.core.auth import authenticate, current_user, login_session, public
from hub.core.redirects import safe_next
from hub.core.services import RedisNotConfigured
from hub.web import login_bp as bp

log = logging.getLogger(__name__)


def _failure_keys(email: str) -> list[str]:
    return [
        f"hub:login-fail:email:{email.strip().lower()}",
        f"hub:login-fail:ip:{request.remote_addr}",
    ]


def _limits() -> list[int]:
    per_email = current_app.config["LOGIN_MAX_FAILURES"]
    return [per_email, per_email * 4]  # an office shares one address; give it more room


def _blocked_for(email: str) -> int:
    """Seconds until sign-in is allowed again for this email or address; 0 when it is allowed."""
    try:
        conn = services.redis()
        pipe = conn.pipeline()
        for key in _failure_keys(email):
            pipe.get(key)
            pipe.ttl(key)
        values = pipe.execute()
    except (RedisError, RedisNotConfigured):
        # Failing open: with Redis down the hub is degraded already (/healthz says so), and
        # locking every user out would make it worse.
        log.exception("login rate limit unavailable")
        return 0
    wait = 0
    for (count, ttl), limit in zip(
        zip(values[::2], values[1::2], strict=True), _limits(), strict=True
    ):
        if count is not None and int(count) >= limit:
            wait = max(wait, int(ttl))
    return wait


def _record_failure(email: str) -> None:
    try:
        pipe = services.redis().pipeline()
        for key in _failure_keys(email):
            pipe.incr(key)
            pipe.expire(key, current_app.config["LOGIN_FAILURE_WINDOW"], nx=True)
        pipe.execute()
    except (RedisError, RedisNotConfigured):
        log.exception("could not record a failed login")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | tuple[str, int] | Response:
    if current_user() is not None and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    email = request.form.get("email", "")
    if request.method == "POST":
        wait = _blocked_for(email)
        if wait:
            minutes = max(1, (wait + 59) // 60)
            return render_template(
                "login.html",
                email=email,
                error=_(
                    "Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes
                ),
            ), 429
        user = authenticate(db.session(), email, request.form.get("password", ""))
        if user is None:
            db.session().rollback()
            _record_failure(email)
            return render_template(
                "login.html", email=email, error=_("The email or the password is not right.")
            ), 401
        db.session().commit()
        lang = session.get("lang")
        login_session(user)
        if lang and not user.locale:
            session["lang"] = lang
        return redirect(safe_next(request.args.get("next")))
    return render_template("login.html", email=email, error=None)


@bp.route("/logout", methods=["POST"])
@public
def logout() -> Response:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("login.login"))
