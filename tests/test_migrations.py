"""`hub db upgrade` builds the schema on an empty database, and the models match the migrations."""

import subprocess
import sys

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.runtime.maintenance import include_object
from hub.runtime.models import metadata

COMPARE = {"compare_type": True, "include_object": include_object}


def test_hub_db_upgrade_on_an_empty_database_creates_the_schema_without_drift(
    scratch_database, env_for_subprocess
):
    url = scratch_database()
    env = {**env_for_subprocess, "HUB_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "hub", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    engine = sa.create_engine(url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        assert "alembic_version" in tables
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts=COMPARE)
            assert compare_metadata(ctx, metadata) == []
        # Running it again is a no-op, not an error.
        again = subprocess.run(
            [sys.executable, "-m", "hub", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stderr
    finally:
        engine.dispose()


def test_the_test_database_has_no_drift_either(app):
    from hub.core.db import engine_for

    with engine_for(app).connect() as conn:
        ctx = MigrationContext.configure(conn, opts=COMPARE)
        assert compare_metadata(ctx, metadata) == []


def test_upgrading_keeps_rows_written_under_the_previous_schema(scratch_database, app_config):
    from hub.runtime.maintenance import upgrade_database
    from hub.web.app import create_app

    url = scratch_database()
    app = create_app({**app_config, "HUB_DATABASE_URL": url})
    upgrade_database(app, "0001")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (kind, name, customer_class, region, industry, created_at, updated_at)"
                    " VALUES ('organization', '老客户有限公司', 'B', '', '', :t, :t)"
                ),
                {"t": "2025-01-01 00:00:00"},
            )
        upgrade_database(app, "head")
        with engine.connect() as conn:
            row = conn.execute(
                sa.text("SELECT name, stage, lead_source, customer_class FROM customers")
            ).one()
        assert tuple(row) == ("老客户有限公司", "customer", "manual", "B")
    finally:
        engine.dispose()
