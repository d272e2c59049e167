"""The Flask app: settings, extensions, and every capability's blueprints registered in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hub.core.config import SETTINGS_HELP, Settings, instance_secret_key, load_settings
from hub.core.paths import PACKAGE_DIR


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
    app = Flask("hub", template_folder=str(_template_dir()), static_folder="static")
    app.config.from_mapping(flask_config(settings))
    app.config.update(overrides)
    if settings.proxy_count:
        # Behind N proxies: the client's address and scheme come from their X-Forwarded-* headers.
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]

    from hub.core import db, errors, formatting, i18n, services
    from hub.web import guard, nav

    db.init_app(app)
    services.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    _label_globals(app)
    nav.init_app(app)
    errors.init_app(app)
    guard.init_app(app)
    join_hooks(app)
    # A package makes its blueprints in its __init__; its route modules hang their routes on them
    # when imported. Several modules may share one blueprint: each is registered once, in order.
    blueprints = {id(module.bp): module.bp for module in route_modules()}
    for blueprint in blueprints.values():
        app.register_blueprint(blueprint)
    return app


def _label_globals(app: Flask) -> None:
    """The words for stored codes, for every template (hub/crm/labels.py and its neighbours)."""
    from hub.crm.audit_labels import audit_label, audit_value, field_label
    from hub.crm.labels import choice_label, outcome_label
    from hub.crm.message_reasons import message_reason

    for function in (choice_label, outcome_label, message_reason, audit_value, audit_label, field_label):
        app.add_template_global(function)


def join_hooks(app: Flask) -> None:
    """Where a lower capability lets a higher one take part (hub.core.hooks), join them here."""
    from hub.campaigns.surveys.answers import answer_from_reply
    from hub.channels.calls.records import calls_of_follow_ups
    from hub.core import hooks
    from hub.crm.sales.receivable_views import money_context
    from hub.crm.sales.view_helpers import customer_sections

    hooks.join(app, hooks.INBOUND_MESSAGE, answer_from_reply)
    hooks.join(app, hooks.TIMELINE_CALLS, calls_of_follow_ups)
    hooks.join(app, hooks.CUSTOMER_MONEY, money_context)
    hooks.join(app, hooks.CUSTOMER_SECTIONS, customer_sections)


def route_modules() -> tuple[ModuleType, ...]:
    """Every module that declares routes, in the order their blueprints are registered."""
    return (*_web_routes(), *_crm_routes(), *_channel_routes(), *_campaign_routes())


def _web_routes() -> tuple[ModuleType, ...]:
    from hub.web import admin, api, dev_views, events, health, login, pages, system

    return (login, pages, health, events, admin, system, api, dev_views)


def _crm_routes() -> tuple[ModuleType, ...]:
    from hub.crm.customers import api as customers_api
    from hub.crm.customers import customer_actions, duplicate_views, merge_api, people_api
    from hub.crm.customers import views as customer_views
    from hub.crm.followups import worklist_api, worklist_views
    from hub.crm.intake import (
        export_views,
        import_api,
        import_views,
        lead_form_api,
        lead_form_views,
    )
    from hub.crm.sales import (
        credit_api,
        credit_views,
        opportunity_api,
        opportunity_views,
        order_api,
        order_views,
        receivable_api,
        receivable_views,
        view_helpers,
    )
    from hub.crm.service import complaint_api, complaint_views
    from hub.insight import views as insight_views

    return (
        customers_api,
        people_api,
        receivable_api,
        receivable_views,
        opportunity_api,
        order_api,
        complaint_api,
        customer_views,
        customer_actions,
        import_views,
        import_api,
        duplicate_views,
        merge_api,
        lead_form_views,
        lead_form_api,
        export_views,
        view_helpers,
        opportunity_views,
        order_views,
        complaint_views,
        worklist_api,
        worklist_views,
        credit_views,
        credit_api,
        insight_views,
    )


def _channel_routes() -> tuple[ModuleType, ...]:
    from hub.channels import api as channels_api
    from hub.channels import suppression_views, unsubscribe, webhooks
    from hub.channels import views as channels_views
    from hub.channels.calls import console_views, voice_webhooks

    return (
        channels_api,
        channels_views,
        webhooks,
        voice_webhooks,
        console_views,
        unsubscribe,
        suppression_views,
    )


def _campaign_routes() -> tuple[ModuleType, ...]:
    from hub.campaigns import api as campaign_api
    from hub.campaigns import views as campaign_views
    from hub.campaigns.care import api as care_api
    from hub.campaigns.care import collection_reminder_views
    from hub.campaigns.care import views as care_views
    from hub.campaigns.segments import api as segment_api
    from hub.campaigns.segments import views as segment_views
    from hub.campaigns.surveys import views as survey_views
    from hub.campaigns.templates import api as template_api
    from hub.campaigns.templates import views as template_views

    return (
        segment_api,
        template_api,
        campaign_api,
        care_api,
        segment_views,
        template_views,
        campaign_views,
        care_views,
        survey_views,
        collection_reminder_views,
    )


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
