"""Credit control pages: the customer's credit card (review, events, actions), the directors'
list of credit events, and the collection card's forms on a receivable's page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import Role, login_required, require_user, roles_required
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import Conflict, NotFound, ValidationError
from hub.core.validation import MAX_ID
from hub.crm.customers.lookup import can_edit, load_customer
from hub.crm.customers.models import Customer
from hub.crm.sales import collection, credit
from hub.crm.sales import credit_bp as bp
from hub.crm.sales.receivable_models import CreditActionKind, CreditEvent, Receivable


def _form(*names: str) -> dict[str, str]:
    """The named fields the form sent (an empty one is sent as empty, so it is named if required)."""
    return {name: request.form.get(name, "") for name in names if name in request.form}


def _done(action: Any, success: str) -> bool:
    """Run a change and commit it, or flash every error by field; True when it was saved."""
    s = db.session()
    try:
        action()
    except ValidationError as exc:
        s.rollback()
        for e in exc.errors:
            flash(f"{e.field}: {e.message}", "error")
        return False
    except Conflict as exc:
        s.rollback()
        flash(str(exc), "error")
        return False
    s.commit()
    flash(success, "success")
    return True


def _to_customer(customer_id: int) -> Response:
    return redirect(url_for("crm.customer", customer_id=customer_id) + "#credit")


def receivable_url(receivable: Receivable) -> str:
    """The receivable's page where it exists, else its customer's page."""
    path = f"/receivables/{receivable.id}"
    try:
        current_app.url_map.bind("localhost").match(path)
    except RequestRedirect:
        return path
    except HTTPException:  # no such page (yet): the customer's page has the figures
        return url_for("crm.customer", customer_id=receivable.customer_id)
    return path


@bp.app_context_processor
def _cards() -> dict[str, Any]:
    return {"credit_card": credit_card, "rating_scale": credit.RATING_SCALE}


def credit_card(customer: Customer) -> dict[str, Any]:
    """What the customer page's credit card shows and which of its forms the user gets."""
    user = require_user()
    s = db.session()
    events = credit.customer_events(s, customer.id)
    is_director = user.role in credit.DIRECTORS
    return {
        "open_event": next((e for e in events if e.closed_at is None), None),
        "closed_count": sum(1 for e in events if e.closed_at is not None),
        "can_review": can_edit(user, customer),
        "is_director": is_director,
        "action_kinds": [k.value for k in CreditActionKind],
    }


@bp.post("/customers/<int:customer_id>/credit-review")
@login_required
def review(customer_id: int) -> Response:
    user = require_user()
    customer = load_customer(db.session(), user, customer_id, edit=True)
    data = _form("credit_rating", "credit_limit", "note")
    _done(lambda: credit.record_review(db.session(), user, customer, data),
          _("Credit review recorded."))
    return _to_customer(customer.id)


@bp.post("/customers/<int:customer_id>/credit-events")
@roles_required(Role.DIRECTOR)
def open_event(customer_id: int) -> Response:
    user = require_user()
    customer = load_customer(db.session(), user, customer_id)
    data = _form("reason")
    _done(lambda: credit.open_manual(db.session(), user, customer, data),
          _("Credit event opened."))
    return _to_customer(customer.id)


def _event(event_id: int) -> CreditEvent:
    event = db.session().get(CreditEvent, event_id) if 0 < event_id <= MAX_ID else None
    if event is None:
        raise NotFound(_("There is no credit event %(id)s.", id=event_id))
    return event


@bp.post("/credit-events/<int:event_id>/actions")
@roles_required(Role.DIRECTOR)
def add_action(event_id: int) -> Response:
    event = _event(event_id)
    data = _form("kind", "note")
    _done(lambda: credit.add_action(db.session(), require_user(), event, data),
          _("Credit action recorded."))
    return _to_customer(event.customer_id)


@bp.post("/credit-events/<int:event_id>/close")
@roles_required(Role.DIRECTOR)
def close_event(event_id: int) -> Response:
    event = _event(event_id)
    data = _form("note")
    _done(lambda: credit.close_event(db.session(), require_user(), event, data),
          _("Credit event closed."))
    return _to_customer(event.customer_id)


@bp.get("/credit-events")
@roles_required(Role.DIRECTOR)
def events() -> str:
    stmt = (
        sa.select(CreditEvent)
        .order_by(CreditEvent.closed_at.is_not(None), CreditEvent.opened_at.desc(),
                  CreditEvent.id.desc())
    )
    return render_template("credit_events.html", page=paginate(db.session(), stmt, page_arg()))


@bp.post("/receivables/<int:receivable_id>/collection")
@login_required
def record_collection(receivable_id: int) -> Response:
    user = require_user()
    receivable = collection.load_receivable(db.session(), user, receivable_id, edit=True)
    data = _form("kind", "note", "promised_on", "promised_amount", "reason")
    _done(lambda: collection.record_collection(db.session(), user, receivable, data),
          _("Collection contact recorded."))
    return redirect(receivable_url(receivable) + "#collection")
