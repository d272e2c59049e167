"""The agent's own figures: calls and messages today and this week, the due list, customers by
class, and conversion. Every function here is called with filters scoped to the agent."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.channels.calls.models import Call
from hub.channels.models import Message
from hub.core.charts import Chart, percent
from hub.core.clock import day_end, day_start
from hub.crm.customers.models import Customer
from hub.crm.sales.models import Opportunity
from hub.crm.service.models import Complaint
from hub.insight.director import customers_by_class, lead_counts
from hub.insight.filters import Filters
from hub.insight.slicing import customer_conditions, in_range, with_customer_filters


def activity(db: Session, f: Filters) -> Chart:
    """Calls the agent took or made, and one-to-one messages they sent: today and this week
    (from Monday), in the business time zone."""
    today = day_start(f.today, f.tz)
    monday = today - timedelta(days=f.today.weekday())
    rows = []
    for label, since in ((_("Today"), today), (_("This week"), monday)):
        calls = with_customer_filters(
            sa.select(sa.func.count()).select_from(Call).where(
                Call.agent_id == f.owner_id, Call.created_at >= since
            ),
            f.scoped_to(None),  # the agent's calls, whoever owns the customer
            Call.customer_id,
        )
        messages = with_customer_filters(
            sa.select(sa.func.count()).select_from(Message).where(
                Message.user_id == f.owner_id,
                Message.direction == "outbound",
                Message.campaign_id.is_(None),
                Message.created_at >= since,
            ),
            f.scoped_to(None),
            Message.customer_id,
        )
        if f.channel == "call":
            messages = messages.where(sa.false())
        elif f.channel is not None:
            calls = calls.where(sa.false())
            messages = messages.where(Message.channel == f.channel)
        rows.append((label, [db.scalar(calls) or 0, db.scalar(messages) or 0]))
    return Chart(
        "my_activity", _("My calls and messages"), "bars", _("When"),
        [_("Calls"), _("Messages")], rows, note=_("Today and this week, whatever the date range."),
    )


def due_list(db: Session, f: Filters) -> Chart:
    """What is on the agent's due list today, as the due page counts it."""
    mine = customer_conditions(f)
    contacts = db.execute(
        sa.select(
            sa.func.count().filter(Customer.next_contact_on == f.today),
            sa.func.count().filter(Customer.next_contact_on < f.today),
        ).where(Customer.next_contact_on <= f.today, *mine)
    ).one()
    reviews = db.scalar(
        sa.select(sa.func.count()).where(Customer.next_credit_review <= f.today, *mine)
    )
    complaints = with_customer_filters(
        sa.select(sa.func.count()).select_from(Complaint).where(
            Complaint.step != "followed_up", Complaint.step_due_at < day_end(f.today, f.tz)
        ),
        f,
        Complaint.customer_id,
        Complaint.owner_id,
    )
    rows = [
        (_("Contacts due today"), [contacts[0]]),
        (_("Contacts overdue"), [contacts[1]]),
        (_("Credit reviews"), [reviews or 0]),
        (_("Complaint steps"), [db.scalar(complaints) or 0]),
    ]
    return Chart(
        "my_due", _("My due list"), "bars", _("Kind"), [_("Items")], rows, note=_("Today."),
    )


def my_classes(db: Session, f: Filters) -> Chart:
    chart = customers_by_class(db, f)
    chart.key, chart.title = "my_classes", _("My customers by class")
    return chart


def conversion(db: Session, f: Filters) -> Chart:
    """Leads created in the range that became customers; opportunities closed in it that were
    won."""
    leads, converted = lead_counts(db, f, by_source=False).get("all", (0, 0))
    closed = with_customer_filters(
        sa.select(
            sa.func.count(), sa.func.count().filter(Opportunity.stage == "won")
        ).where(Opportunity.stage.in_(("won", "lost")), in_range(Opportunity.closed_at, f)),
        f,
        Opportunity.customer_id,
        Opportunity.owner_id,
    )
    deals, won = db.execute(closed).one()
    rows = [
        (_("Leads to customers"), [percent(converted, leads)]),
        (_("Opportunities won"), [percent(won, deals)]),
    ]
    hints = {
        (0, 0): _("%(part)d of %(whole)d", part=converted, whole=leads),
        (1, 0): _("%(part)d of %(whole)d", part=won, whole=deals),
    }
    return Chart(
        "my_conversion", _("My conversion"), "bars", _("What"), [_("Rate (%)")], rows,
        unit="%", hints=hints, note=_("Created or closed in the date range."),
    )


CHARTS = {
    "my_activity": activity,
    "my_due": due_list,
    "my_classes": my_classes,
    "my_conversion": conversion,
}
