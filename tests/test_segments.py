"""Segments: the allow-list compiler, AND/OR groups, the API with its live count."""

from datetime import UTC, date, datetime

import pytest

from hub.campaigns.segments import saved as segments
from hub.core.refusals import ValidationError
from hub.crm.customers.models import CustomField, CustomFieldValue
from tests.campaign_helpers import add_customer, add_order
from tests.crm_helpers import api, token_for


@pytest.fixture
def people(db):
    henan_b = add_customer(
        db, "Zhengzhou Steel", region="Henan", customer_class="B", industry="steel",
        contacts=[{"name": "Wang Wei", "email": "wang@zz.example", "phone": "+8613800000001"}],
        tags=("vip",),
    )
    henan_a = add_customer(
        db, "Luoyang Glass", region="Henan", customer_class="A",
        contacts=[{"name": "Li Na", "email": "li@ly.example", "consent": {"email": False}}],
    )
    hubei_b = add_customer(
        db, "Wuhan 50% Off", region="Hubei", customer_class="B",
        contacts=[{"name": "Zhao Lei", "phone": "+8613800000003"}],
        tags=("vip", "export"),
        last_contact_at=datetime(2026, 1, 10, 12, tzinfo=UTC),
    )
    add_order(db, henan_b, "12000", date(2026, 3, 1))
    add_order(db, henan_b, "3000", date(2026, 5, 1))
    add_order(db, hubei_b, "900", date(2026, 3, 5), status="cancelled")
    db.commit()
    return {"henan_b": henan_b, "henan_a": henan_a, "hubei_b": hubei_b}


def names(db, definition, channel=None):
    return sorted(contact.name for contact, _ in segments.sample(db, definition, 100)) if channel is None else segments.count(db, definition, channel)


def test_every_b_customer_in_henan(db, people):
    definition = {"match": "all", "rules": [
        {"field": "class", "op": "in", "value": ["B"]},
        {"field": "region", "op": "eq", "value": "Henan"},
    ]}
    assert names(db, definition) == ["Wang Wei"]
    assert segments.count(db, definition) == 1


def test_groups_nest_with_any_and_all(db, people):
    definition = {"match": "any", "rules": [
        {"field": "class", "op": "eq", "value": "A"},
        {"match": "all", "rules": [
            {"field": "tags", "op": "contains", "value": "export"},
            {"field": "last_contact", "op": "before", "value": "2026-02-01"},
        ]},
    ]}
    assert names(db, definition) == ["Li Na", "Zhao Lei"]


def test_orders_turnover_consent_and_channel_address(db, people):
    in_spring = {"from": "2026-01-01", "to": "2026-06-30"}
    assert names(db, {"rules": [{"field": "orders", "op": "gte", "value": 2, **in_spring}]}) == ["Wang Wei"]
    # The cancelled order of Wuhan does not count as turnover.
    assert names(db, {"rules": [{"field": "turnover", "op": "between", "value": [1, 20000], **in_spring}]}) == ["Wang Wei"]
    assert names(db, {"rules": [{"field": "consent", "op": "refused", "value": "email"}]}) == ["Li Na"]
    assert names(db, {"rules": [{"field": "consent", "op": "not_refused", "value": "email"}]}) == ["Wang Wei", "Zhao Lei"]
    everyone = {"rules": [{"field": "class", "op": "in", "value": ["A", "B", "C"]}]}
    assert segments.count(db, everyone, "sms") == 2
    assert segments.count(db, everyone, "email") == 2


def test_a_percent_sign_is_matched_as_itself(db, people):
    assert names(db, {"rules": [{"field": "customer_name", "op": "contains", "value": "50%"}]}) == ["Zhao Lei"]
    assert names(db, {"rules": [{"field": "customer_name", "op": "contains", "value": "%"}]}) == ["Zhao Lei"]


def test_custom_fields_filter_by_their_type(db, people):
    field = CustomField(key="fleet_size", label="Fleet", kind="number")
    db.add(field)
    db.flush()
    db.add(CustomFieldValue(customer_id=people["hubei_b"].id, field_id=field.id, value_number=40))
    db.commit()
    assert names(db, {"rules": [{"field": "custom.fleet_size", "op": "gt", "value": 10}]}) == ["Zhao Lei"]


def test_survey_scores_filter_on_each_contacts_latest_answer(db, people):
    from hub.campaigns.models import Campaign
    from hub.campaigns.segments.models import Segment
    from hub.campaigns.surveys.models import SurveyResponse
    from hub.campaigns.templates.models import MessageTemplate
    from hub.channels.models import Message

    template = MessageTemplate(name="q", channel="sms", body="0-10?")
    segment = Segment(name="all", definition={"rules": [{"field": "class", "op": "in", "value": ["A", "B"]}]})
    db.add_all([template, segment])
    db.flush()

    def answer(customer, score, day, kind="nps"):
        survey = Campaign(name=f"{kind} {customer.id} {day}", channel="sms", segment_id=segment.id,
                          template_id=template.id, survey=kind)
        db.add(survey)
        db.flush()
        contact = customer.contacts[0]
        message = Message(channel="sms", customer_id=customer.id, contact_id=contact.id,
                          to_address="+8613800000009", body="q", campaign_id=survey.id, status="sent")
        db.add(message)
        db.flush()
        db.add(SurveyResponse(message_id=message.id, campaign_id=survey.id, customer_id=customer.id,
                              contact_id=contact.id, kind=kind, score=score, channel="sms",
                              answered_at=datetime(2026, 6, day, tzinfo=UTC)))

    answer(people["henan_b"], 3, 1)
    answer(people["henan_b"], 9, 20)  # the latest counts: a promoter now
    answer(people["hubei_b"], 9, 1)
    answer(people["hubei_b"], 5, 20)
    answer(people["henan_a"], 2, 5, kind="csat")
    db.commit()
    assert names(db, {"rules": [{"field": "nps_score", "op": "gte", "value": 9}]}) == ["Wang Wei"]
    assert names(db, {"rules": [{"field": "nps_score", "op": "lte", "value": 6}]}) == ["Zhao Lei"]
    assert names(db, {"rules": [{"field": "nps_score", "op": "is_empty"}]}) == ["Li Na"]
    assert names(db, {"rules": [{"field": "csat_score", "op": "between", "value": [1, 2]}]}) == ["Li Na"]
    with pytest.raises(ValidationError) as caught:
        segments.count(db, {"rules": [{"field": "nps_score", "op": "gt", "value": 11},
                                      {"field": "csat_score", "op": "contains", "value": 3}]})
    errors = caught.value.as_dict()
    assert "0 to 10" in errors["rules[0].value"] and "contains" in errors["rules[1].op"]


def test_unknown_field_and_operator_are_refused_by_name(db, people):
    with pytest.raises(ValidationError) as caught:
        segments.count(db, {"match": "all", "rules": [
            {"field": "colour", "op": "eq", "value": "red"},
            {"match": "any", "rules": [{"field": "class", "op": "like", "value": "A"}]},
            {"field": "region", "op": "eq", "value": "x'; DROP TABLE customers; --"},
        ]})
    errors = caught.value.as_dict()
    assert "colour" in errors["rules[0].field"]
    assert "like" in errors["rules[1].rules[0].op"] and "in" in errors["rules[1].rules[0].op"]
    assert len(errors) == 2  # the quote in a value is only a value


def test_api_saves_counts_and_refuses(app, make_user, client, people):
    http = api(client, token_for(app, make_user("specialist")))
    body = {"name": "B in Henan", "match": "all", "rules": [
        {"field": "class", "op": "in", "value": ["A", "B"]},
        {"field": "tags", "op": "contains", "value": "vip"},
    ]}
    created = http.post("/segments", json=body)
    assert created.status_code == 201, created.json
    seg = created.json
    assert seg["rules"] == body["rules"]
    counted = http.get(f"/segments/{seg['id']}/count").json
    assert counted["count"] == 2
    assert {s["name"] for s in counted["sample"]} == {"Wang Wei", "Zhao Lei"}
    assert http.get(f"/segments/{seg['id']}/count?channel=email").json["count"] == 1
    assert http.get(f"/segments/{seg['id']}/count?channel=fax").status_code == 422

    bad = http.post("/segments", json={"name": "x", "rules": [{"field": "shoe_size", "op": "gt", "value": 40}]})
    assert bad.status_code == 422
    assert bad.json["errors"] == [{"field": "rules[0].field", "message": bad.json["errors"][0]["message"]}]
    assert "shoe_size" in bad.json["errors"][0]["message"]
    assert http.post("/segments", json=body).status_code == 422  # the name is taken

    renamed = http.patch(f"/segments/{seg['id']}", json={"name": "VIPs"})
    assert renamed.json["name"] == "VIPs" and renamed.json["rules"] == body["rules"]
    listed = http.get("/segments?q=VIP").json
    assert [s["id"] for s in listed["items"]] == [seg["id"]]
    assert http.delete(f"/segments/{seg['id']}").status_code == 204
    assert http.get(f"/segments/{seg['id']}").status_code == 404


def test_agents_may_not_manage_segments(app, make_user, client):
    http = api(client, token_for(app, make_user("agent")))
    assert http.get("/segments").status_code == 403


def test_editor_page_counts_live_and_escapes(app, client, signed_in, db, people):
    from tests.conftest import csrf_token

    signed_in("specialist")
    page = client.get("/campaigns/segments/new")
    assert page.status_code == 200 and "campaigns.js" in page.get_data(as_text=True)
    token = csrf_token(client, "/campaigns/segments/new")
    rules = '[{"field": "region", "op": "eq", "value": "Henan"}]'
    live = client.post("/campaigns/segments/preview", data={"csrf_token": token, "match": "all", "rules": rules})
    assert live.json["count"] == 2
    assert {m["name"] for m in live.json["sample"]} == {"Wang Wei", "Li Na"}
    wrong = client.post("/campaigns/segments/preview", data={"csrf_token": token, "rules": '[{"field": "planet"}]'})
    assert wrong.status_code == 422 and "planet" in wrong.json["errors"][0]["message"]
    broken = client.post("/campaigns/segments/new", data={"csrf_token": token, "name": "<b>x</b>", "rules": "[{"})
    assert broken.status_code == 422 and "not valid JSON" in broken.get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in broken.get_data(as_text=True)
    saved = client.post("/campaigns/segments/new", data={"csrf_token": token, "name": "Henan", "match": "all", "rules": rules})
    assert saved.status_code == 302
    shown = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Contacts in the segment: 2" in shown and "Wang Wei" in shown
