"""A PostgreSQL database of the benchmark's own, created next to the given one and dropped after."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def scratch_postgres(base_url: str) -> Iterator[str]:
    url = sa.make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"hubbench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def kept_postgres(base_url: str, name: str) -> Iterator[tuple[str, bool]]:
    """A named database next to the given one, created when missing and never dropped; yields its
    URL and whether it already existed (so a benchmark can reuse what it generated before)."""
    url = sa.make_url(base_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        existed = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        ).first() is not None
        if not existed:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield url.set(database=name).render_as_string(hide_password=False), existed
