"""What the segment builder stands on: the field catalogue read from the allow-list, the relative
date and owner operators it offers, and the page that embeds them."""

import json
import re
from datetime import timedelta

import pytest

from hub.campaigns.segments import rules as segment_rules
from hub.campaigns.segments import saved as segments
from hub.campaigns.segments.catalogue import catalogue
from hub.core.clock import business_today, day_start
from hub.core.refusals import ValidationError
from hub.crm.customers.models import CustomField
from tests.campaign_helpers import add_customer


@pytest.fixture
def people(db, make_user):
    owner = make_user("agent", name="Wang Fang")
    today = business_today()
    made = {
        "recent": add_customer(db, "Recent Co", customer_class="A", owner_id=owner.id,
                               last_contact_at=day_start(today - timedelta(days=3)),
                               next_contact_on=today + timedelta(days=2), contacts=[{"name": "Recent"}]),
        "edge": add_customer(db, "Edge Co", customer_class="B",
                             last_contact_at=day_start(today - timedelta(days=30)),
                             next_contact_on=today + timedelta(days=9), contacts=[{"name": "Edge"}]),
        "old": add_customer(db, "Old Co", customer_class="C",
                            last_contact_at=day_start(today - timedelta(days=31)), contacts=[{"name": "Old"}]),
        "never": add_customer(db, "Never Co", customer_class="C", contacts=[{"name": "Never"}]),
    }
    db.commit()
    return owner, made


def _names(db, *rules, match="all"):
    return sorted(c.name for c, _ in segments.sample(db, {"match": match, "rules": list(rules)}, 100))


def test_relative_days_count_business_days_back_and_ahead(db, people):
    last = {"field": "last_contact"}
    assert _names(db, {**last, "op": "in_last_days", "value": 30}) == ["Edge", "Recent"]
    assert _names(db, {**last, "op": "more_than_days_ago", "value": 30}) == ["Old"]
    # The two split every contacted customer between them; the never contacted are in neither.
    assert _names(db, {**last, "op": "in_last_days", "value": 0}) == []
    assert _names(db, {"field": "next_contact", "op": "in_next_days", "value": 7}) == ["Recent"]
    with pytest.raises(ValidationError) as caught:
        segments.count(db, {"rules": [{**last, "op": "in_last_days", "value": 2.5},
                                      {"match": "any", "rules": [{**last, "op": "in_next_days", "value": -1}]}]})
    errors = caught.value.as_dict()
    assert "whole number of days" in errors["rules[0].value"]
    assert "whole number of days" in errors["rules[1].rules[0].value"]


def test_owner_is_one_of_and_none_of_keeps_the_unowned(db, people):
    owner, _ = people
    assert _names(db, {"field": "owner", "op": "in", "value": [owner.id]}) == ["Recent"]
    assert _names(db, {"field": "owner", "op": "eq", "value": str(owner.id)}) == ["Recent"]
    assert _names(db, {"field": "owner", "op": "not_in", "value": [owner.id]}) == ["Edge", "Never", "Old"]
    assert _names(db, {"field": "owner", "op": "is_empty"}) == ["Edge", "Never", "Old"]
    with pytest.raises(ValidationError) as caught:
        segments.count(db, {"rules": [{"field": "owner", "op": "in", "value": [owner.id, "Wang"]}]})
    assert "rules[0].value[1]" in caught.value.as_dict()
    # As a plain number, which the API took before owners were chosen from a list.
    assert _names(db, {"field": "owner", "op": "gte", "value": owner.id}) == ["Recent"]


def test_the_catalogue_follows_the_allow_list(app, db, people, monkeypatch):
    db.add(CustomField(key="fleet_size", label="Fleet size", kind="number"))
    db.add(CustomField(key="tier", label="Tier", kind="choice", choices=["gold", "silver"]))
    db.commit()
    # A field another change adds to the allow-list shows up, grouped by its table, unlabelled.
    from hub.crm.customers.models import Customer

    monkeypatch.setitem(segment_rules.FIELDS, "payment_delay", segment_rules.Spec("number", Customer.id))
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        cat = catalogue(db)
    fields = {f["name"]: f for f in cat["fields"]}
    assert set(segment_rules.FIELDS) <= set(fields)
    assert fields["payment_delay"]["group"] == "customer" and fields["payment_delay"]["input"] == "number"
    assert fields["payment_delay"]["label"] == "Payment delay"
    assert fields["class"]["label"] == "等级" and fields["class"]["ops"][0] == {"op": "in", "label": "是以下之一"}
    assert [c["value"] for c in fields["class"]["choices"]] == ["A", "B", "C"]
    assert fields["custom.fleet_size"]["group"] == "custom" and fields["custom.fleet_size"]["input"] == "number"
    assert [c["value"] for c in fields["custom.tier"]["choices"]] == ["gold", "silver"]
    assert fields["consent"]["group"] == "contact" and fields["nps_score"]["range"] == [0, 10]
    assert (fields["overdue_amount"]["label"], fields["overdue_amount"]["input"]) == ("逾期（CNY）", "number")
    assert fields["owner"]["choices"] == [{"value": str(people[0].id), "label": "Wang Fang"}]
    assert "in_last_days" in [o["op"] for o in fields["last_contact"]["ops"]]
    # Every operator the allow-list accepts is offered, in a useful order, but an owner's id
    # compared as a number (which the API still takes).
    for name, spec in segment_rules.FIELDS.items():
        hidden = ("gt", "gte", "lt", "lte", "between") if name == "owner" else ()
        offered = sorted(o["op"] for o in fields[name]["ops"])
        assert offered == sorted(op for op in spec.ops if op not in hidden), name
    assert [g["key"] for g in cat["groups"]] == ["customer", "contact", "orders", "surveys", "custom"]


def test_the_editor_embeds_the_catalogue_escaped(client, signed_in, db, people):
    add_customer(db, "Tagged", tags=("</script><script>alert(1)</script>",), region="Henan")
    db.commit()
    signed_in("specialist")
    page = client.get("/campaigns/segments/new").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    embedded = re.search(r'<script type="application/json" id="segment-catalogue">(.*?)</script>', page, re.S)
    data = json.loads(embedded.group(1))
    assert "</script><script>alert(1)</script>" in data["catalogue"]["tags"]
    assert {"value": "Henan", "label": "Henan"} in next(
        f["choices"] for f in data["catalogue"]["fields"] if f["name"] == "region")
    assert data["words"]["add_rule"] == "Add a rule" and data["errors"] == {}
    # A refused save hands its errors to the builder, which shows each beside its rule.
    from tests.conftest import csrf_token

    refused = client.post("/campaigns/segments/new", data={
        "csrf_token": csrf_token(client, "/campaigns/segments/new"), "name": "x", "match": "all",
        "rules": '[{"match": "any", "rules": [{"field": "class", "op": "in", "value": ["Z"]}]}]'})
    assert refused.status_code == 422
    embedded = re.search(r'id="segment-catalogue">(.*?)</script>', refused.get_data(as_text=True), re.S)
    assert list(json.loads(embedded.group(1))["errors"]) == ["rules[0].rules[0].value"]
