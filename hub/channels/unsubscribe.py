"""The unsubscribe link every email carries: signed, no sign-in, one click (RFC 8058) or a page."""

from __future__ import annotations

from flask import current_app, render_template
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from hub.channels import suppressions
from hub.channels import unsubscribe_bp as bp
from hub.core import db
from hub.core.auth import public

SALT = "hub-unsubscribe"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def unsubscribe_url(base_url: str, address: str) -> str:
    return f"{base_url.rstrip('/')}/unsubscribe/{_serializer().dumps(address.strip().lower())}"


def footer(url: str) -> str:
    # Bilingual: the recipient's language is not always known, and both audiences read these.
    return f"\n\n--\n退订 / Unsubscribe: {url}\n"


def _address(token: str) -> str | None:
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) and "@" in value else None


@bp.get("/<token>")
@public
def confirm(token: str) -> tuple[str, int]:
    address = _address(token)
    if address is None:
        return render_template("unsubscribe.html", address=None, done=False), 404
    done = suppressions.find(db.session(), "email", address) is not None
    return render_template("unsubscribe.html", address=address, done=done), 200


@bp.post("/<token>")
@public
def unsubscribe(token: str) -> tuple[str, int]:
    """One click from the mail client (List-Unsubscribe-Post) or the button on the page."""
    address = _address(token)
    if address is None:
        return render_template("unsubscribe.html", address=None, done=False), 404
    s = db.session()
    suppressions.suppress(s, "email", address, "unsubscribe", source=_("unsubscribe link"))
    s.commit()
    return render_template("unsubscribe.html", address=address, done=True), 200
