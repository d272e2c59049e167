"""Recording orders: creating and changing them, their lines' amounts, and status moves; what an
order body may hold is in order_fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.core.auth import User
from hub.core.clock import business_today, utcnow
from hub.core.refusals import Conflict, FieldError, Forbidden, ValidationError
from hub.crm.customers import audit
from hub.crm.customers.lookup import can_edit
from hub.crm.customers.models import Customer
from hub.crm.followups.models import Direction, FollowUpChannel
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.credit import check_order_credit
from hub.crm.sales.models import ORDER_STATUSES, Order, OrderLine
from hub.crm.sales.opportunities import plain_text
from hub.crm.sales.order_fields import parse_order
from hub.crm.sales.orders import status_label
from hub.crm.sales.receivables import raise_for_shipped_order

FLOW = ("pending", "confirmed", "shipped", "delivered")
EDITABLE_LINES = ("pending", "confirmed")


def _set_lines(order: Order, lines: list[dict[str, Any]]) -> None:
    order.lines = [OrderLine(**line) for line in lines]
    order.amount = sum((line["amount"] for line in lines), Decimal("0.00"))


# --- checks -------------------------------------------------------------------------------------


def _contract_free(db: Session, number: str, order_id: int | None = None) -> None:
    stmt = sa.select(Order.id).where(Order.contract_number == number)
    if order_id is not None:
        stmt = stmt.where(Order.id != order_id)
    if db.scalar(stmt) is not None:
        raise _duplicate(number)


def _duplicate(number: str) -> ValidationError:
    return ValidationError(
        [
            FieldError(
                "contract_number",
                _("Contract number %(number)s is already used by another order.", number=number),
            )
        ]
    )


def _flush(db: Session, number: str) -> None:
    # Two people saving the same number at once: the unique index decides, and says so by name.
    try:
        db.flush()
    except IntegrityError as exc:
        if "contract_number" in str(exc.orig):
            raise _duplicate(number) from None
        raise


def _check_dates(order_date: date, ship_date: date | None, delivered_on: date | None) -> None:
    if ship_date is not None and ship_date < order_date:
        raise ValidationError(
            [FieldError("ship_date", _("The ship date is before the order date."))]
        )
    if delivered_on is not None and ship_date is not None and delivered_on < ship_date:
        raise ValidationError(
            [FieldError("delivered_on", _("The delivery date is before the ship date."))]
        )


# --- creating and changing ----------------------------------------------------------------------


def create_order(db: Session, actor: User, customer: Customer, data: Mapping[str, Any]) -> Order:
    """Record an order with its lines; a status other than pending is reached by moves."""
    if not can_edit(actor, customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    data = dict(data)
    override = data.pop("credit_override_reason", None)
    values = parse_order(data)
    _contract_free(db, values["contract_number"])
    _check_dates(values["order_date"], values.get("ship_date"), values.get("delivered_on"))
    # Checked before anything is added, so a refused order leaves nothing behind.
    override = check_order_credit(
        db,
        actor,
        customer,
        values.get("currency") or "CNY",
        sum((line["amount"] for line in values["lines"]), Decimal("0.00")),
        override if isinstance(override, str) else None,
    )
    status = values.pop("status", None) or "pending"
    delivered_on = values.pop("delivered_on", None)
    lines = values.pop("lines")
    order = Order(
        customer=customer,
        customer_id=customer.id,
        status="pending",
        **{k: v for k, v in values.items() if v is not None},
    )
    _set_lines(order, lines)
    if override is not None:
        order.credit_override_reason = override
        order.credit_override_by_id = actor.id
    db.add(order)
    _flush(db, order.contract_number)
    snapshot = {k: audit.jsonable(v) for k, v in values.items() if v is not None}
    snapshot["amount"] = str(order.amount)
    if override is not None:
        snapshot["credit_override_reason"] = override
    audit.record(db, actor, "order", order.id, "create", snapshot, customer.id)
    log_follow_up(
        db,
        actor,
        customer,
        FollowUpChannel.SYSTEM.value,
        summary=_(
            "Order %(number)s recorded: %(currency)s %(amount)s.",
            number=order.contract_number,
            currency=order.currency,
            amount=order.amount,
        ),
        direction=Direction.INTERNAL.value,
        status=order.status,
        order_id=order.id,
        sets_next_contact=False,
    )
    if override is not None:
        log_follow_up(
            db,
            actor,
            customer,
            FollowUpChannel.SYSTEM.value,
            summary=_(
                "Credit check overridden for order %(number)s: %(reason)s",
                number=order.contract_number,
                reason=override,
            ),
            direction=Direction.INTERNAL.value,
            status="credit_override",
            order_id=order.id,
            sets_next_contact=False,
        )
    if status != "pending":
        set_status(db, actor, order, status, delivered_on=delivered_on)
    return order


def update_order(
    db: Session, actor: User, order: Order, data: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """Change the fields present in `data`; `lines` replaces every line (while not shipped)."""
    if not can_edit(actor, order.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    values = parse_order(data, partial=True)
    status = values.pop("status", None)
    delivered_on = values.pop("delivered_on", None)
    lines = values.pop("lines", None)
    if order.status == "cancelled":
        raise Conflict(_("This order is cancelled and can no longer change."))
    if lines is not None and order.status not in EDITABLE_LINES:
        raise Conflict(
            _("The lines of a %(status)s order cannot change.", status=status_label(order.status))
        )
    if values.get("contract_number"):
        _contract_free(db, values["contract_number"], order.id)
    ship_date = values["ship_date"] if "ship_date" in values else order.ship_date
    if ship_date is None and order.status in ("shipped", "delivered"):
        raise ValidationError([FieldError("ship_date", _("A shipped order needs a ship date."))])
    _check_dates(values.get("order_date") or order.order_date, ship_date, order.delivered_on)
    changes = audit.apply_changes(order, values)
    if lines is not None:
        before = str(order.amount)
        _set_lines(order, lines)
        changes["lines"] = [before, str(order.amount)]
    if changes:
        order.updated_at = utcnow()
    _flush(db, order.contract_number)
    audit.record(db, actor, "order", order.id, "update", changes, order.customer_id)
    if status is not None and status != order.status:
        before_status = order.status
        set_status(db, actor, order, status, delivered_on=delivered_on)
        changes["status"] = [before_status, status]
    return changes


def set_status(
    db: Session,
    actor: User,
    order: Order,
    status: str,
    ship_date: date | None = None,
    delivered_on: date | None = None,
    note: str = "",
) -> bool:
    """Move an order on and write it on the customer's timeline. Returns whether it moved.

    Orders only go forward (pending, confirmed, shipped, delivered), skipping steps if need be,
    or to cancelled before they ship. Shipped needs a ship date; delivered sets `delivered_on`.
    """
    if not can_edit(actor, order.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    if status not in ORDER_STATUSES:
        raise ValidationError(
            [
                FieldError(
                    "status", _("Choose one of: %(choices)s.", choices=", ".join(ORDER_STATUSES))
                )
            ]
        )
    if status == order.status:
        return False
    before = order.status
    if before in ("delivered", "cancelled"):
        raise Conflict(
            _("This order is %(status)s and its status is final.", status=status_label(before))
        )
    if status == "cancelled" and before not in EDITABLE_LINES:
        raise Conflict(_("A shipped order cannot be cancelled; record a return as a complaint."))
    if status != "cancelled" and FLOW.index(status) < FLOW.index(before):
        raise Conflict(
            _(
                "An order does not go back from %(before)s to %(after)s.",
                before=status_label(before),
                after=status_label(status),
            )
        )
    ship_date = ship_date or order.ship_date
    if status in ("shipped", "delivered") and ship_date is None:
        raise ValidationError([FieldError("ship_date", _("A shipped order needs a ship date."))])
    if status == "delivered":
        delivered_on = delivered_on or business_today()
        _check_dates(order.order_date, ship_date, delivered_on)
        order.delivered_on = delivered_on
    elif ship_date is not None:
        _check_dates(order.order_date, ship_date, None)
    order.ship_date = ship_date
    order.status = status
    order.updated_at = utcnow()
    summary = _(
        "Order %(number)s: %(before)s to %(after)s.",
        number=order.contract_number,
        before=status_label(before),
        after=status_label(status),
    )
    if plain_text(note):
        summary += " " + plain_text(note)
    audit.record(
        db, actor, "order", order.id, "status", {"status": [before, status]}, order.customer_id
    )
    log_follow_up(
        db,
        actor,
        order.customer,
        FollowUpChannel.SYSTEM.value,
        summary=summary,
        direction=Direction.INTERNAL.value,
        status=status,
        order_id=order.id,
        sets_next_contact=False,
    )
    if status in ("shipped", "delivered") and before not in ("shipped", "delivered"):
        # Shipping is what makes the money owed: the rest of the order not yet raised by
        # shipment falls due after the customer's payment terms.
        raise_for_shipped_order(db, actor, order)
    return True


def delete_order(db: Session, actor: User, order: Order) -> None:
    """Delete an order entered by mistake; only while it is pending (later ones are cancelled)."""
    if not can_edit(actor, order.customer):
        raise Forbidden(_("Your role may look at this customer but not change it."))
    if order.status != "pending":
        raise Conflict(
            _(
                "Only a pending order can be deleted; this one is %(status)s. Cancel it instead.",
                status=status_label(order.status),
            )
        )
    audit.record(
        db,
        actor,
        "order",
        order.id,
        "delete",
        {"contract_number": order.contract_number},
        order.customer_id,
    )
    db.delete(order)
    db.flush()
