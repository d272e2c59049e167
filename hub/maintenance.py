"""Schema migrations and first-start setup, run on purpose by commands (never at import or app start)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask

from hub.auth import Role, User, create_user, generate_password
from hub.db import engine_for, session_scope

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
FIRST_ADMIN_EMAIL = "admin@contact-hub.example"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's ini interpolation treats % specially; URL-encoded passwords contain it.
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade_database(app: Flask, revision: str = "head") -> None:
    cfg = alembic_config(app.config["DATABASE_URL"])
    with engine_for(app).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_admin(app: Flask) -> str | None:
    """When no user exists, create the first admin and return its one-time password."""
    with session_scope(app) as s:
        if s.scalar(sa.select(sa.func.count()).select_from(User)):
            return None
        password = generate_password()
        create_user(s, FIRST_ADMIN_EMAIL, Role.ADMIN.value, password, name="Administrator")
        return password
