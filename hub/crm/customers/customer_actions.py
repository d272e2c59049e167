"""What people do on a customer's page: contacts, consent, follow-ups, conversion, class, owner."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import login_required, require_user
from hub.core.formatting import date_text
from hub.core.redirects import safe_next
from hub.core.refusals import Conflict, FieldError, ValidationError
from hub.crm.customers import crm_actions_bp as bp
from hub.crm.customers import customer_records as records
from hub.crm.customers import lifecycle
from hub.crm.customers import lookup as svc
from hub.crm.customers.fields import CONTACT_FIELDS
from hub.crm.customers.views import form_values, region
from hub.crm.followups.records import log_follow_up


def _back(customer_id: int, anchor: str = "") -> Response:
    return redirect(url_for("crm.customer", customer_id=customer_id) + anchor)


def _flash_errors(exc: ValidationError) -> None:
    for e in exc.errors:
        flash(f"{e.field}: {e.message}", "error")


@bp.route("/customers/<int:customer_id>/contacts/new", methods=["GET", "POST"])
@login_required
def new_contact(customer_id: int) -> tuple[str, int] | Response:
    user = require_user()
    s = db.session()
    c = svc.load_customer(s, user, customer_id, edit=True)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(CONTACT_FIELDS)
        try:
            contact = records.add_contact(s, user, c, values, region())
        except ValidationError as exc:
            s.rollback()
            errors = exc.as_dict()
        else:
            s.commit()
            flash(_("Contact %(name)s added.", name=contact.name), "success")
            return _back(c.id, "#contacts")
    return render_template(
        "contact_form.html", c=c, contact=None, fields=CONTACT_FIELDS, values=values, errors=errors
    ), 422 if errors else 200


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit_contact(contact_id: int) -> tuple[str, int] | Response:
    user = require_user()
    s = db.session()
    contact = svc.load_contact(s, user, contact_id, edit=True)
    values: dict[str, Any] = {f.name: getattr(contact, f.name) for f in CONTACT_FIELDS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(CONTACT_FIELDS)
        try:
            records.update_contact(s, user, contact, values, region())
        except ValidationError as exc:
            s.rollback()
            errors = exc.as_dict()
        else:
            s.commit()
            flash(_("Contact %(name)s saved.", name=contact.name), "success")
            return _back(contact.customer_id, "#contacts")
    return render_template(
        "contact_form.html",
        c=contact.customer,
        contact=contact,
        fields=CONTACT_FIELDS,
        values=values,
        errors=errors,
    ), 422 if errors else 200


@bp.post("/contacts/<int:contact_id>/delete")
@login_required
def delete_contact(contact_id: int) -> Response:
    user = require_user()
    s = db.session()
    contact = svc.load_contact(s, user, contact_id, edit=True)
    customer_id, name = contact.customer_id, contact.name
    records.delete_contact(s, user, contact)
    s.commit()
    flash(_("Contact %(name)s deleted.", name=name), "success")
    return _back(customer_id, "#contacts")


@bp.post("/contacts/<int:contact_id>/consent")
@login_required
def consent(contact_id: int) -> Response:
    user = require_user()
    s = db.session()
    contact = svc.load_contact(s, user, contact_id, edit=True)
    granted = request.form.get("granted") == "1"
    try:
        records.set_consent(
            s,
            user,
            contact,
            request.form.get("channel", ""),
            granted,
            request.form.get("source", "") or _("entered by %(name)s", name=user.display_name),
        )
    except ValidationError as exc:
        s.rollback()
        _flash_errors(exc)
    else:
        s.commit()
        flash(_("Consent recorded."), "success")
    return _back(contact.customer_id, "#contacts")


@bp.post("/customers/<int:customer_id>/follow-ups")
@login_required
def log(customer_id: int) -> Response:
    user = require_user()
    s = db.session()
    c = svc.load_customer(s, user, customer_id, edit=True)
    form = request.form
    try:
        next_on = (
            date.fromisoformat(form["next_contact_on"]) if form.get("next_contact_on") else None
        )
    except ValueError:
        flash(_("next_contact_on: Expected a date like 2026-03-31."), "error")
        return _back(c.id, "#timeline")
    contact_id = form.get("contact_id", "")
    try:
        log_follow_up(
            s,
            user,
            c,
            form.get("channel", ""),
            summary=form.get("summary", ""),
            direction=form.get("direction", "outbound"),
            outcome=form.get("outcome"),
            next_contact_on=next_on,
            contact_id=int(contact_id) if contact_id.isdigit() else None,
        )
    except ValidationError as exc:
        s.rollback()
        _flash_errors(exc)
    else:
        s.commit()
        flash(_("Follow-up recorded. Next contact: %(day)s.", day=date_text(c.next_contact_on)), "success")
    return _back(c.id, "#timeline")


@bp.post("/customers/<int:customer_id>/convert")
@login_required
def convert(customer_id: int) -> Response:
    user = require_user()
    s = db.session()
    c = svc.load_customer(s, user, customer_id, edit=True)
    try:
        lifecycle.convert_lead(s, user, c)
    except Conflict as exc:
        flash(str(exc), "error")
    else:
        s.commit()
        flash(_("%(name)s is now a customer.", name=c.name), "success")
    return _back(c.id)


@bp.post("/customers/<int:customer_id>/class")
@login_required
def set_class(customer_id: int) -> Response:
    user = require_user()
    s = db.session()
    c = svc.load_customer(s, user, customer_id)
    try:
        changed = lifecycle.set_class(
            s, user, c, request.form.get("customer_class", ""), request.form.get("reason", "")
        )
    except ValidationError as exc:
        s.rollback()
        _flash_errors(exc)
    else:
        s.commit()
        if changed:
            flash(_("Class set to %(cls)s.", cls=c.customer_class), "success")
    return _back(c.id)


@bp.post("/customers/assign")
@login_required
def assign() -> Response:
    """Give one or many customers to a rep; the list page posts the ticked ones."""
    user = require_user()
    s = db.session()
    ids = [int(i) for i in request.form.getlist("customer_id") if i.isdigit()]
    owner = request.form.get("owner_id", "")
    back = request.form.get("next") or url_for("crm.customers")
    try:
        if not owner.isdigit():
            raise ValidationError([FieldError("owner_id", _("Choose the rep to give them to."))])
        moved = lifecycle.assign_owner(s, user, ids, int(owner), request.form.get("reason", ""))
    except ValidationError as exc:
        s.rollback()
        _flash_errors(exc)
    else:
        s.commit()
        flash(_("%(count)d customers reassigned.", count=moved), "success")
    return redirect(safe_next(back))
