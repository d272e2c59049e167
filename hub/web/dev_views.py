"""The developer page: what the provider simulator accepted and called back, simulated customers
texting, writing and calling, and the simulator's faults. Only while the simulator stands in."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import roles_required
from hub.core.config import Settings
from hub.core.refusals import FieldError, ValidationError
from hub.core.validation import Field, parse
from hub.crm.customers.models import Contact
from hub.simulator.client import (
    Reply,
    SimulatorError,
    current_faults,
    customer_call,
    customer_email,
    customer_sms,
    recent_callbacks,
    recent_requests,
    running_simulator,
    set_faults,
    simulated_channels,
)
from hub.web import dev_bp as bp

FAULT_LABELS = {
    "rate_429": _l("API requests refused with 429 (rate limit)"),
    "rate_500": _l("API requests failed with 500"),
    "sms_undelivered": _l("SMS ending undelivered"),
    "email_bounce": _l("Email recipients bouncing"),
    "duplicate_callbacks": _l("Callbacks delivered twice"),
    "reorder_callbacks": _l("Callbacks arriving in reverse order"),
    "calls_unanswered": _l("Calls nobody picks up"),
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
CALL_FIELDS = (
    Field("from", "phone", label=_l("From"), required=True),
    Field("answer", "choice", label=_l("Who answers"), choices=("agent", "nobody"), required=True),
    Field("talk_seconds", "int", label=_l("Seconds spoken"), minimum=0, maximum=14400),
    Field("voicemail_seconds", "int", label=_l("Voicemail seconds"), minimum=0, maximum=3600),
)


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
    call_form: dict[str, str] | None = None,
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
        "call_form": call_form or {},
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


def _simulate(
    key: str,
    names: tuple[str, ...],
    fields: Any,
    channel: str,
    kind: str,
    send: Callable[[str, dict[str, Any]], Reply],
) -> Any:
    """One of the Developer page's "a customer writes or calls" forms: check the form, ask the
    simulator to act as the customer, and say what the hub answered."""
    form = {k: request.form.get(k, "") for k in names}
    try:
        clean = parse(fields, form, region=_settings().default_region)
    except ValidationError as exc:
        return _render(**{f"{key}_form": form}, errors={key: exc.as_dict()}, status=422)
    base = _ready(channel)
    if base is not None:
        try:
            reply = send(base, clean)
        except SimulatorError as exc:
            _unreachable(exc)
        else:
            _flash_reply(kind, clean["from"], reply)
    return redirect(url_for(".index"))


@bp.post("/dev/inbound-sms")
@roles_required()
def inbound_sms() -> Any:
    return _simulate(
        "sms", ("from", "to", "body"), SMS_FIELDS, "sms", _("SMS"),
        lambda base, c: customer_sms(base, c["from"], c.get("to"), c["body"]),
    )


@bp.post("/dev/inbound-email")
@roles_required()
def inbound_email() -> Any:
    return _simulate(
        "email", ("from", "to", "subject", "text"), EMAIL_FIELDS, "email", _("email"),
        lambda base, c: customer_email(base, c["from"], c.get("to"), c.get("subject"), c["text"]),
    )


@bp.post("/dev/inbound-call")
@roles_required()
def inbound_call() -> Any:
    # Calls ride the Twilio account the SMS channel uses.
    return _simulate(
        "call", ("from", "answer", "talk_seconds", "voicemail_seconds"), CALL_FIELDS, "sms", _("call"),
        lambda base, c: customer_call(
            base,
            c["from"],
            c["answer"] == "agent",
            c.get("talk_seconds") or 42,
            12 if c.get("voicemail_seconds") is None else c["voicemail_seconds"],
        ),
    )


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
