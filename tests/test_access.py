"""Access is declared on every route and enforced in one place."""

import pytest

from hub.core.auth import access_rule


def _routes(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static"]


def test_every_route_declares_who_may_use_it(app):
    undeclared = [
        r.rule for r in _routes(app) if access_rule(app.view_functions[r.endpoint]) is None
    ]
    assert undeclared == []


def _sample_path(rule):
    return rule.build({arg: 1 for arg in rule.arguments})[1]


def test_without_a_session_every_page_redirects_to_login(app, client):
    public = {"public"}
    checked = 0
    for rule in _routes(app):
        path = _sample_path(rule)
        if path.startswith("/api/v1") or access_rule(app.view_functions[rule.endpoint]) in public:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method == "POST":
                # Forms carry a CSRF token; a forged POST without one stops at 400 before anything.
                continue
            response = client.open(path, method=method)
            assert response.status_code == 302, (method, path)
            assert response.headers["Location"].startswith("/login?next=")
            checked += 1
    assert checked >= 5
    assert client.get("/no/such/page").status_code == 302  # unknown pages reveal nothing either


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1",
        "/api/v1/me",
        "/api/v1/system/worker-checks",
        "/api/v1/customers/1",
        "/api/v1/does-not-exist",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_every_api_path_known_or_not_answers_401_problem_json(client, path, method):
    response = client.open(path, method=method)
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"
    assert response.json["status"] == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_a_wrong_token_is_401_too(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer hub_not-a-real-token"})
    assert response.status_code == 401


def test_admin_only_pages_refuse_every_other_role(app, make_user):
    from tests.conftest import login

    for role in ("director", "agent", "specialist"):
        client = app.test_client()
        login(client, make_user(role).email)
        for path in ("/admin/users", "/admin/system/"):
            assert client.get(path).status_code == 403, (role, path)
