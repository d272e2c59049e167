"""Pages for the sales records: opportunities, orders and complaints.

The routes live in `opportunity_views`, `order_views` and `complaint_views`, which hang them on
this blueprint; what they share (query arguments, form values, labels) is here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, request
from sqlalchemy.orm import Session

from hub.auth import Role, User
from hub.crm.complaints import channel_label, step_label
from hub.crm.customers import can_edit, search_condition, visible_customers
from hub.crm.models import Customer
from hub.crm.opportunities import stage_label
from hub.crm.orders import status_label
from hub.validation import Field

bp = Blueprint("sales", __name__)

PICK_LIMIT = 20


def page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def int_arg(name: str) -> int | None:
    """A whole-number query argument; anything else is treated as absent (a filter left blank)."""
    raw = request.args.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


def date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, "").strip())
    except ValueError:
        return None


def form_values(fields: Sequence[Field]) -> dict[str, Any]:
    """The submitted values of declared fields, as typed."""
    return {f.name: request.form[f.name] for f in fields if f.name in request.form}


def kept_args(*drop: str) -> dict[str, str]:
    """The list's query arguments, for links that change one of them (page, sort)."""
    return {k: v for k, v in request.args.items() if v and k not in drop}


def region() -> str:
    return current_app.config["SETTINGS"].default_region


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


# The route modules attach their views to `bp`; importing them here registers them with it.
from hub.crm import complaint_views, opportunity_views, order_views  # noqa: E402, F401
