"""Error answers: pages for people, problem+json for the API, never a bare 500."""

from hub.web.app import create_app
from tests.conftest import csrf_token, login


def test_unknown_page_for_a_signed_in_user_is_a_404_page(client, signed_in):
    signed_in("agent")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is nothing at this address" in response.get_data(as_text=True)
    assert response.content_type.startswith("text/html")


def test_wrong_method_is_405(client, signed_in):
    signed_in("agent")
    token = csrf_token(client, "/")
    response = client.delete("/customers", headers={"X-CSRFToken": token})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_error_renders_the_500_page(app_config, make_user):
    app = create_app({**app_config, "TESTING": False})  # TESTING would re-raise instead
    from hub.core.auth import login_required

    @app.get("/explode")
    @login_required
    def explode():
        raise RuntimeError("boom")

    user = make_user("agent")
    client = app.test_client()
    login(client, user.email)
    response = client.get("/explode")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "The hub hit an unexpected error" in body
    assert "boom" not in body  # internals stay in the log


def test_an_unexpected_api_error_is_problem_json(app_config, make_user):
    from hub.core import db as hubdb
    from hub.core.auth import User, create_token, login_required

    app = create_app({**app_config, "TESTING": False})

    @app.get("/api/v1/explode")
    @login_required
    def explode_api():
        raise RuntimeError("boom")

    user = make_user("agent")
    with hubdb.session_scope(app) as s:
        token = create_token(s, s.get(User, user.id), "t")
    response = app.test_client().get(
        "/api/v1/explode", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 500
    assert response.content_type == "application/problem+json"
    assert response.json["title"] == "Something went wrong"
