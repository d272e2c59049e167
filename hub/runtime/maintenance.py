"""Schema migrations and first-start setup, run on purpose by commands (never at import or app start)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from flask import Flask

from hub.core.auth import Role, User, create_user, generate_password
from hub.core.db import engine_for, session_scope
from hub.core.paths import PACKAGE_DIR

MIGRATIONS_DIR = PACKAGE_DIR / "migrations"
FIRST_ADMIN_EMAIL = "admin@contact-hub.example"


# Trigram (0003) and expression (0007) indexes, PostgreSQL only; the models do not declare
# them, so comparing models and schema must not count them as drift.
POSTGRES_ONLY_INDEXES = frozenset(
    {
        "ix_customers_name_trgm",
        "ix_customers_email_trgm",
        "ix_customers_phone_trgm",
        "ix_contacts_name_trgm",
        "ix_contacts_email_trgm",
        "ix_contacts_phone_trgm",
        # lower(email), for matching emails without case (migration 0007)
        "ix_customers_email_lower",
        "ix_contacts_email_lower",
    }
)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's filter: leave the PostgreSQL-only indexes out of comparisons."""
    return not (type_ == "index" and reflected and name in POSTGRES_ONLY_INDEXES)


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
        create_user(
            s,
            FIRST_ADMIN_EMAIL,
            Role.ADMIN.value,
            password,
            name="Administrator",
            must_change_password=True,  # printed in a terminal: it is not the admin's own
        )
        return password
