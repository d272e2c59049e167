"""/healthz checks the database and Redis for real, and names the part that fails."""

from hub.web.app import create_app
from tests.conftest import free_port


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_redis_down_is_503_naming_redis(app_config):
    app = create_app({**app_config, "HUB_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["failing"] == ["redis"]
    assert response.json["checks"]["database"] == "ok"
    assert "ConnectionError" in response.json["checks"]["redis"]


def test_database_down_is_503_naming_the_database(app_config, tmp_path):
    missing = tmp_path / "no" / "such" / "folder" / "hub.sqlite3"
    app = create_app({**app_config, "HUB_DATABASE_URL": f"sqlite:///{missing}"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["failing"] == ["database"]
    assert response.json["checks"]["redis"] == "ok"


def test_embedded_redis_not_running_is_reported_not_raised(app_config, tmp_path):
    app = create_app({**app_config, "HUB_REDIS_URL": "", "HUB_INSTANCE_DIR": str(tmp_path)})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert "no embedded server runs" in response.json["checks"]["redis"]
