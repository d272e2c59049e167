"""What the sales and complaint pages share: query arguments, form choices, labels, and the
sections they add to a customer's page (through the customer-page hook)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from flask import current_app, render_template, request
from markupsafe import Markup
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.validation import MAX_ID
from hub.crm.customers.lookup import can_edit, search_condition, visible_customers
from hub.crm.customers.models import Customer
from hub.crm.customers.views import region
from hub.crm.sales import sales_bp as bp
from hub.crm.sales.opportunities import stage_label
from hub.crm.sales.orders import status_label
from hub.crm.service.complaints import channel_label, step_label

PICK_LIMIT = 20
SECTION_ROWS = 10


def int_arg(name: str) -> int | None:
    """A whole-number query argument; anything else is treated as absent (a filter left blank)."""
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def kept_args(*drop: str) -> dict[str, str]:
    """The list's query arguments, for links that change one of them (page, sort)."""
    return {k: v for k, v in request.args.items() if v and k not in drop}


def instance_dir() -> str:
    return current_app.config["INSTANCE_DIR"]


def staff(db: Session) -> list[User]:
    """Active users, for owner choices and filters."""
    return list(
        db.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name, User.email))
    )


def owner_choices(db: Session, user: User) -> list[User]:
    """Whom the user may give a record to: anyone for a director or admin, else nobody (the
    default owner applies)."""
    return staff(db) if user.role in (Role.ADMIN, Role.DIRECTOR) else []


def customer_choices(
    db: Session, user: User, query: str, allowed: Callable[[User, Customer], bool] = can_edit
) -> list[Customer]:
    """Customers matching `query` that the user may add records to: a picker without JavaScript."""
    cond = search_condition(query, region())
    if cond is None:
        return []
    found = db.scalars(
        visible_customers(user).where(cond).order_by(Customer.name, Customer.id).limit(PICK_LIMIT)
    )
    return [c for c in found if allowed(user, c)]


@bp.app_template_global()
def sales_label(kind: str, value: str | None) -> str:
    """The translated name of a stage, order status, complaint step or channel."""
    if value is None:
        return ""
    label = {
        "stage": stage_label,
        "status": status_label,
        "step": step_label,
        "channel": channel_label,
    }[kind]
    return label(value)


def customer_sections(db: Session, user: User, customer: Customer) -> list[Markup]:
    """The customer page's sales part: opportunities, orders with turnover, complaints.

    Joined to the customer page's CUSTOMER_SECTIONS hook (hub.core.hooks) by the app.
    """
    from hub.crm.sales.models import Opportunity, Order
    from hub.crm.sales.orders import turnover_by_month, turnover_by_year
    from hub.crm.service.complaints import can_handle
    from hub.crm.service.models import Complaint

    opportunities = db.scalars(
        sa.select(Opportunity)
        .where(Opportunity.customer_id == customer.id)
        .order_by(Opportunity.closed_at.is_not(None), Opportunity.expected_close, Opportunity.id)
        .limit(SECTION_ROWS)
    ).all()
    orders = db.scalars(
        sa.select(Order)
        .where(Order.customer_id == customer.id)
        .order_by(Order.order_date.desc(), Order.id.desc())
        .limit(SECTION_ROWS)
    ).all()
    complaints = db.scalars(
        sa.select(Complaint)
        .where(Complaint.customer_id == customer.id)
        .order_by((Complaint.step == "followed_up"), Complaint.received_at.desc())
        .limit(SECTION_ROWS)
    ).all()
    months = turnover_by_month(db, customer.id)
    html = render_template(
        "opportunities_customer_section.html",
        c=customer,
        opportunities=opportunities,
        orders=orders,
        complaints=complaints,
        months=months,
        years=turnover_by_year(db, customer.id),
        peak=max((amount for _, amount in months), default=0),
        can_edit=can_edit(user, customer),
        can_handle=can_handle(user, customer),
    )
    # Rendered by our own autoescaping template, so the customer's text in it is escaped already.
    return [Markup(html)]  # noqa: S704


# The route modules attach their views to `bp`; importing them here registers them with it.
