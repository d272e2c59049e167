"""Alembic environment: the hub's models, on the connection `hub db upgrade` hands over."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from hub.runtime.maintenance import include_object
from hub.runtime.models import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url", ""))
    with engine.begin() as conn:
        _run(conn)
