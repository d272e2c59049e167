"""Signing in and out, cookies, CSRF, rate limiting, roles and API tokens."""

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.core.auth import ApiToken, User, create_token
from tests.conftest import PASSWORD, csrf_token, login


def test_sign_in_lands_on_the_page_asked_for_and_sign_out_ends_the_session(client, make_user):
    user = make_user("director")
    first = client.get("/customers")
    assert first.status_code == 302
    assert "/login?next=/customers" in first.headers["Location"]
    response = client.post(
        "/login?next=/customers",
        data={"email": user.email.upper(), "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/customers"
    assert client.get("/customers").status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert out.status_code == 302
    assert client.get("/customers").status_code == 302


def test_next_never_leaves_the_site(client, make_user):
    user = make_user()
    for target in ("//evil.example.com/", "https://evil.example.com/", "javascript:alert(1)"):
        response = client.post(
            f"/login?next={target}",
            data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
        )
        assert response.headers["Location"] == "/"
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user()
    response = login(client, user.email, "not the password")
    assert response.status_code == 401
    assert "The email or the password is not right." in response.get_data(as_text=True)


def test_session_cookie_is_httponly_and_samesite_lax(client, make_user):
    user = make_user()
    response = login(client, user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here


def test_cookie_is_secure_when_the_hub_is_served_over_https(app_config):
    from hub.web.app import create_app

    https_app = create_app({**app_config, "HUB_PUBLIC_URL": "https://hub.example.com"})
    assert https_app.config["SESSION_COOKIE_SECURE"] is True


def test_failed_logins_are_limited(app, client, make_user):
    user = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert login(client, user.email, "wrong password").status_code == 401
    blocked = login(client, user.email, PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.get_data(as_text=True)


def test_form_post_without_csrf_token_is_refused_with_400(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # not signed in


def test_login_starts_a_fresh_session(client, make_user):
    user = make_user()
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, user.email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["uid"] == user.id


def test_deactivating_a_user_ends_their_session(app, client, make_user):
    user = make_user()
    login(client, user.email)
    assert client.get("/").status_code == 200
    with hubdb.session_scope(app) as s:
        s.get(User, user.id).active = False
    assert client.get("/").status_code == 302


def test_a_role_without_access_gets_403(client, signed_in):
    signed_in("agent")
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Your role does not give access" in response.get_data(as_text=True)


def test_admin_creates_a_user_and_bad_input_names_the_field(client, signed_in, db):
    signed_in("admin")
    token = csrf_token(client, "/admin/users")
    bad = client.post(
        "/admin/users", data={"email": "not-an-email", "role": "agent", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert 'id="email-error"' in bad.get_data(as_text=True)
    good = client.post(
        "/admin/users",
        data={
            "email": "New.Agent@Example.com",
            "role": "agent",
            "name": "New",
            "csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "one-time password" in good.get_data(as_text=True)
    assert db.scalar(sa.select(User).where(User.email == "new.agent@example.com")).role == "agent"


def _token_for(app, user):
    with hubdb.session_scope(app) as s:
        return create_token(s, s.get(User, user.id), "tests")


def test_api_me_answers_who_the_token_belongs_to(app, client, make_user):
    user = make_user("specialist", name="Emma")
    token = _token_for(app, user)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["email"] == user.email
    assert response.json["role"] == "specialist"


def test_a_token_needs_a_name(client, signed_in):
    signed_in("agent")
    response = client.post(
        "/account/tokens", data={"name": "  ", "csrf_token": csrf_token(client, "/account")}
    )
    assert response.status_code == 422
    assert "Give the token a name" in response.get_data(as_text=True)


def test_tokens_are_stored_hashed(app, db, make_user):
    token = _token_for(app, make_user())
    stored = db.scalar(sa.select(ApiToken))
    assert token not in (stored.token_hash, stored.prefix + "x")
    assert stored.token_hash != token and len(stored.token_hash) == 64


def test_revoked_token_is_refused(app, client, make_user):
    user = make_user()
    login(client, user.email)
    created = client.post(
        "/account/tokens", data={"name": "zapier", "csrf_token": csrf_token(client, "/account")}
    )
    assert created.status_code == 302  # post/redirect/get: a reload creates nothing
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    token = page.split('id="new-token">')[1].split("<")[0]
    assert 'id="new-token"' not in client.get("/account").get_data(as_text=True)  # shown once
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with hubdb.session_scope(app) as s:
        token_id = s.scalar(sa.select(ApiToken.id))
    client.post(
        f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account")}
    )
    refused = client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.content_type == "application/problem+json"


def test_api_role_check_answers_403_problem(app, client, make_user):
    token = _token_for(app, make_user("agent"))
    response = client.post(
        "/api/v1/system/worker-checks", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 403


def test_api_does_not_need_csrf_and_unknown_paths_with_a_token_are_404(app, client, make_user):
    token = _token_for(app, make_user("admin"))
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/system/worker-checks", headers=headers).status_code == 202
    missing = client.get("/api/v1/no/such/thing", headers=headers)
    assert missing.status_code == 404
    assert missing.content_type == "application/problem+json"


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(
    app_config, make_user, redis_conn
):
    from hub.web.app import create_app

    proxied = create_app({**app_config, "HUB_PROXY_COUNT": "1"}).test_client()
    user = make_user()
    token = csrf_token(proxied)
    proxied.post(
        "/login",
        data={"email": user.email, "password": "wrong", "csrf_token": token},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert redis_conn.get("hub:login-fail:ip:203.0.113.9") == b"1"
    assert redis_conn.get("hub:login-fail:ip:127.0.0.1") is None
