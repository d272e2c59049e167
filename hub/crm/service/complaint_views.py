"""Complaint pages: the list, the complaint with its step history and files, the forms."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import Role, User, login_required, require_user
from hub.core.clock import utcnow
from hub.core.pagination import page_arg
from hub.core.refusals import Forbidden, ValidationError
from hub.crm.customers.lookup import load_customer
from hub.crm.customers.models import Customer
from hub.crm.customers.views import form_values
from hub.crm.sales.models import Order
from hub.crm.sales.view_helpers import customer_choices, instance_dir, int_arg, kept_args, staff
from hub.crm.service import complaint_changes as recording
from hub.crm.service import complaint_files as files
from hub.crm.service import complaints as svc
from hub.crm.service import service_bp as bp
from hub.crm.service.complaint_steps import next_step, step_history
from hub.crm.service.models import Complaint

Page = str | tuple[str, int] | Response


@bp.get("/complaints")
@login_required
def complaints() -> str:
    user = require_user()
    s = db.session()
    q = request.args.get("q", "")
    step = request.args.get("step") if request.args.get("step") in svc.STEPS else None
    overdue = request.args.get("overdue") == "1"
    page = svc.search_complaints(
        s, user, q, step, int_arg("owner"), utcnow() if overdue else None, page_arg()
    )
    pick = request.args.get("pick", "")
    return render_template(
        "complaints.html",
        page=page,
        q=q,
        step=step,
        owner=int_arg("owner"),
        overdue=overdue,
        now=utcnow(),
        steps=svc.STEPS,
        staff=staff(s) if user.role != Role.AGENT else [],
        kept=kept_args("page"),
        pick=pick,
        choices=customer_choices(s, user, pick, svc.can_handle),
    )


def _owner_choices(user: User) -> list[tuple[int, str]]:
    if user.role not in (Role.ADMIN, Role.DIRECTOR, Role.SPECIALIST):
        return []
    return [(u.id, u.display_name) for u in staff(db.session())]


def _form_page(
    complaint: Complaint | None,
    customer: Customer,
    values: dict[str, Any],
    errors: dict[str, str],
) -> tuple[str, int]:
    user = require_user()
    s = db.session()
    orders = s.scalars(
        sa.select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.order_date.desc(), Order.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "complaints_form.html",
        complaint=complaint,
        customer=customer,
        values=values,
        errors=errors,
        fields={f.name: f for f in svc.COMPLAINT_FIELDS},
        channels=[(c, svc.channel_label(c)) for c in svc.CHANNELS],
        contacts=[(c.id, c.name) for c in customer.contacts],
        orders=[(o.id, f"{o.contract_number} ({o.order_date})") for o in orders],
        owners=_owner_choices(user),
        max_mb=files.MAX_BYTES // (1024 * 1024),
        accept=",".join(files.TYPES),
    ), 422 if errors else 200


def _uploads() -> tuple[list[files.StoredFile], list[str]]:
    """Keep every uploaded file that passes; the messages of those that do not."""
    stored, problems = [], []
    for upload in request.files.getlist("attachments"):
        if not upload or not upload.filename:
            continue
        try:
            stored.append(files.store_upload(upload.stream, upload.filename, instance_dir()))
        except ValidationError as exc:
            problems += [e.message for e in exc.errors]
    return stored, problems


def _save(editing: Complaint | None, customer: Customer) -> Page:
    """Store the form and its files together: a bad field or a bad file keeps neither."""
    user = require_user()
    s = db.session()
    values = form_values(svc.COMPLAINT_FIELDS)
    if user.role == Role.AGENT:
        values.pop("owner_id", None)
    stored, problems = _uploads()
    errors = {"attachments": " ".join(problems)} if problems else {}
    try:
        if editing is None:
            complaint = recording.create_complaint(s, user, customer, values)
        else:
            complaint = editing
            recording.update_complaint(s, user, complaint, values)
        for item in stored:
            files.attach(s, user, complaint, item)
    except ValidationError as exc:
        errors.update(exc.as_dict())
    if errors:
        s.rollback()
        files.discard(instance_dir(), [item.key for item in stored])
        if stored and "attachments" not in errors:
            errors["attachments"] = _("Nothing was saved; choose the files again.")
        return _form_page(editing, customer, values, errors)
    try:
        s.commit()
    except Exception:
        files.discard(instance_dir(), [item.key for item in stored])
        raise
    flash(_("Complaint %(id)s saved.", id=complaint.id), "success")
    return redirect(url_for("service.complaint", complaint_id=complaint.id))


@bp.route("/customers/<int:customer_id>/complaints/new", methods=["GET", "POST"])
@login_required
def new_complaint(customer_id: int) -> Page:
    user = require_user()
    customer = load_customer(db.session(), user, customer_id)
    if not svc.can_handle(user, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    if request.method == "POST":
        return _save(None, customer)
    return _form_page(None, customer, {"channel": "call"}, {})


@bp.route("/complaints/<int:complaint_id>/edit", methods=["GET", "POST"])
@login_required
def edit_complaint(complaint_id: int) -> Page:
    complaint = svc.load_complaint(db.session(), require_user(), complaint_id, edit=True)
    if request.method == "POST":
        return _save(complaint, complaint.customer)
    values = {f.name: getattr(complaint, f.name) for f in svc.COMPLAINT_FIELDS}
    return _form_page(complaint, complaint.customer, values, {})


@bp.get("/complaints/<int:complaint_id>")
@login_required
def complaint(complaint_id: int) -> str:
    user = require_user()
    s = db.session()
    c = svc.load_complaint(s, user, complaint_id)
    return render_template(
        "complaints_detail.html",
        c=c,
        order=s.get(Order, c.order_id) if c.order_id else None,
        history=step_history(s, c),
        next_step=next_step(c.step),
        can_work=svc.can_work(user, c),
        now=utcnow(),
        max_mb=files.MAX_BYTES // (1024 * 1024),
        accept=",".join(files.TYPES),
    )


@bp.post("/complaints/<int:complaint_id>/step")
@login_required
def complaint_step(complaint_id: int) -> Response:
    from hub.crm.service.complaint_steps import advance_step

    user = require_user()
    s = db.session()
    c = svc.load_complaint(s, user, complaint_id, edit=True)
    advance_step(s, user, c, request.form.get("step", ""), request.form.get("note", ""))
    s.commit()
    flash(_("The complaint is now %(step)s.", step=svc.step_label(c.step)), "success")
    return redirect(url_for("service.complaint", complaint_id=c.id))


@bp.post("/complaints/<int:complaint_id>/attachments")
@login_required
def add_attachments(complaint_id: int) -> Response:
    user = require_user()
    s = db.session()
    c = svc.load_complaint(s, user, complaint_id, edit=True)
    stored, problems = _uploads()
    for item in stored:
        files.attach(s, user, c, item)
    s.commit()
    if stored:
        flash(ngettext("%(num)d file attached.", "%(num)d files attached.", len(stored)), "success")
    for problem in problems:
        flash(problem, "error")
    if not stored and not problems:
        flash(_("Choose a file to attach."), "error")
    return redirect(url_for("service.complaint", complaint_id=c.id))


@bp.get("/complaints/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Response:
    row, path = files.open_attachment(db.session(), require_user(), attachment_id, instance_dir())
    response = send_file(
        path,
        mimetype=row.content_type,
        as_attachment=True,
        download_name=row.filename,
        max_age=0,
    )
    # Never rendered in the hub's origin, whatever the file holds.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/complaints/attachments/<int:attachment_id>/delete")
@login_required
def delete_attachment(attachment_id: int) -> Response:
    user = require_user()
    s = db.session()
    row = files.load_attachment(s, user, attachment_id)
    complaint_id, name = row.complaint_id, row.filename
    key = files.remove_attachment(s, user, row)
    s.commit()
    files.discard(instance_dir(), [key])
    flash(_("%(name)s removed.", name=name), "success")
    return redirect(url_for("service.complaint", complaint_id=complaint_id))
