"""Overdue money as a customer filter (the list page and GET /api/v1/customers) and as segment
fields (overdue_amount, overdue_days): the right customers, and bad values named."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from hub.campaigns.segments import saved as segments
from hub.core.refusals import ValidationError
from hub.crm.sales.receivable_models import Receivable
from tests.campaign_helpers import add_customer
from tests.conftest import business_day
from tests.crm_helpers import api, token_for


def _owe(db, customer, amount, days_overdue, currency="CNY", paid="0", status="open"):
    today_due = TODAY_HOLDER["today"] - timedelta(days=days_overdue)
    db.add(Receivable(customer_id=customer.id, amount=Decimal(amount), paid=Decimal(paid),
                      currency=currency, raised_on=today_due - timedelta(days=30),
                      due_on=today_due, status=status))


TODAY_HOLDER: dict = {}


@pytest.fixture
def debtors(app, db, make_user):
    """Big and late, small and recent, one owing only in USD or not yet due, one settled."""
    TODAY_HOLDER["today"] = business_day(app)
    owner = make_user("director")
    made = {}
    for name in ("Big Late", "Small Recent", "Dollars", "Not Yet", "Settled", "Clean"):
        made[name] = add_customer(db, name, owner_id=owner.id,
                                  contacts=[{"name": f"{name} buyer", "email": f"{name[:3].lower()}@x.example"}])
    _owe(db, made["Big Late"], "9000", 200)
    _owe(db, made["Big Late"], "1000", 10, paid="400")  # 600 left overdue
    _owe(db, made["Small Recent"], "300", 5)
    _owe(db, made["Dollars"], "50000", 400, currency="USD")
    _owe(db, made["Not Yet"], "70000", 0)  # due today
    _owe(db, made["Settled"], "8000", 300, paid="8000", status="settled")
    db.commit()
    return owner


def _segment(db, *rules):
    definition = {"match": "all", "rules": list(rules)}
    return sorted(contact.customer.name for contact, _ in segments.sample(db, definition, 100))


def test_segments_select_by_overdue_amount_and_days(app, db, debtors):
    with app.app_context():
        assert _segment(db, {"field": "overdue_amount", "op": "gte", "value": 500}) == ["Big Late"]
        assert _segment(db, {"field": "overdue_amount", "op": "gt", "value": 0}) == [
            "Big Late", "Small Recent"]
        assert _segment(db, {"field": "overdue_amount", "op": "eq", "value": "9600"}) == ["Big Late"]
        assert _segment(db, {"field": "overdue_days", "op": "gte", "value": 200}) == [
            "Big Late", "Dollars"]
        assert _segment(db, {"field": "overdue_days", "op": "gte", "value": 201}) == ["Dollars"]
        assert _segment(db, {"field": "overdue_days", "op": "gte", "value": 401}) == []
        # USD counts for days (oldest overdue in any currency), not for the CNY amount
        assert _segment(db, {"field": "overdue_days", "op": "gt", "value": 300}) == ["Dollars"]
        assert _segment(db, {"field": "overdue_days", "op": "between", "value": [1, 30]}) == [
            "Small Recent"]
        # Nothing overdue is 0 days
        assert _segment(db, {"field": "overdue_days", "op": "eq", "value": 0}) == [
            "Clean", "Not Yet", "Settled"]
        assert _segment(db, {"field": "overdue_days", "op": "lt", "value": 6}) == [
            "Clean", "Not Yet", "Settled", "Small Recent"]
        with pytest.raises(ValidationError) as bad:
            _segment(db, {"field": "overdue_days", "op": "gte", "value": "1.5"},
                     {"field": "overdue_amount", "op": "contains", "value": 1})
        assert {e.field for e in bad.value.errors} == {"rules[0].value", "rules[1].op"}


def test_the_customer_list_and_api_filter_by_overdue(app, client, signed_in, debtors):
    signed_in("director")
    page = client.get("/customers?overdue_amount=500").get_data(as_text=True)
    assert "Big Late" in page and "Small Recent" not in page and "Not Yet" not in page
    page = client.get("/customers?overdue_days=3").get_data(as_text=True)
    assert "Small Recent" in page and "Dollars" in page and "Clean" not in page
    refused = client.get("/customers?overdue_days=soon").get_data(as_text=True)
    assert "The overdue days must be a whole number." in refused
    token = api(app.test_client(), token_for(app, debtors))
    found = token.get("/customers?overdue_amount=100&overdue_days=100").get_json()
    assert [c["name"] for c in found["items"]] == ["Big Late"]
    bad = token.get("/customers?overdue_amount=lots")
    assert bad.status_code == 422
    assert [e["field"] for e in bad.get_json()["errors"]] == ["overdue_amount"]
