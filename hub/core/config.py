"""Settings read from the environment, with embedded defaults, validated in one pass."""

from __future__ import annotations

import os
import secrets
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from hub.core.clock import DEFAULT_ZONE

SETTINGS_HELP: dict[str, str] = {
    "HUB_DATABASE_URL": "SQLAlchemy URL of the database (default: SQLite file in the instance folder)",
    "HUB_REDIS_URL": "Redis URL for queues and live events (default: the embedded server)",
    "HUB_SECRET_KEY": "Key that signs sessions (default: generated once, kept in the instance folder)",
    "HUB_PUBLIC_URL": "Public base URL providers call back (webhook signatures are checked on it)",
    "HUB_DEFAULT_REGION": "Region for phone numbers written without a country code (default: CN)",
    "HUB_TIMEZONE": "IANA time zone of the business (default: Asia/Shanghai)",
    "HUB_INSTANCE_DIR": "Folder for the embedded defaults' files (default: ./instance)",
    "HUB_PROXY_COUNT": "How many reverse proxies stand in front of the web server (default: 0)",
    "TWILIO_ACCOUNT_SID": "Twilio account SID",
    "TWILIO_AUTH_TOKEN": "Twilio auth token (also verifies Twilio webhooks)",
    "TWILIO_FROM_NUMBER": "Sender number for SMS and caller id, in E.164",
    "TWILIO_API_BASE_URL": "Override of https://api.twilio.com (the provider simulator)",
    "SENDGRID_API_KEY": "SendGrid API key",
    "SENDGRID_FROM_EMAIL": "Sender address for email",
    "SENDGRID_API_BASE_URL": "Override of https://api.sendgrid.com (the provider simulator)",
    "SENDGRID_WEBHOOK_PUBLIC_KEY": "The Event Webhook's verification key, as SendGrid's console shows it",
    "HUB_INBOUND_EMAIL_SECRET": "The secret in the Inbound Parse URL (SendGrid does not sign it)",
    "HUB_SMS_HELP_TEXT": "The answer to an SMS saying HELP",
    "HUB_CALL_HOURS": "When customers may be called, in their own time (default: 08:00-21:00)",
    "HUB_PROVIDER_TIMEOUT": "Seconds to wait for Twilio or SendGrid to answer a request, 1 to 60 (default: 15)",
    "HUB_CAMPAIGN_LEASE": "Seconds a send job holds a claimed batch before the sweep may take it back, 10 to 3600 (default: 120)",
    "HUB_IMPORT_FILE_DAYS": "Days an import's uploaded file and refused rows are kept (default: 30)",
}


DEFAULT_HELP_TEXT = "Contact Hub: reply STOP to stop messages, START to receive them again."


class ConfigError(Exception):
    """The environment holds settings the hub cannot start with; lists every problem at once."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Contact Hub cannot start, the configuration has problems:\n{lines}")


@dataclass(frozen=True)
class Settings:
    instance_dir: Path
    database_url: str
    redis_url: str | None  # None: the embedded server of this instance folder
    secret_key: str | None  # None: generated once and kept in the instance folder
    public_url: str | None
    default_region: str
    timezone: str
    proxy_count: int = 0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base_url: str | None = None
    sendgrid_api_key: str | None = None
    sendgrid_from_email: str | None = None
    sendgrid_api_base_url: str | None = None
    sendgrid_webhook_public_key: str | None = None
    inbound_email_secret: str | None = None
    sms_help_text: str = DEFAULT_HELP_TEXT
    call_hours: tuple[time, time] = (time(8, 0), time(21, 0))
    provider_timeout: float = 15.0
    campaign_lease: int = 120
    import_file_days: int = 30

    @property
    def provider_settle(self) -> timedelta:
        """How long an unanswered provider request is left before the provider is asked whether
        it took it: long enough for a request it was still taking to have landed."""
        return timedelta(seconds=2 * self.provider_timeout)

    @property
    def https(self) -> bool:
        return bool(self.public_url and self.public_url.startswith("https://"))


def _clean(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_url(name: str, value: str | None, schemes: tuple[str, ...], problems: list[str]) -> None:
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        problems.append(f"{name}={value!r} is not a URL starting with one of {', '.join(schemes)}")


# A reader: the Settings fields of one setting or group, from the environment; their problems are
# appended to the list (and a safe value returned), so every problem is reported at once.
_Reader = Callable[[Mapping[str, str], list[str]], dict[str, Any]]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raise ConfigError naming all problems."""
    env = os.environ if env is None else env
    problems: list[str] = []
    # Each reader adds its problems in turn: this order is the order ConfigError lists them in.
    readers: tuple[_Reader, ...] = (
        _read_storage,
        _read_secret_key,
        _read_public_url,
        _read_region,
        _read_timezone,
        _read_proxy_count,
        _read_provider_timeout,
        _read_campaign_lease,
        _read_twilio,
        _read_sendgrid,
        _read_call_hours,
        _read_import_file_days,
    )
    fields: dict[str, Any] = {}
    for read in readers:
        fields.update(read(env, problems))
    if problems:
        raise ConfigError(problems)
    return Settings(**fields)


def _read_storage(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """The instance folder, the database (a SQLite file in that folder by default) and Redis."""
    instance_dir = Path(_clean(env, "HUB_INSTANCE_DIR") or "instance").expanduser().resolve()
    if instance_dir.exists() and not instance_dir.is_dir():
        problems.append(f"HUB_INSTANCE_DIR={str(instance_dir)!r} exists and is not a folder")

    database_url = _clean(env, "HUB_DATABASE_URL") or f"sqlite:///{instance_dir / 'hub.sqlite3'}"
    if database_url.startswith("postgres://"):
        problems.append("HUB_DATABASE_URL uses 'postgres://'; write 'postgresql+psycopg://'")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
    _check_url("HUB_DATABASE_URL", database_url, ("sqlite", "postgresql+psycopg"), problems)

    redis_url = _clean(env, "HUB_REDIS_URL")
    _check_url("HUB_REDIS_URL", redis_url, ("redis", "rediss", "unix"), problems)
    return {"instance_dir": instance_dir, "database_url": database_url, "redis_url": redis_url}


def _read_secret_key(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    secret_key = _clean(env, "HUB_SECRET_KEY")
    if secret_key is not None and len(secret_key) < 16:
        problems.append("HUB_SECRET_KEY is shorter than 16 characters")
    return {"secret_key": secret_key}


def _read_public_url(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    public_url = _clean(env, "HUB_PUBLIC_URL")
    _check_url("HUB_PUBLIC_URL", public_url, ("http", "https"), problems)
    if public_url:
        public_url = public_url.rstrip("/")
    return {"public_url": public_url}


def _read_region(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    region = (_clean(env, "HUB_DEFAULT_REGION") or "CN").upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        problems.append(
            f"HUB_DEFAULT_REGION={region!r} is not a known region code such as CN or US"
        )
    return {"default_region": region}


def _read_timezone(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    tz = _clean(env, "HUB_TIMEZONE") or DEFAULT_ZONE
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(f"HUB_TIMEZONE={tz!r} is not an IANA time zone such as Asia/Shanghai")
    return {"timezone": tz}


def _read_proxy_count(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    proxies = _clean(env, "HUB_PROXY_COUNT") or "0"
    if not proxies.isdigit() or int(proxies) > 10:
        problems.append(f"HUB_PROXY_COUNT={proxies!r} is not a whole number from 0 to 10")
        proxies = "0"
    return {"proxy_count": int(proxies)}


def _read_provider_timeout(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    timeout_text = _clean(env, "HUB_PROVIDER_TIMEOUT") or "15"
    try:
        provider_timeout = float(timeout_text)
    except ValueError:
        provider_timeout = -1.0
    if not 1.0 <= provider_timeout <= 60.0:
        problems.append(
            f"HUB_PROVIDER_TIMEOUT={timeout_text!r} is not a number of seconds from 1 to 60"
        )
        provider_timeout = 15.0
    return {"provider_timeout": provider_timeout}


def _read_campaign_lease(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    lease_text = _clean(env, "HUB_CAMPAIGN_LEASE") or "120"
    if not lease_text.isdigit() or not 10 <= int(lease_text) <= 3600:
        problems.append(
            f"HUB_CAMPAIGN_LEASE={lease_text!r} is not a whole number of seconds from 10 to 3600"
        )
        lease_text = "120"
    return {"campaign_lease": int(lease_text)}


def _read_twilio(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """The account (its SID and token go together), the sender number, the API's address and
    the answer to HELP."""
    twilio = {k: _clean(env, k) for k in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")}
    if any(twilio.values()) and not all(twilio.values()):
        missing = [k for k, v in twilio.items() if not v]
        problems.append(f"Twilio is half configured: {', '.join(missing)} is missing")
    from_number = _clean(env, "TWILIO_FROM_NUMBER")
    if from_number is not None:
        try:
            parsed = phonenumbers.parse(from_number, None)
            ok = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            ok = False
        if not ok:
            problems.append(
                f"TWILIO_FROM_NUMBER={from_number!r} is not a number in E.164 (+8613800138000)"
            )
    api_base_url = _clean(env, "TWILIO_API_BASE_URL")
    _check_url("TWILIO_API_BASE_URL", api_base_url, ("http", "https"), problems)
    return {
        "twilio_account_sid": twilio["TWILIO_ACCOUNT_SID"],
        "twilio_auth_token": twilio["TWILIO_AUTH_TOKEN"],
        "twilio_from_number": from_number,
        "twilio_api_base_url": api_base_url,
        "sms_help_text": _clean(env, "HUB_SMS_HELP_TEXT") or DEFAULT_HELP_TEXT,
    }


def _read_sendgrid(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """The API key and address, the sender, the Event Webhook's key and the Inbound Parse secret."""
    api_base_url = _clean(env, "SENDGRID_API_BASE_URL")
    _check_url("SENDGRID_API_BASE_URL", api_base_url, ("http", "https"), problems)
    from_email = _clean(env, "SENDGRID_FROM_EMAIL")
    if from_email is not None and "@" not in from_email:
        problems.append(f"SENDGRID_FROM_EMAIL={from_email!r} is not an email address")
    return {
        "sendgrid_api_key": _clean(env, "SENDGRID_API_KEY"),
        "sendgrid_from_email": from_email,
        "sendgrid_api_base_url": api_base_url,
        "sendgrid_webhook_public_key": _clean(env, "SENDGRID_WEBHOOK_PUBLIC_KEY"),
        "inbound_email_secret": _clean(env, "HUB_INBOUND_EMAIL_SECRET"),
    }


def _read_call_hours(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    return {"call_hours": _hours(_clean(env, "HUB_CALL_HOURS") or "08:00-21:00", problems)}


def _read_import_file_days(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    file_days = _clean(env, "HUB_IMPORT_FILE_DAYS") or "30"
    if not file_days.isdigit() or not 1 <= int(file_days) <= 3650:
        problems.append(
            f"HUB_IMPORT_FILE_DAYS={file_days!r} is not a number of days from 1 to 3650"
        )
        file_days = "30"
    return {"import_file_days": int(file_days)}


def _hours(value: str, problems: list[str]) -> tuple[time, time]:
    """'08:00-21:00' as two times; the window may not wrap past midnight."""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        problems.append(f"HUB_CALL_HOURS={value!r} is not a window such as 08:00-21:00")
        return time(8, 0), time(21, 0)
    if start >= end:
        problems.append(f"HUB_CALL_HOURS={value!r} must start before it ends (08:00-21:00)")
    return start, end


def instance_secret_key(instance_dir: Path) -> str:
    """The instance's own signing key, created on first use and readable only by its owner."""
    path = instance_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting together must end up with one key, not two.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
