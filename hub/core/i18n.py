"""Translations: the user's own choice, then the browser's Accept-Language, then English."""

from __future__ import annotations

from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_locale, lazy_gettext

from hub.core.auth import LOCALES

LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
ROLE_LABELS = {
    "admin": lazy_gettext("Administrator"),
    "director": lazy_gettext("Sales director"),
    "agent": lazy_gettext("Agent"),
    "specialist": lazy_gettext("Customer specialist"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def select_locale() -> str:
    if not has_request_context():
        return "en"  # a job or a command: no browser to ask; callers use force_locale for a user
    user = g.get("user")
    if user is not None and user.locale in LOCALES:
        return user.locale
    chosen = session.get("lang")
    if chosen in LOCALES:
        return chosen
    return locale_from_header()


def locale_from_header() -> str:
    # Browsers send zh-CN, zh-Hans, zh-SG...; all of them read Simplified Chinese best here.
    for value, _quality in request.accept_languages:
        primary = value.lower().replace("_", "-").split("-")[0]
        if primary == "zh":
            return "zh_Hans"
        if primary == "en":
            return "en"
    return "en"


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale, default_translation_directories="translations")

    @app.context_processor
    def _helpers() -> dict[str, object]:
        return {
            "language_names": LANGUAGE_NAMES,
            "role_label": role_label,
            "get_locale": get_locale,
        }
