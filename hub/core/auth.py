"""Users, roles, password and API-token authentication, and the one place access is decided."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import g, request, session
from flask_babel import gettext as _
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from hub.core.clock import utcnow
from hub.core.db import Base


class Role(StrEnum):
    ADMIN = "admin"
    DIRECTOR = "director"
    AGENT = "agent"
    SPECIALIST = "specialist"


ROLES = tuple(r.value for r in Role)
LOCALES = ("en", "zh_Hans")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "hub_"  # noqa: S105 (a label, not a secret)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    role: Mapped[str] = mapped_column(sa.String(20))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # Rotated when the password changes or the user is deactivated, so old session cookies die.
    session_key: Mapped[str] = mapped_column(sa.String(64), default=lambda: secrets.token_hex(16))
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    active: Mapped[bool] = mapped_column(default=True)
    # Set when the password is one the user did not choose (the first admin's one-time password,
    # one an admin typed or generated for them); every page then asks for their own first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.CheckConstraint(sa.column("role").in_(ROLES), name="role_known"),)

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    # Tokens are 256 random bits, so a plain SHA-256 is enough and lets us look them up by hash.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class AuthError(ValueError):
    """Input that cannot make a user or a token; `field` names the input at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def normalize_email(email: str) -> str:
    try:
        info = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise AuthError(
            "email", _("%(value)s is not a valid email address.", value=email.strip() or '""')
        ) from exc
    return info.normalized.lower()


def _password_too_short() -> str:
    return _("The password needs at least %(count)d characters.", count=MIN_PASSWORD_LENGTH)


def create_user(
    db: Session,
    email: str,
    role: str,
    password: str,
    name: str = "",
    locale: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create a user; raises AuthError naming the field when input is refused.

    `must_change_password` for a password someone other than the user chose (admin, first start).
    """
    email = normalize_email(email)
    if role not in ROLES:
        raise AuthError(
            "role",
            _("Unknown role %(role)s; the roles are %(roles)s.", role=role, roles=", ".join(ROLES)),
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("password", _password_too_short())
    if locale is not None and locale not in LOCALES:
        raise AuthError("locale", _("Unknown language %(locale)s.", locale=locale))
    if db.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise AuthError("email", _("A user with the email %(email)s already exists.", email=email))
    user = User(
        email=email,
        role=role,
        name=name.strip(),
        password_hash=generate_password_hash(password),
        locale=locale,
        must_change_password=must_change_password,
    )
    db.add(user)
    db.flush()
    return user


def _store_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(password)
    user.session_key = secrets.token_hex(16)  # every other session of this user ends


def change_own_password(user: User, current: str, new: str) -> None:
    """The user chooses their own password; raises AuthError naming the field at fault."""
    if not check_password_hash(user.password_hash, current):
        raise AuthError("current", _("The current password is not right."))
    if len(new) < MIN_PASSWORD_LENGTH:
        raise AuthError("new", _password_too_short())
    if check_password_hash(user.password_hash, new):
        raise AuthError("new", _("Choose a password different from the current one."))
    _store_password(user, new)
    user.must_change_password = False


def reset_password(user: User) -> str:
    """A new one-time password for someone else (an admin's reset); they choose their own at
    their next sign-in. Their sessions end now."""
    password = generate_password()
    _store_password(user, password)
    user.must_change_password = True
    return password


def authenticate(db: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None; the same work is done either way."""
    try:
        email = normalize_email(email)
    except AuthError:
        email = ""
    user = db.scalar(sa.select(User).where(User.email == email)) if email else None
    # Hash even for an unknown email so response time does not tell which emails exist.
    stored = user.password_hash if user else _DUMMY_HASH
    ok = check_password_hash(stored, password)
    if user is None or not ok or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db: Session, user: User, name: str) -> str:
    """Create an API token and return it; only its hash is stored, so this is the only sight of it."""
    name = name.strip()
    if not name:
        raise AuthError("name", _("Give the token a name that says where it is used."))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.add(ApiToken(user=user, name=name[:80], token_hash=hash_token(token), prefix=token[:12]))
    db.flush()
    return token


def user_for_token(db: Session, token: str) -> User | None:
    row = db.scalar(
        sa.select(ApiToken).where(
            ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active:
        return None
    now = utcnow()
    # Written at most once a minute, so a busy integration does not turn every read into a write.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        row.last_used_at = now
    return row.user


def revoke_token(db: Session, user: User, token_id: int) -> bool:
    row = db.scalar(sa.select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    return True


# --- access rules -------------------------------------------------------------------------------
# Every view declares who may reach it; the check itself lives in `check_access`, and a view with
# no declared rule is refused (a route added without thinking about access fails closed).

PUBLIC = "public"
ANY_USER = "any"

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Reachable without signing in (login page, health check, static files)."""
    view._hub_access = PUBLIC  # type: ignore[attr-defined]
    return view


def login_required(view: F) -> F:
    """Reachable by any signed-in user."""
    view._hub_access = ANY_USER  # type: ignore[attr-defined]
    return view


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Reachable only by users holding one of `roles` (admins always pass)."""
    allowed = frozenset({Role.ADMIN, *roles})

    def decorate(view: F) -> F:
        view._hub_access = allowed  # type: ignore[attr-defined]
        return view

    return decorate


def access_rule(view: Callable[..., Any] | None) -> Any:
    return getattr(view, "_hub_access", None)


def current_user() -> User | None:
    return g.get("user")


def require_user() -> User:
    """The signed-in user, in a view whose access rule already demanded one."""
    user = g.get("user")
    if user is None:
        raise RuntimeError("require_user() in a view that does not require sign-in")
    return user


def load_session_user(db: Session) -> User | None:
    uid, key = session.get("uid"), session.get("key")
    if uid is None or key is None:
        return None
    user = db.get(User, uid)
    if user is None or not user.active or not secrets.compare_digest(user.session_key, key):
        session.clear()
        return None
    return user


def login_session(user: User) -> None:
    # A fresh session on login: whatever an attacker planted in the old cookie is dropped.
    session.clear()
    session["uid"] = user.id
    session["key"] = user.session_key
    session.permanent = True


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
