"""A password someone else chose (first start, an admin) is changed at the first sign-in."""

import re

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.core.auth import User, create_token
from hub.runtime.maintenance import FIRST_ADMIN_EMAIL, ensure_admin
from tests.conftest import PASSWORD, csrf_token, login

NEW = "my very own passphrase"


def _change(client, current, new, next_path=None):
    data = {"current": current, "new": new, "csrf_token": csrf_token(client, "/account/password")}
    if next_path:
        data["next"] = next_path
    return client.post("/account/password", data=data)


def _flag(app, email):
    with hubdb.session_scope(app) as s:
        return s.scalar(sa.select(User.must_change_password).where(User.email == email))


def test_the_first_admin_must_choose_a_password_before_any_page(app, client):
    one_time = ensure_admin(app)
    signed = login(client, FIRST_ADMIN_EMAIL, one_time)
    assert signed.status_code == 302
    landing = client.get(signed.headers["Location"])
    assert landing.status_code == 302
    assert landing.headers["Location"].startswith("/account/password")
    page = client.get(landing.headers["Location"]).get_data(as_text=True)
    assert "<h1>Choose your password</h1>" in page
    assert "Your password was set by someone else" in page
    for path in ("/", "/customers", "/admin/users", "/account", "/console"):
        refused = client.get(path)
        assert refused.status_code == 302, path
        assert refused.headers["Location"] == f"/account/password?next={path}"
    # A form posted elsewhere does nothing and lands on the same page.
    posted = client.post(
        "/account/tokens", data={"name": "x", "csrf_token": csrf_token(client, "/account/password")}
    )
    assert posted.status_code == 302 and posted.headers["Location"] == "/account/password"
    assert _flag(app, FIRST_ADMIN_EMAIL) is True


def test_the_new_password_must_differ_and_follow_the_rules_each_error_naming_its_field(
    app, client
):
    one_time = ensure_admin(app)
    login(client, FIRST_ADMIN_EMAIL, one_time)
    wrong = _change(client, "not it at all", NEW)
    assert wrong.status_code == 422
    assert re.search(r'id="current-error">The current password is not right', wrong.text)
    same = _change(client, one_time, one_time)
    assert same.status_code == 422
    assert re.search(r'id="new-error">Choose a password different from the current one', same.text)
    short = _change(client, one_time, "short")
    assert short.status_code == 422
    assert 'id="new-error">The password needs at least 10 characters' in short.text
    assert "Your password was set by someone else" in short.text  # still the forced page
    assert _flag(app, FIRST_ADMIN_EMAIL) is True
    assert client.get("/").status_code == 302


def test_choosing_ones_own_password_clears_the_flag_and_goes_where_the_user_was_going(
    app, client
):
    one_time = ensure_admin(app)
    login(client, FIRST_ADMIN_EMAIL, one_time)
    changed = _change(client, one_time, NEW, next_path="/admin/users")
    assert changed.status_code == 302 and changed.headers["Location"] == "/admin/users"
    assert _flag(app, FIRST_ADMIN_EMAIL) is False
    assert client.get("/admin/users").status_code == 200
    assert client.get("/").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(client, FIRST_ADMIN_EMAIL, one_time).status_code == 401
    assert login(client, FIRST_ADMIN_EMAIL, NEW).status_code == 302
    assert client.get("/").status_code == 200


def test_a_user_an_admin_creates_chooses_their_own_password(app, client, signed_in):
    signed_in("admin")
    created = client.post(
        "/admin/users",
        data={
            "email": "typed@example.com",
            "role": "agent",
            "password": "the admin typed this",
            "csrf_token": csrf_token(client, "/admin/users"),
        },
    )
    assert created.status_code == 302
    assert _flag(app, "typed@example.com") is True
    rep = app.test_client()
    login(rep, "typed@example.com", "the admin typed this")
    assert rep.get("/console").headers["Location"].startswith("/account/password")
    assert _change(rep, "the admin typed this", NEW).status_code == 302
    assert rep.get("/console").status_code == 200


def test_an_admin_reset_signs_the_user_out_and_forces_a_new_password(
    app, client, signed_in, make_user
):
    rep = make_user("agent")
    rep_client = app.test_client()
    login(rep_client, rep.email)
    assert rep_client.get("/").status_code == 200
    signed_in("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{rep.id}/password"' in page
    reset = client.post(
        f"/admin/users/{rep.id}/password",
        data={"csrf_token": csrf_token(client, "/admin/users")},
        follow_redirects=True,
    )
    one_time = re.search(r"New one-time password for [^:]+: (\S+)\. ", reset.text).group(1)
    assert "must choose a password" in reset.text
    assert rep_client.get("/").status_code == 302  # the old session ended
    assert login(rep_client, rep.email, PASSWORD).status_code == 401
    login(rep_client, rep.email, one_time)
    assert rep_client.get("/").headers["Location"].startswith("/account/password")
    assert _change(rep_client, one_time, NEW).status_code == 302
    assert rep_client.get("/").status_code == 200


def test_an_admin_cannot_reset_their_own_password_from_the_user_list(client, signed_in):
    admin = signed_in("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert f'action="/admin/users/{admin.id}/password"' not in page
    refused = client.post(
        f"/admin/users/{admin.id}/password",
        data={"csrf_token": csrf_token(client, "/admin/users")},
        follow_redirects=True,
    )
    assert "Change your own password on the Account page." in refused.text
    assert client.get("/").status_code == 200


def test_api_tokens_are_not_blocked_by_a_pending_password_change(app, client):
    ensure_admin(app)
    with hubdb.session_scope(app) as s:
        admin = s.scalar(sa.select(User).where(User.email == FIRST_ADMIN_EMAIL))
        token = create_token(s, admin, "integration")
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json["email"] == FIRST_ADMIN_EMAIL


def test_changing_ones_own_password_from_the_account_page_is_not_forced(client, signed_in, app):
    user = signed_in("agent")
    assert client.get("/account").status_code == 200
    page = client.get("/account/password").get_data(as_text=True)
    assert "<h1>Change password</h1>" in page and "set by someone else" not in page
    changed = _change(client, PASSWORD, NEW)
    assert changed.status_code == 302 and changed.headers["Location"] == "/account"
    assert _flag(app, user.email) is False
