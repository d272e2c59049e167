"""The director's receivables figures: the amount overdue by age, and the customers owing most.

Both read the aging service (hub.crm.sales.aging), so the dashboard agrees with the aging report. They
are the state today, in CNY, within the dashboard's owner and class filters.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session

from hub.core.charts import Chart, number
from hub.core.clock import business_today
from hub.crm.sales.aging import BUCKET_LABELS, AgingFilters, aging, top_overdue
from hub.insight.filters import Filters

TOP = 10


def _aging_filters(f: Filters) -> AgingFilters:
    return AgingFilters(owner_id=f.owner_id, customer_class=f.customer_class, currency="CNY")


def receivables_by_age(db: Session, f: Filters) -> Chart:
    """CNY overdue per bucket of days past due."""
    result = aging(db, business_today(), _aging_filters(f), group="class")
    rows = [(label, [number(result.totals.buckets[label])]) for label in BUCKET_LABELS]
    hints = {(i, 0): ngettext("%(num)d customer", "%(num)d customers", result.customers[label])
             for i, label in enumerate(BUCKET_LABELS)}
    return Chart(
        "receivables_age", _("Receivables by age"), "bars", _("Days past due"),
        [_("Overdue (CNY)")], rows, hints=hints, note=_("Today, in CNY."),
    )


def top_overdue_customers(db: Session, f: Filters) -> Chart:
    """The ten customers owing most overdue, each labelled with its oldest overdue days."""
    found = top_overdue(db, business_today(), _aging_filters(f), limit=TOP)
    rows = [
        (_("%(name)s (%(days)d days)", name=customer.name, days=days), [number(amount)])
        for customer, amount, days in found
    ]
    return Chart(
        "top_overdue", _("Top overdue customers"), "bars", _("Customer (oldest overdue)"),
        [_("Overdue (CNY)")], rows, note=_("Today, in CNY; the ten owing most."),
    )
