"""The agent console: live call cards (screen pops), today's due list, recent calls; the call
settings; click-to-call; and the outcome form that completes a call's record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.channels.base import ChannelMisconfigured
from hub.channels.calls import agents
from hub.channels.calls import console_bp as bp
from hub.channels.calls import records as calls
from hub.channels.calls.click_to_call import start_call
from hub.channels.calls.models import Availability, Call, Disposition
from hub.channels.calls.screen_pop import pop_card
from hub.channels.calls.voice import TwilioVoice
from hub.channels.calls.voice_webhooks import public_base
from hub.channels.providers import voice_channel
from hub.core import db
from hub.core.auth import login_required, require_user
from hub.core.clock import business_today, utcnow
from hub.core.redirects import safe_next
from hub.core.refusals import Conflict, FieldError, Forbidden, NotFound, ValidationError
from hub.core.validation import Field, parse
from hub.crm.customers.models import Customer
from hub.crm.customers.views import region
from hub.crm.followups.models import FollowUp
from hub.crm.followups.reminders import due_items

LIVE_WINDOW = timedelta(minutes=15)
NEXT_CONTACT = (Field("next_contact_on", "date"),)


def _partial() -> bool:
    """The console's script asks for the card alone; a plain form post gets a page."""
    return request.headers.get("X-Requested-With") == "console"


def _load_call(call_id: int) -> tuple[Call, Customer | None]:
    s = db.session()
    call = s.get(Call, call_id)
    if call is None:
        raise NotFound(_("There is no call %(id)s.", id=call_id))
    customer = s.get(Customer, call.customer_id) if call.customer_id else None
    if not calls.may_open(require_user(), call, customer):
        raise Forbidden(_("This call was not offered to you."))
    return call, customer


def _card_context(
    call: Call, errors: dict[str, str] | None = None, values: Any = None
) -> dict[str, Any]:
    record = db.session().get(FollowUp, call.follow_up_id) if call.follow_up_id else None
    return {
        "card": pop_card(db.session(), call),
        "record": record,
        "shown_status": calls.timeline_status,
        "dispositions": [d.value for d in Disposition],
        "errors": errors or {},
        "values": values or {},
        "today": business_today(),
    }


def _console(user_id: int, **extra: Any) -> str:
    s = db.session()
    user = require_user()
    return render_template(
        "console.html",
        profile=agents.profile_of(s, user_id),
        availabilities=[a.value for a in Availability],
        due=due_items(s, user, business_today(), limit=20),
        recent=calls.recent_calls(s, user_id),
        shown_status=calls.timeline_status,
        **{"errors": {}, "form": None, **extra},
    )


@bp.get("/console")
@login_required
def index() -> str:
    return _console(require_user().id)


def live_calls(user_id: int) -> list[Call]:
    """Calls of the last minutes offered to the agent or theirs: what the card area shows on load
    and after a reconnect."""
    since = utcnow() - LIVE_WINDOW
    recent = db.session().scalars(
        sa.select(Call).where(Call.created_at >= since).order_by(Call.id.desc()).limit(50)
    )
    return [c for c in recent if c.agent_id == user_id or user_id in (c.offered_to or [])][:5]


@bp.get("/console/live")
@login_required
def live() -> Response:
    """The ids of the agent's live calls, for the console to catch up after a dropped stream."""
    return jsonify({"calls": [c.id for c in live_calls(require_user().id)]})


@bp.post("/console/profile")
@login_required
def profile() -> Response | tuple[str, int]:
    user = require_user()
    s = db.session()
    try:
        agents.update_profile(s, user, request.form, region())
    except ValidationError as exc:
        s.rollback()
        errors = {e.field: e.message for e in exc.errors}
        return _console(user.id, form=request.form, errors=errors), 422
    s.commit()
    flash(_("Your call settings are saved."), "success")
    return redirect(url_for("console.index"))


@bp.get("/console/calls/<int:call_id>")
@login_required
def call_page(call_id: int) -> str:
    call, _customer = _load_call(call_id)
    return render_template("console_call.html", **_card_context(call))


@bp.get("/console/calls/<int:call_id>/card")
@login_required
def card(call_id: int) -> str:
    call, _customer = _load_call(call_id)
    return render_template("console_card.html", **_card_context(call))


def _answer(call: Call, errors: dict[str, str] | None = None) -> Response | str | tuple[str, int]:
    if errors:
        context = _card_context(call, errors, request.form)
        template = "console_card.html" if _partial() else "console_call.html"
        return render_template(template, **context), 422
    if _partial():
        return render_template("console_card.html", **_card_context(call))
    return redirect(url_for("console.call_page", call_id=call.id))


@bp.post("/console/calls/<int:call_id>/outcome")
@login_required
def outcome(call_id: int) -> Response | str | tuple[str, int]:
    call, _customer = _load_call(call_id)
    s = db.session()
    try:
        raw = request.form.get("next_contact_on", "").strip()
        next_on = parse(NEXT_CONTACT, {"next_contact_on": raw})["next_contact_on"] if raw else None
        calls.record_outcome(
            s,
            require_user(),
            call,
            request.form.get("disposition", ""),
            request.form.get("notes", ""),
            next_on,
            today=business_today(),
        )
    except ValidationError as exc:
        s.rollback()
        return _answer(call, {e.field: e.message for e in exc.errors})
    s.commit()
    calls.notify(call)
    if not _partial():
        flash(_("The call's outcome is saved."), "success")
    return _answer(call)


@bp.post("/console/calls/<int:call_id>/lead")
@login_required
def lead(call_id: int) -> Response | str | tuple[str, int]:
    call, _customer = _load_call(call_id)
    s = db.session()
    form = request.form
    try:
        calls.claim_lead(
            s,
            require_user(),
            call,
            form.get("name", ""),
            form.get("company", ""),
            form.get("email", ""),
        )
    except ValidationError as exc:
        s.rollback()
        return _answer(call, {e.field: e.message for e in exc.errors})
    s.commit()
    return _answer(call)


def _back() -> str:
    """Where the call button was: the referring page of this hub, else the console."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return safe_next(referrer.path + (f"?{referrer.query}" if referrer.query else ""))
    return url_for("console.index")


def voice_channel_or_refusal() -> TwilioVoice:
    try:
        return voice_channel(current_app)
    except ChannelMisconfigured as exc:
        raise Conflict(_("Calls cannot be placed: %(reason)s", reason=str(exc))) from exc


@bp.post("/calls")
@login_required
def click_to_call() -> Response:
    """A phone number's call button: ring the agent, then the customer."""
    user = require_user()
    form = request.values  # a button inside another form sends its values in the query
    back = _back()
    customer_id = form.get("customer_id", "")
    contact_id = form.get("contact_id", "")
    if not customer_id.isdigit() or (contact_id and not contact_id.isdigit()):
        abort(400)
    settings = current_app.config["SETTINGS"]
    s = db.session()
    try:
        call = start_call(
            s,
            voice_channel_or_refusal(),
            user,
            int(customer_id),
            int(contact_id) if contact_id else None,
            form.get("number", ""),
            public_base(),
            settings.call_hours,
            settings.timezone,
            settings.default_region,
        )
    except Conflict as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(back)
    except FieldError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(back)
    flash(
        _(
            "Calling your phone now; answer it to be connected to %(number)s.",
            number=call.customer_number,
        ),
        "success",
    )
    return redirect(url_for("console.call_page", call_id=call.id))
