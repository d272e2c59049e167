"""The developer page: what the provider simulator accepted and called back, simulated customer
replies by SMS and email, and the simulator's faults. Only while the simulator stands in."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hub import db
from hub.auth import roles_required
from hub.channels.base import ChannelMisconfigured
from hub.channels.providers import simulator_url
from hub.config import Settings
from hub.crm.models import Contact
from hub.validation import Field, FieldError, ValidationError, parse

bp = Blueprint("dev", __name__)

RECENT = 50
TIMEOUT = (3.0, 10.0)  # connect, read
# A simulated reply waits for the hub's own answer, which the simulator allows 15 s.
INBOUND_TIMEOUT = (3.0, 20.0)
NO_PROXIES: dict[str, Any] = {"http": None, "https": None}

FAULT_LABELS = {
    "rate_429": _l("API requests refused with 429 (rate limit)"),
    "rate_500": _l("API requests failed with 500"),
    "sms_undelivered": _l("SMS ending undelivered"),
    "email_bounce": _l("Email recipients bouncing"),
    "duplicate_callbacks": _l("Callbacks delivered twice"),
    "reorder_callbacks": _l("Callbacks arriving in reverse order"),
}
SMS_FIELDS = (
    Field("from", "phone", label=_l("From"), required=True),
    Field("to", "phone", label=_l("To")),
    Field("body", "text", label=_l("Message"), required=True, max_length=1600),
)
EMAIL_FIELDS = (
    Field("from", "email", label=_l("From"), required=True),
    Field("to", "email", label=_l("To")),
    Field("subject", "str", label=_l("Subject"), max_length=300),
    Field("text", "text", label=_l("Message"), required=True),
)


# --- the simulator, over HTTP -------------------------------------------------------------------


class SimulatorError(Exception):
    """The simulator did not answer, or answered something unusable; `reason` says which."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class SimRequest:
    provider: str
    kind: str
    to: str
    status: int | None
    time: datetime | None
    detail: str


@dataclass(frozen=True)
class SimCallback:
    kind: str
    url: str
    attempt: int
    status: int | None
    error: str
    time: datetime | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Reply:
    """The simulator's answer to a simulated customer message: the hub's status and body."""

    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def simulated_channels(settings: Settings) -> dict[str, bool]:
    """Which channels the simulator stands in for: those without real credentials."""
    return {
        "sms": not (settings.twilio_account_sid and settings.twilio_auth_token),
        "email": not settings.sendgrid_api_key,
    }


def running_simulator(settings: Settings) -> str | None:
    """The address `hub up` or `hub simulator` wrote down, or None when none is running."""
    try:
        return simulator_url(settings)
    except ChannelMisconfigured:
        return None


def _is_loopback(base: str) -> bool:
    host = urlsplit(base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _call(
    method: str,
    base: str,
    path: str,
    payload: dict[str, Any] | None = None,
    timeout: tuple[float, float] = TIMEOUT,
) -> requests.Response:
    # A proxy set for the internet must not swallow a loopback call; elsewhere the environment
    # (with its NO_PROXY) decides.
    proxies: Any = NO_PROXIES if _is_loopback(base) else None
    try:
        return requests.request(
            method, base.rstrip("/") + path, json=payload, timeout=timeout, proxies=proxies
        )
    except requests.RequestException as exc:
        raise SimulatorError(base, f"{type(exc).__name__}: {exc}") from None


def _json(base: str, response: requests.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not response.ok:
        error = data.get("error") if isinstance(data, dict) else None
        raise SimulatorError(base, f"HTTP {response.status_code}: {error or response.text[:200]}")
    if data is None:
        raise SimulatorError(base, _("the answer is not JSON"))
    return data


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _recipient(record: dict[str, Any]) -> tuple[str, str]:
    """Who a logged request went to, and what else is worth a glance."""
    raw = record.get("body")
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if record.get("provider") == "customer":
        return str(body.get("to") or _("the hub")), _("from %(sender)s", sender=body.get("from"))
    if record.get("provider") == "sendgrid":
        emails = [
            str(a.get("email"))
            for p in body.get("personalizations") or []
            if isinstance(p, dict)
            for a in p.get("to") or []
            if isinstance(a, dict)
        ]
        failures = record.get("failures") or {}
        detail = _("%(count)d failed", count=len(failures)) if failures else ""
        more = f" (+{len(emails) - 1})" if len(emails) > 1 else ""
        return (emails[0] + more if emails else ""), detail
    detail = " ".join(str(v) for v in (record.get("final_status"), record.get("error_code")) if v)
    return str(body.get("To") or ""), detail


def recent_requests(base: str, limit: int = RECENT) -> list[SimRequest]:
    """The last `limit` requests the simulator accepted, newest first."""
    records = _json(base, _call("GET", base, "/sim/requests"))
    if not isinstance(records, list):
        raise SimulatorError(base, _("the request log is not a list"))
    out = []
    for record in reversed(records[-limit:]):
        if not isinstance(record, dict):
            continue
        to, detail = _recipient(record)
        status = record.get("status", record.get("hub_status"))
        out.append(
            SimRequest(
                provider=str(record.get("provider", "")),
                kind=str(record.get("kind", "")),
                to=to,
                status=status if isinstance(status, int) else None,
                time=_when(record.get("time")),
                detail=detail,
            )
        )
    return out


def recent_callbacks(base: str, limit: int = RECENT) -> list[SimCallback]:
    """The last `limit` callback attempts the simulator made to the hub, newest first."""
    outcomes = _json(base, _call("GET", base, "/sim/callbacks"))
    if not isinstance(outcomes, list):
        raise SimulatorError(base, _("the callback log is not a list"))
    return [
        SimCallback(
            kind=str(o.get("kind", "")),
            url=str(o.get("url", "")),
            attempt=int(o.get("attempt") or 1),
            status=o.get("status") if isinstance(o.get("status"), int) else None,
            error=str(o.get("error") or ""),
            time=_when(o.get("time")),
        )
        for o in reversed(outcomes[-limit:])
        if isinstance(o, dict)
    ]


def current_faults(base: str) -> dict[str, Any]:
    faults = _json(base, _call("GET", base, "/sim/faults"))
    if not isinstance(faults, dict):
        raise SimulatorError(base, _("the faults are not an object"))
    return faults


def parse_shares(form: dict[str, str]) -> dict[str, float]:
    """The fault shares of the form, each a number from 0 to 1; every bad one named at once."""
    shares: dict[str, float] = {}
    errors = []
    for name in FAULT_LABELS:
        text = (form.get(name) or "").strip().replace(",", ".")
        try:
            value = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
        except ValueError:
            value = math.nan
        if not text:
            errors.append(FieldError(name, _("This field is required.")))
        elif not (math.isfinite(value) and 0.0 <= value <= 1.0):
            errors.append(FieldError(name, _("Expected a share from 0 to 1, such as 0.05.")))
        else:
            shares[name] = value
    if errors:
        raise ValidationError(errors)
    return shares


def set_faults(base: str, shares: dict[str, float]) -> dict[str, Any]:
    """Change these shares and keep the simulator's other fault settings (seed, delays)."""
    faults = {**current_faults(base), **shares}
    return dict(_json(base, _call("POST", base, "/sim/faults", faults)))


def _reply(response: requests.Response) -> Reply:
    # The hub's own error pages are HTML written for a browser: only their status is worth a flash.
    html = response.headers.get("Content-Type", "").startswith("text/html")
    text = "" if html else response.text.strip()
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("error"):
            text = str(data["error"])
    except ValueError:
        pass
    return Reply(response.status_code, text[:300])


def customer_sms(base: str, sender: str, to: str | None, body: str) -> Reply:
    """A simulated customer texts the hub; the answer carries the hub's status."""
    payload = {"from": sender, "body": body, **({"to": to} if to else {})}
    return _reply(_call("POST", base, "/sim/inbound/sms", payload, INBOUND_TIMEOUT))


def customer_email(base: str, sender: str, to: str | None, subject: str | None, text: str) -> Reply:
    """A simulated customer emails the hub (an Inbound Parse post); the hub's status comes back."""
    payload = {"from": sender, "subject": subject or "", "text": text, **({"to": to} if to else {})}
    return _reply(_call("POST", base, "/sim/inbound/email", payload, INBOUND_TIMEOUT))


def contact_addresses(session: Session, channel: str, limit: int = 200) -> list[tuple[str, str]]:
    """(address, contact name) of recently changed contacts, offered as senders of a reply."""
    column = Contact.phone if channel == "sms" else Contact.email
    rows = session.execute(
        sa.select(column, Contact.name)
        .where(column.is_not(None), column != "")
        .order_by(Contact.updated_at.desc(), Contact.id.desc())
        .limit(limit)
    )
    return [(str(address), name) for address, name in rows]


# --- pages --------------------------------------------------------------------------------------


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _hub_addresses(settings: Settings) -> dict[str, str]:
    from hub.channels.credentials import load_or_create

    creds = load_or_create(settings.instance_dir)
    return {"sms": creds.from_number, "email": creds.from_email}


def _render(
    sms_form: dict[str, str] | None = None,
    email_form: dict[str, str] | None = None,
    fault_form: dict[str, str] | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> Any:
    settings = _settings()
    simulated = simulated_channels(settings)
    base = running_simulator(settings) if any(simulated.values()) else None
    context: dict[str, Any] = {
        "simulated": simulated,
        "base": base,
        "problem": None,
        "requests": [],
        "callbacks": [],
        "faults": {},
        "hub": {},
        "contacts": {},
        "fault_labels": FAULT_LABELS,
        "sms_form": sms_form or {},
        "email_form": email_form or {},
        "fault_form": fault_form,
        "errors": errors or {},
    }
    if base is not None:
        context["hub"] = _hub_addresses(settings)
        s = db.session()
        context["contacts"] = {c: contact_addresses(s, c) for c in ("sms", "email") if simulated[c]}
        try:
            context["requests"] = recent_requests(base)
            context["callbacks"] = recent_callbacks(base)
            context["faults"] = current_faults(base)
        except SimulatorError as exc:
            context["problem"] = exc.reason
    return render_template("dev.html", **context), status


def _ready(channel: str | None = None) -> str | None:
    """The simulator to talk to, or None after flashing why there is none."""
    settings = _settings()
    simulated = simulated_channels(settings)
    if not (simulated[channel] if channel else any(simulated.values())):
        flash(_("Real provider credentials are set: the simulator is not in use."), "error")
        return None
    base = running_simulator(settings)
    if base is None:
        flash(_("The provider simulator is not running; start it with hub up."), "error")
    return base


def _unreachable(exc: SimulatorError) -> None:
    flash(
        _(
            "The provider simulator at %(url)s did not answer as expected: %(reason)s",
            url=exc.url,
            reason=exc.reason,
        ),
        "error",
    )


def _flash_reply(kind: str, sender: str, reply: Reply) -> None:
    if reply.ok or not reply.text:
        message = _(
            "Simulated %(kind)s from %(sender)s: the hub answered %(status)d.",
            kind=kind,
            sender=sender,
            status=reply.status,
        )
    else:
        message = _(
            "Simulated %(kind)s from %(sender)s: the hub answered %(status)d (%(detail)s).",
            kind=kind,
            sender=sender,
            status=reply.status,
            detail=reply.text,
        )
    flash(message, "success" if reply.ok else "error")


@bp.get("/dev")
@roles_required()
def index() -> Any:
    return _render()


@bp.post("/dev/inbound-sms")
@roles_required()
def inbound_sms() -> Any:
    form = {k: request.form.get(k, "") for k in ("from", "to", "body")}
    try:
        clean = parse(SMS_FIELDS, form, region=_settings().default_region)
    except ValidationError as exc:
        return _render(sms_form=form, errors={"sms": exc.as_dict()}, status=422)
    base = _ready("sms")
    if base is not None:
        try:
            reply = customer_sms(base, clean["from"], clean.get("to"), clean["body"])
        except SimulatorError as exc:
            _unreachable(exc)
        else:
            _flash_reply(_("SMS"), clean["from"], reply)
    return redirect(url_for(".index"))


@bp.post("/dev/inbound-email")
@roles_required()
def inbound_email() -> Any:
    form = {k: request.form.get(k, "") for k in ("from", "to", "subject", "text")}
    try:
        clean = parse(EMAIL_FIELDS, form)
    except ValidationError as exc:
        return _render(email_form=form, errors={"email": exc.as_dict()}, status=422)
    base = _ready("email")
    if base is not None:
        try:
            reply = customer_email(
                base, clean["from"], clean.get("to"), clean.get("subject"), clean["text"]
            )
        except SimulatorError as exc:
            _unreachable(exc)
        else:
            _flash_reply(_("email"), clean["from"], reply)
    return redirect(url_for(".index"))


@bp.post("/dev/faults")
@roles_required()
def faults() -> Response | Any:
    form = {name: request.form.get(name, "") for name in FAULT_LABELS}
    try:
        shares = parse_shares(form)
    except ValidationError as exc:
        return _render(fault_form=form, errors={"faults": exc.as_dict()}, status=422)
    base = _ready()
    if base is not None:
        try:
            set_faults(base, shares)
        except SimulatorError as exc:
            _unreachable(exc)
        else:
            flash(_("The simulator's faults were changed."), "success")
    return redirect(url_for(".index"))
