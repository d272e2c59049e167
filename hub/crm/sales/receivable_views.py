"""Receivable pages: the open list, the aging report and its CSV, one receivable with its
payments, and raising a receivable by hand from the customer's page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core import db
from hub.core.auth import Role, User, login_required, require_user
from hub.core.charts import Chart, number
from hub.core.clock import business_today
from hub.core.formatting import number_text
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.lookup import can_edit, load_customer
from hub.crm.customers.models import Customer
from hub.crm.customers.views import form_values
from hub.crm.followups.models import FollowUp
from hub.crm.intake.exports import csv_stream
from hub.crm.labels import choice_label
from hub.crm.sales import aging as aging_svc
from hub.crm.sales import receivable_queries as q
from hub.crm.sales import receivables as svc
from hub.crm.sales import receivables_bp as bp
from hub.crm.sales.collection import load_receivable
from hub.crm.sales.models import Order
from hub.crm.sales.receivable_models import PaymentMethod
from hub.crm.sales.view_helpers import int_arg, kept_args, staff

Page = str | tuple[str, int] | Response
CLASSES = ("A", "B", "C")


def _currency_arg(default: str | None) -> str | None:
    raw = request.args.get("currency", "").strip().upper()
    return raw if len(raw) == 3 and raw.isalpha() else default


def _class_arg() -> str | None:
    raw = request.args.get("class", "")
    return raw if raw in CLASSES else None


def _currencies(s: Session) -> list[str]:
    found = s.scalars(sa.select(svc.Receivable.currency).distinct()).all()
    return sorted({"CNY", *found})


@bp.get("/receivables")
@login_required
def receivables() -> str:
    user = require_user()
    s = db.session()
    today = business_today()
    filters = q.ReceivableFilters(
        query=request.args.get("q", ""),
        overdue=request.args.get("overdue") == "1",
        owner_id=int_arg("owner") if user.role != Role.AGENT else None,
        customer_class=_class_arg(),
        currency=_currency_arg(None),
    )
    stmt = q.most_overdue_first(q.filtered_receivables(user, filters, today))
    return render_template(
        "receivables.html",
        page=paginate(s, stmt, page_arg()),
        filters=filters,
        today=today,
        days_overdue=q.days_overdue,
        owners=staff(s) if user.role != Role.AGENT else [],
        classes=CLASSES,
        currencies=_currencies(s),
        kept=kept_args("page"),
    )


# --- the aging report ---------------------------------------------------------------------------


def _aging_args(user: User) -> tuple[aging_svc.AgingFilters, str]:
    filters = aging_svc.AgingFilters(
        owner_id=int_arg("owner") if user.role != Role.AGENT else None,
        customer_class=_class_arg(),
        currency=_currency_arg("CNY") or "CNY",
    )
    group = request.args.get("group", "customer")
    return filters, group if group in aging_svc.GROUPS else "customer"


def aging_chart(result: aging_svc.Aging, currency: str) -> Chart:
    """The amount overdue per bucket (days past due), one bar each."""
    rows = [(label, [number(result.totals.buckets[label])]) for label in aging_svc.BUCKET_LABELS]
    return Chart(
        "receivables_age", _("Receivables by age"), "bars", _("Days past due"),
        [_("Overdue (%(currency)s)", currency=currency)], rows,
        note=_("Open receivables today; not yet due: %(amount)s.",
               amount=f"{currency} {number_text(result.totals.not_yet_due, 2)}"),
    )


@bp.get("/receivables/aging")
@login_required
def aging() -> str:
    user = require_user()
    s = db.session()
    filters, group = _aging_args(user)
    result = aging_svc.aging(s, business_today(), filters, group, user)
    return render_template(
        "receivables_aging.html",
        result=result,
        chart=aging_chart(result, filters.currency),
        filters=filters,
        group=group,
        groups=aging_svc.GROUPS,
        labels=aging_svc.BUCKET_LABELS,
        owners=staff(s) if user.role != Role.AGENT else [],
        classes=CLASSES,
        currencies=_currencies(s),
        kept=kept_args(),
    )


@bp.get("/receivables/aging.csv")
@login_required
def aging_csv() -> Response:
    user = require_user()
    filters, group = _aging_args(user)
    result = aging_svc.aging(db.session(), business_today(), filters, group, user)
    headings = [str(aging_svc.GROUPS[group]), _("Currency"), _("Not yet due"),
                *aging_svc.BUCKET_LABELS, _("Overdue"), _("Total")]
    rows = (
        [r.label, filters.currency, r.not_yet_due, *r.buckets.values(), r.overdue, r.total]
        for r in [*result.rows, _total_row(result)]
    )
    return Response(
        csv_stream(rows, headings),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="receivables-aging.csv"'},
    )


def _total_row(result: aging_svc.Aging) -> aging_svc.AgingRow:
    total = result.totals
    return aging_svc.AgingRow(None, _("Total"), total.not_yet_due, dict(total.buckets))


# --- one receivable -----------------------------------------------------------------------------


def _receivable_page(receivable: svc.Receivable, errors: dict[str, str],
                     values: dict[str, Any]) -> tuple[str, int]:
    user = require_user()
    s = db.session()
    follow_ups = s.scalars(
        sa.select(FollowUp)
        .where(FollowUp.receivable_id == receivable.id)
        .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
    ).all()
    order = s.get(Order, receivable.order_id) if receivable.order_id else None
    today = business_today()
    return render_template(
        "receivable.html",
        receivable=receivable,
        order=order,
        follow_ups=follow_ups,
        today=today,
        days_overdue=q.days_overdue(receivable, today),
        can_edit=can_edit(user, receivable.customer),
        fields={f.name: f for f in svc.PAYMENT_FIELDS},
        methods=[(m.value, choice_label("payment_method", m.value)) for m in PaymentMethod],
        errors=errors,
        values=values or {"paid_on": today.isoformat(), "method": "bank_transfer"},
    ), 422 if errors else 200


@bp.get("/receivables/<int:receivable_id>")
@login_required
def receivable(receivable_id: int) -> Page:
    return _receivable_page(load_receivable(db.session(), require_user(), receivable_id), {}, {})


@bp.post("/receivables/<int:receivable_id>/payments")
@login_required
def record_payment(receivable_id: int) -> Page:
    user = require_user()
    s = db.session()
    found = load_receivable(s, user, receivable_id, edit=True)
    values = form_values(svc.PAYMENT_FIELDS)
    data = {k: v for k, v in values.items() if str(v).strip()}
    try:
        payment = svc.record_payment(s, user, found, data)
    except ValidationError as exc:
        s.rollback()
        return _receivable_page(found, exc.as_dict(), values)
    s.commit()
    flash(_("Payment of %(amount)s recorded.",
            amount=f"{payment.currency} {number_text(payment.amount, 2)}"), "success")
    return redirect(url_for("receivables.receivable", receivable_id=found.id))


# --- the customer's money card ------------------------------------------------------------------


def money_context(s: Session, user: User, customer: Customer, errors: dict[str, str] | None = None,
                  values: dict[str, Any] | None = None) -> dict[str, Any]:
    """What templates/customer_money.html shows: figures per currency, the open receivables,
    and (for whoever may change the customer) the form to raise one by hand."""
    today = business_today()
    editable = can_edit(user, customer)
    orders = list(s.scalars(
        sa.select(Order).where(Order.customer_id == customer.id, Order.status != "cancelled")
        .order_by(Order.order_date.desc(), Order.id.desc()).limit(50)
    )) if editable else []
    return {
        "figures": svc.customer_figures(s, customer.id, today),
        "open": q.open_receivables(s, customer.id),
        "today": today,
        "days_overdue": q.days_overdue,
        "can_raise": editable,
        "orders": orders,
        "fields": {f.name: f for f in svc.RECEIVABLE_FIELDS},
        "errors": errors or {},
        "typed": values or {"currency": "CNY", "raised_on": today.isoformat()},
    }


@bp.post("/customers/<int:customer_id>/receivables")
@login_required
def raise_receivable(customer_id: int) -> Page:
    from hub.crm.customers.views import customer_page

    user = require_user()
    s = db.session()
    customer = load_customer(s, user, customer_id, edit=True)
    values = form_values(svc.RECEIVABLE_FIELDS)
    values["order_id"] = request.form.get("order_id", "")
    data = {k: v for k, v in values.items() if k != "order_id" and str(v).strip()}
    order = None
    order_id = values["order_id"].strip()
    if order_id.isdigit():
        order = s.get(Order, int(order_id))
    try:
        if order_id and order is None:
            raise ValidationError([FieldError("order_id", _("There is no such order."))])
        found = svc.raise_receivable(s, user, customer, data, order=order)
    except ValidationError as exc:
        s.rollback()
        return customer_page(customer_id, money_errors=exc.as_dict(), money_values=values), 422
    s.commit()
    flash(_("Amount due raised: %(amount)s.",
            amount=f"{found.currency} {number_text(found.amount, 2)}"), "success")
    return redirect(url_for("crm.customer", customer_id=customer.id) + "#money")
