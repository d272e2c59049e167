"""What the screen pop shows about a caller: who, class, owner, consent, what was said last, and
what is still open. Loaded in a handful of indexed queries."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from hub.channels.calls.models import Call
from hub.core.auth import User
from hub.crm.customers.models import Contact, Customer, Stage
from hub.crm.followups.models import FollowUp
from hub.crm.sales.models import Opportunity, Order
from hub.crm.sales.opportunities import CLOSED_STAGES
from hub.crm.service.models import Complaint

LAST_FOLLOW_UPS = 5
ORDERS_IN_FLIGHT = ("pending", "confirmed", "shipped")
LIST_LIMIT = 10


@dataclass
class PopCard:
    call: Call
    customer: Customer | None = None
    contact: Contact | None = None
    owner: User | None = None
    consent: dict[str, bool | None] = field(default_factory=dict)
    follow_ups: list[FollowUp] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)

    @property
    def new_lead(self) -> bool:
        """A caller nobody knew: a lead still named after its number, to fill in on the call."""
        return (
            self.customer is not None
            and self.customer.stage == Stage.LEAD.value
            and self.customer.name == self.call.customer_number
        )


def pop_card(db: Session, call: Call) -> PopCard:
    card = PopCard(call)
    if call.customer_id is None:
        return card
    customer = db.get(Customer, call.customer_id)
    if customer is None:
        return card
    card.customer = customer
    card.owner = db.get(User, customer.owner_id) if customer.owner_id else None
    card.contact = db.get(Contact, call.contact_id) if call.contact_id else None
    if card.contact is not None:
        given = {c.channel: c.granted for c in card.contact.consents}
        card.consent = {channel: given.get(channel) for channel in ("call", "sms", "email")}
    card.follow_ups = list(
        db.scalars(
            sa.select(FollowUp)
            .where(FollowUp.customer_id == customer.id)
            .where(FollowUp.id != (call.follow_up_id or 0))
            .options(joinedload(FollowUp.user))
            .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
            .limit(LAST_FOLLOW_UPS)
        )
    )
    card.opportunities = list(
        db.scalars(
            sa.select(Opportunity)
            .where(Opportunity.customer_id == customer.id)
            .where(Opportunity.stage.not_in(CLOSED_STAGES))
            .order_by(Opportunity.expected_close.asc().nulls_last(), Opportunity.id)
            .limit(LIST_LIMIT)
        )
    )
    card.complaints = list(
        db.scalars(
            sa.select(Complaint)
            .where(Complaint.customer_id == customer.id, Complaint.step != "followed_up")
            .order_by(Complaint.received_at.desc())
            .limit(LIST_LIMIT)
        )
    )
    card.orders = list(
        db.scalars(
            sa.select(Order)
            .where(Order.customer_id == customer.id, Order.status.in_(ORDERS_IN_FLIGHT))
            .order_by(Order.order_date.desc(), Order.id.desc())
            .limit(LIST_LIMIT)
        )
    )
    return card
