"""Contact Hub: one customer database joined to phone, SMS and email."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hub.config import SETTINGS_HELP, Settings, instance_secret_key, load_settings

PACKAGE_DIR = Path(__file__).resolve().parent


def _template_dir() -> Path:
    # Installed wheels carry the templates inside the package; a checkout keeps them at the top.
    packaged = PACKAGE_DIR / "templates"
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / "templates"


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, `config` on top (tests pass HUB_* keys here)."""
    overrides = dict(config or {})
    settings = load_settings(
        {**os.environ, **{k: str(v) for k, v in overrides.items() if k in SETTINGS_HELP}}
    )
    app = Flask(__name__, template_folder=str(_template_dir()), static_folder="static")
    app.config.from_mapping(flask_config(settings))
    app.config.update(overrides)
    if settings.proxy_count:
        # Behind N proxies: the client's address and scheme come from their X-Forwarded-* headers.
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    from hub import (
        admin,
        api,
        db,
        errors,
        events,
        formatting,
        guard,
        health,
        i18n,
        login,
        pages,
        services,
        system,
    )
    from hub.campaigns import api as campaigns_api
    from hub.campaigns import collection_reminder_views, survey_views
    from hub.campaigns import segment_views as campaigns_views
    from hub.channels import api as channels_api
    from hub.channels import (
        console_views,
        dev_views,
        suppression_views,
        unsubscribe,
        voice_webhooks,
        webhooks,
    )
    from hub.channels import views as channels_views
    from hub.crm import api as crm_api
    from hub.crm import (
        credit_api,
        credit_views,
        customer_actions,
        duplicate_views,
        export_views,
        import_api,
        import_views,
        labels,
        lead_form_api,
        lead_form_views,
        merge_api,
        nav,
        people_api,
        receivable_api,
        receivable_views,
        sales_api,
        sales_views,
        worklist_api,
        worklist_views,
    )
    from hub.crm import views as crm_views
    from hub.insight import views as insight_views

    db.init_app(app)
    services.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    labels.init_app(app)
    nav.init_app(app)
    errors.init_app(app)
    guard.init_app(app)
    for module in (
        login,
        pages,
        health,
        events,
        admin,
        system,
        api,
        crm_api,
        people_api,
        receivable_api,
        receivable_views,
        sales_api,
        crm_views,
        customer_actions,
        import_views,
        import_api,
        duplicate_views,
        merge_api,
        lead_form_views,
        lead_form_api,
        export_views,
        sales_views,
        worklist_api,
        worklist_views,
        channels_api,
        channels_views,
        webhooks,
        voice_webhooks,
        console_views,
        unsubscribe,
        suppression_views,
        dev_views,
        campaigns_api,
        campaigns_views,
        survey_views,
        insight_views,
        credit_views,
        credit_api,
        collection_reminder_views,
    ):
        app.register_blueprint(module.bp)
    return app


def flask_config(settings: Settings) -> dict[str, Any]:
    return {
        "SETTINGS": settings,
        "INSTANCE_DIR": str(settings.instance_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key or instance_secret_key(settings.instance_dir),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.https,
        "SESSION_COOKIE_NAME": "hub_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead; a form left open all day still posts
        "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
        "PREFERRED_URL_SCHEME": "https" if settings.https else "http",
        "BABEL_DEFAULT_TIMEZONE": settings.timezone,  # times are shown in the business's zone
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_FAILURE_WINDOW": 15 * 60,
    }
