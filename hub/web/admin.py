"""People and access: the admin's user list, and each user's own account and API tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import (
    ROLES,
    ApiToken,
    AuthError,
    User,
    change_own_password,
    create_token,
    create_user,
    generate_password,
    login_required,
    login_session,
    require_user,
    reset_password,
    revoke_token,
    roles_required,
)
from hub.core.pagination import page_arg, paginate
from hub.core.redirects import safe_next
from hub.web import admin_bp as bp


@bp.get("/admin/users")
@roles_required()
def users() -> str:
    q = request.args.get("q", "").strip()
    stmt = sa.select(User).order_by(User.email)
    if q:
        stmt = stmt.where(
            sa.or_(
                User.email.contains(q.lower(), autoescape=True),
                User.name.contains(q, autoescape=True),
            )
        )
    return render_template(
        "admin_users.html",
        page=paginate(db.session(), stmt, page_arg()),
        q=q,
        roles=ROLES,
        form={},
        errors={},
    )


@bp.post("/admin/users")
@roles_required()
def create_user_view() -> tuple[str, int] | Response:
    form = {k: request.form.get(k, "") for k in ("email", "name", "role", "password")}
    password = form["password"] or generate_password()
    s = db.session()
    try:
        # Typed or generated, the password is the admin's choice: the user picks their own.
        user = create_user(
            s, form["email"], form["role"], password, name=form["name"], must_change_password=True
        )
    except AuthError as exc:
        s.rollback()
        stmt = sa.select(User).order_by(User.email)
        return render_template(
            "admin_users.html",
            page=paginate(s, stmt, 1),
            q="",
            roles=ROLES,
            form=form,
            errors={exc.field: exc.message},
        ), 422
    s.commit()
    if form["password"]:
        flash(_("User %(email)s created.", email=user.email), "success")
    else:
        flash(
            _(
                "User %(email)s created. Their one-time password is %(password)s. Pass it on "
                "safely; it is not shown again. They choose their own at their first sign-in.",
                email=user.email,
                password=password,
            ),
            "success",
        )
    return redirect(url_for("admin.users"))


@bp.post("/admin/users/<int:user_id>")
@roles_required()
def update_user(user_id: int) -> Response:
    s = db.session()
    user = s.get(User, user_id) or abort(404)
    me = require_user()
    role = request.form.get("role", user.role)
    active = request.form.get("active") == "1"
    if user.id == me.id and (role != user.role or not active):
        flash(_("You cannot change your own role or deactivate yourself."), "error")
        return redirect(url_for("admin.users"))
    if role not in ROLES:
        flash(_("Unknown role %(role)s.", role=role), "error")
        return redirect(url_for("admin.users"))
    user.role = role
    if user.active and not active:
        user.session_key = generate_password()  # signs the user out everywhere
    user.active = active
    s.commit()
    flash(_("User %(email)s updated.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/admin/users/<int:user_id>/password")
@roles_required()
def reset_password_view(user_id: int) -> Response:
    s = db.session()
    user = s.get(User, user_id) or abort(404)
    if user.id == require_user().id:
        flash(_("Change your own password on the Account page."), "error")
        return redirect(url_for("admin.users"))
    password = reset_password(user)
    s.commit()
    flash(
        _(
            "New one-time password for %(email)s: %(password)s. Pass it on safely; it is not "
            "shown again. They were signed out and choose their own at their next sign-in.",
            email=user.email,
            password=password,
        ),
        "success",
    )
    return redirect(url_for("admin.users"))


def _my_tokens(user: User) -> list[ApiToken]:
    return list(
        db.session().scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


@bp.get("/account")
@login_required
def account() -> str:
    user = require_user()
    # Shown once: popped from the session on the redirect that follows its creation.
    new_token = session.pop("new_token", None)
    return render_template("account.html", tokens=_my_tokens(user), new_token=new_token, errors={})


@bp.post("/account/tokens")
@login_required
def create_token_view() -> tuple[str, int] | Response:
    user = require_user()
    s = db.session()
    try:
        token = create_token(s, user, request.form.get("name", ""))
    except AuthError as exc:
        s.rollback()
        page = render_template(
            "account.html", tokens=_my_tokens(user), new_token=None, errors={exc.field: exc.message}
        )
        return page, 422
    s.commit()
    # Post/redirect/get: a reload must not create a second token.
    session["new_token"] = token
    return redirect(url_for("admin.account"))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token_view(token_id: int) -> Response:
    user = require_user()
    if revoke_token(db.session(), user, token_id):
        db.session().commit()
        flash(_("The token was revoked; requests that use it are refused from now on."), "success")
    else:
        flash(_("No such active token."), "error")
    return redirect(url_for("admin.account"))


@bp.get("/account/password")
@login_required
def password() -> str:
    return render_template(
        "password.html", forced=require_user().must_change_password, errors={}, next=_next_arg()
    )


def _next_arg() -> str:
    return request.values.get("next", "")


@bp.post("/account/password")
@login_required
def change_password() -> tuple[str, int] | Response:
    user = require_user()
    forced = user.must_change_password
    try:
        change_own_password(user, request.form.get("current", ""), request.form.get("new", ""))
    except AuthError as exc:
        db.session().rollback()
        page = render_template(
            "password.html", forced=forced, errors={exc.field: exc.message}, next=_next_arg()
        )
        return page, 422
    db.session().commit()
    login_session(user)  # keep this browser signed in; every other session ends
    flash(_("Your password was changed. Other sessions were signed out."), "success")
    if forced:
        return redirect(safe_next(_next_arg()))
    return redirect(url_for("admin.account"))
