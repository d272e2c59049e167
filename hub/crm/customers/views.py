"""Customer pages: the list, a customer's page, and adding and editing one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db, hooks
from hub.core.auth import Role, User, login_required, require_user
from hub.core.clock import business_today
from hub.core.pagination import page_arg
from hub.core.refusals import ValidationError
from hub.core.validation import Field
from hub.crm.customers import crm_bp as bp
from hub.crm.customers import customer_records as records
from hub.crm.customers import list_extras, search
from hub.crm.customers import lookup as svc
from hub.crm.customers.audit import customer_trail
from hub.crm.customers.fields import (
    CONTACT_FIELDS,
    CUSTOMER_CREATE_EXTRA,
    CUSTOMER_FIELDS,
    CUSTOMER_GROUPS,
)
from hub.crm.customers.lifecycle import assignment_history
from hub.crm.customers.models import CustomField, LeadSource, Stage, Tag
from hub.crm.followups.models import FollowUpChannel
from hub.crm.followups.records import timeline
from hub.crm.rules import cadence_hint, get_rules


def region() -> str:
    return current_app.config["SETTINGS"].default_region


def form_values(fields: Sequence[Field], prefix: str = "") -> dict[str, Any]:
    """The submitted values of declared fields; a checkbox's last value wins (hidden 0, box 1)."""
    out: dict[str, Any] = {}
    for f in fields:
        key = prefix + f.name
        if key in request.form:
            out[f.name] = request.form.getlist(key)[-1]
    return out


def custom_form_values() -> dict[str, str]:
    return {k[len("custom.") :]: v for k, v in request.form.items() if k.startswith("custom.")}


def owners(s: sa.orm.Session) -> list[User]:
    """People a customer can be given to."""
    return list(
        s.scalars(
            sa.select(User)
            .where(User.active.is_(True), User.role.in_([Role.AGENT, Role.DIRECTOR, Role.ADMIN]))
            .order_by(User.name, User.email)
        )
    )


def custom_fields(s: sa.orm.Session) -> list[CustomField]:
    return list(s.scalars(sa.select(CustomField).order_by(CustomField.label)))


def _filters_from_args(s: sa.orm.Session) -> tuple[search.CustomerFilters, dict[str, str]]:
    args = request.args
    owner = args.get("owner", "")
    custom: dict[str, Any] = {}
    for cf in custom_fields(s):
        if cf.kind in ("number", "date"):
            low, high = args.get(f"cf_{cf.key}_min", ""), args.get(f"cf_{cf.key}_max", "")
            if low or high:
                custom[cf.key] = (low, high)
        elif args.get(f"cf_{cf.key}"):
            custom[cf.key] = args[f"cf_{cf.key}"]
    filters = search.CustomerFilters(
        customer_class=args.get("class") if args.get("class") in ("A", "B", "C") else None,
        stage=args.get("stage") or None,
        owner_id=int(owner) if owner.isdigit() else None,
        region=args.get("region") or None,
        industry=args.get("industry") or None,
        lead_source=args.get("lead_source") or None,
        tag=args.get("tag") or None,
        custom=custom,
        overdue_amount=args.get("overdue_amount") or None,
        overdue_days=args.get("overdue_days") or None,
    )
    kept = {k: v for k, v in args.items() if k != "page" and v}
    return filters, kept


@bp.get("/customers")
@login_required
def customers() -> tuple[str, int] | str:
    user = require_user()
    s = db.session()
    q = request.args.get("q", "")
    sort = request.args.get("sort", "name")
    filters, kept = _filters_from_args(s)
    try:
        page = search.search_customers(
            s, user, q, filters, sort=sort, page=page_arg(), region=region()
        )
    except ValidationError as exc:
        flash("; ".join(e.message for e in exc.errors), "error")
        page = search.search_customers(s, user, q, search.CustomerFilters(), sort=sort, region=region())
    # Beside each row: its first contact's number when it has none, and why the search found it.
    phones = list_extras.fallback_phones(s, page.items)
    matched = list_extras.search_matches(s, page.items, q, region(), phones)
    regions = s.scalars(
        sa.select(svc.Customer.region)
        .where(svc.Customer.region != "")
        .distinct()
        .order_by(svc.Customer.region)
    ).all()
    return render_template(
        "customers.html",
        page=page,
        phones=phones,
        matched=matched,
        q=q,
        sort=sort,
        kept=kept,
        filters=filters,
        stages=[st.value for st in Stage],
        sources=[src.value for src in LeadSource],
        regions=regions,
        tags=s.scalars(sa.select(Tag.name).order_by(Tag.name)).all(),
        owners=owners(s) if svc.can_assign(user) or user.role != Role.AGENT else [],
        custom_fields=custom_fields(s),
        can_create=svc.can_create(user),
        can_assign=svc.can_assign(user),
    )


@bp.route("/customers/new", methods=["GET", "POST"])
@login_required
def new_customer() -> tuple[str, int] | str | Response:
    user = require_user()
    s = db.session()
    values: dict[str, Any] = {"stage": "customer", "kind": "organization", "lead_source": "manual"}
    contact: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if not svc.can_create(user):
        return render_template(
            "error.html",
            status=403,
            title=_("Not allowed"),
            message=_("Your role may not add customers."),
        ), 403
    if request.method == "POST":
        values = form_values(CUSTOMER_FIELDS + CUSTOMER_CREATE_EXTRA)
        contact = form_values(CONTACT_FIELDS, prefix="contact.")
        data = dict(values)
        if any(v not in ("", "0") for v in contact.values()):
            data["contacts"] = [contact]
        custom = {k: v for k, v in custom_form_values().items() if v.strip()}
        if custom:
            data["custom"] = custom
        if user.role == Role.AGENT:
            data.pop("owner_id", None)
        try:
            customer = records.create_customer(s, user, data, region())
        except ValidationError as exc:
            s.rollback()
            errors = {e.field.replace("contacts.0.", "contact."): e.message for e in exc.errors}
        else:
            s.commit()
            flash(_("Customer %(name)s added.", name=customer.name), "success")
            return redirect(url_for("crm.customer", customer_id=customer.id))
    status = 422 if errors else 200
    return render_template(
        "customer_form.html",
        customer=None,
        values=values,
        contact=contact,
        errors=errors,
        groups=_groups(),
        contact_fields=CONTACT_FIELDS,
        custom_fields=custom_fields(s),
        custom_values=custom_form_values(),
        owners=owners(s) if svc.can_assign(user) else [],
    ), status


def _groups() -> list[tuple[str, Any, list[Field]]]:
    return [
        (key, label, [f for f in CUSTOMER_FIELDS if f.group == key])
        for key, label in CUSTOMER_GROUPS.items()
    ]


@bp.get("/customers/<int:customer_id>")
@login_required
def customer(customer_id: int) -> str:
    return customer_page(customer_id)


def customer_page(customer_id: int, money_errors: dict[str, str] | None = None,
                  money_values: dict[str, Any] | None = None) -> str:
    """The customer's page; a refused form of its money card comes back with its errors."""
    user = require_user()
    s = db.session()
    svc.load_customer(s, user, customer_id)
    c = svc.customer_with_everything(s, customer_id)
    assert c is not None  # load_customer just found it
    channel = request.args.get("channel") or None
    if channel not in [ch.value for ch in FollowUpChannel]:
        channel = None
    entries = timeline(s, customer_id, channel, page_arg())
    return render_template(
        "customer.html",
        c=c,
        groups=_groups(),
        contact_fields=CONTACT_FIELDS,
        consent={ct.id: svc.consent_state(ct) for ct in c.contacts},
        timeline=entries,
        calls=_timeline_calls(s, [f.id for f in entries.items]),
        channel=channel,
        channels=[ch.value for ch in FollowUpChannel if ch != FollowUpChannel.SYSTEM],
        all_channels=[ch.value for ch in FollowUpChannel],
        trail=customer_trail(s, customer_id),
        assignments=assignment_history(s, customer_id),
        can_edit=svc.can_edit(user, c),
        can_assign=svc.can_assign(user),
        owners=owners(s) if svc.can_assign(user) else [],
        extras=customer_page_extras(s, c),
        today=business_today(),
        cadence_hint=cadence_hint(get_rules(s)["follow_up_cadence_days"]),
        money=next(iter(hooks.call(hooks.CUSTOMER_MONEY, s, user, c, money_errors, money_values)), None),
    )


def _timeline_calls(s: sa.orm.Session, follow_up_ids: list[int]) -> dict[int, Any]:
    """The calls behind timeline entries, from the channels (they join the hook)."""
    found: dict[int, Any] = {}
    for calls in hooks.call(hooks.TIMELINE_CALLS, s, follow_up_ids):
        found.update(calls)
    return found


def customer_page_extras(s: sa.orm.Session, c: svc.Customer) -> dict[str, Any]:
    """What other parts of the CRM add to the customer page: opportunities, orders and turnover,
    complaints (sales joins the hook)."""
    user = require_user()
    return {"sections": [m for part in hooks.call(hooks.CUSTOMER_SECTIONS, s, user, c) for m in part]}


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit_customer(customer_id: int) -> tuple[str, int] | str | Response:
    user = require_user()
    s = db.session()
    c = svc.load_customer(s, user, customer_id, edit=True)
    errors: dict[str, str] = {}
    values = {f.name: getattr(c, f.name) for f in CUSTOMER_FIELDS if f.kind != "tags"}
    values["tags"] = [t.name for t in c.tags]
    custom_values = {v.field.key: v.value for v in c.custom_values}
    if request.method == "POST":
        values = form_values(CUSTOMER_FIELDS)
        custom_values = custom_form_values()
        try:
            changes = records.update_customer(
                s, user, c, {**values, "custom": custom_values}, region()
            )
        except ValidationError as exc:
            s.rollback()
            errors = {e.field: e.message for e in exc.errors}
        else:
            s.commit()
            if changes:
                flash(_("Saved: %(fields)s.", fields=", ".join(sorted(changes))), "success")
            return redirect(url_for("crm.customer", customer_id=c.id))
    return render_template(
        "customer_form.html",
        customer=c,
        values=values,
        contact={},
        errors=errors,
        groups=_groups(),
        contact_fields=CONTACT_FIELDS,
        custom_fields=custom_fields(s),
        custom_values=custom_values,
        owners=[],
    ), 422 if errors else 200


@bp.post("/customers/<int:customer_id>/delete")
@login_required
def delete_customer(customer_id: int) -> Response:
    user = require_user()
    s = db.session()
    c = svc.load_customer(s, user, customer_id)
    name = c.name
    records.delete_customer(s, user, c)
    s.commit()
    flash(_("Customer %(name)s deleted.", name=name), "success")
    return redirect(url_for("crm.customers"))
