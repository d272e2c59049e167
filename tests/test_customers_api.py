"""Customers, contacts and follow-ups through /api/v1."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from hub.crm.customers.models import AuditEntry, Contact, Customer
from tests.conftest import business_day
from tests.crm_helpers import api, token_for


@pytest.fixture
def director_api(app, client, make_user):
    user = make_user("director")
    return api(client, token_for(app, user)), user


@pytest.fixture
def agent_api(app, make_user):
    user = make_user("agent")
    return api(app.test_client(), token_for(app, user)), user


def test_create_a_customer_with_its_contacts_in_one_body(director_api):
    client, user = director_api
    r = client.post(
        "/customers",
        json={
            "name": "郑州华信科技有限公司",
            "region": "Henan",
            "phone": "0371 6555 1234",
            "email": "Sales@HuaXin.COM.CN",
            "website": "huaxin.com.cn",
            "tags": ["vip", "henan"],
            "credit_limit": "500000",
            "year_founded": 2008,
            "contacts": [
                {
                    "name": "李娜",
                    "phone": "138 0013 8000",
                    "email": "li.na@HuaXin.com.cn",
                    "is_decision_maker": True,
                    "birthday": "1985-04-12",
                },
                {"name": "王强", "phone": "+86 139-0013-9000"},
            ],
        },
    )
    assert r.status_code == 201, r.json
    body = r.json
    assert isinstance(body["id"], int)
    assert r.headers["Location"].endswith(f"/api/v1/customers/{body['id']}")
    assert body["phone"] == "+8637165551234"
    assert body["email"] == "Sales@huaxin.com.cn"  # domain lower-cased, the rest as typed
    assert body["website"] == "https://huaxin.com.cn"
    assert body["credit_limit"] == "500000.00"
    assert body["tags"] == ["henan", "vip"]
    assert body["owner_id"] == user.id
    assert [c["phone"] for c in body["contacts"]] == ["+8613800138000", "+8613900139000"]
    assert all(isinstance(c["id"], int) for c in body["contacts"])
    again = client.get(f"/customers/{body['id']}").json
    assert again["contacts"] == body["contacts"]


def test_every_bad_field_is_reported_at_once_and_nothing_is_stored(director_api, db):
    client, _ = director_api
    r = client.post(
        "/customers",
        json={
            "name": "",
            "email": "not-an-email",
            "phone": "12",
            "year_founded": "soon",
            "colour": "red",
            "contacts": [{"name": "A", "phone": "abc"}, {"phone": "138 0013 8000"}],
        },
    )
    assert r.status_code == 422
    assert r.content_type == "application/problem+json"
    fields = {e["field"] for e in r.json["errors"]}
    assert fields == {"colour"}  # an unknown key is refused first, by name
    r = client.post(
        "/customers",
        json={
            "name": "",
            "email": "not-an-email",
            "phone": "12",
            "year_founded": "soon",
            "contacts": [{"name": "A", "phone": "abc"}, {"phone": "138 0013 8000"}],
        },
    )
    fields = {e["field"] for e in r.json["errors"]}
    assert fields == {
        "name",
        "email",
        "phone",
        "year_founded",
        "contacts.0.phone",
        "contacts.1.name",
    }
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def test_a_phone_typed_any_way_is_found_every_way(director_api):
    client, _ = director_api
    created = client.post(
        "/customers",
        json={"name": "Redwood Supplies", "contacts": [{"name": "Amy", "phone": "138 0013 8000"}]},
    ).json
    for q in ("+8613800138000", "13800138000", "8613800138000", "+86 138-0013-8000", "0013 8000"):
        items = client.get("/customers", query_string={"q": q}).json["items"]
        assert [c["id"] for c in items] == [created["id"]], q
        contacts = client.get("/contacts", query_string={"q": q}).json["items"]
        assert [c["name"] for c in contacts] == ["Amy"], q


def test_lists_page_with_next_links_until_null(director_api):
    client, _ = director_api
    for i in range(7):
        client.post("/customers", json={"name": f"Customer {i}"})
    seen, url = [], "/customers?limit=3"
    while url:
        page = client.get(url.split("/api/v1", 1)[-1]).json
        seen += [c["name"] for c in page["items"]]
        url = page["next"]
    assert seen == [f"Customer {i}" for i in range(7)]
    bad = client.get("/customers?limit=0")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "limit"


def test_an_agent_cannot_read_or_change_another_agents_customer(director_api, agent_api, make_user):
    director, _ = director_api
    agent, me = agent_api
    other = make_user("agent")
    theirs = director.post("/customers", json={"name": "Not yours", "owner_id": other.id}).json
    mine = agent.post("/customers", json={"name": "Mine"}).json
    assert mine["owner_id"] == me.id
    assert agent.get(f"/customers/{theirs['id']}").status_code == 403
    assert agent.patch(f"/customers/{theirs['id']}", json={"name": "x"}).status_code == 403
    assert agent.delete(f"/customers/{theirs['id']}").status_code == 403
    contact_id = director.post("/contacts", json={"customer_id": theirs["id"], "name": "Bob"}).json[
        "id"
    ]
    assert agent.get(f"/contacts/{contact_id}").status_code == 403
    assert (
        agent.post("/follow-ups", json={"customer_id": theirs["id"], "channel": "call"}).status_code
        == 403
    )
    assert [c["name"] for c in agent.get("/customers").json["items"]] == ["Mine"]
    assert agent.get("/contacts").json["items"] == []
    assert (
        agent.post("/customers", json={"name": "Sneaky", "owner_id": other.id}).status_code == 403
    )


def test_a_specialist_reads_everything_and_changes_nothing(app, director_api, make_user):
    director, _ = director_api
    specialist = api(app.test_client(), token_for(app, make_user("specialist")))
    c = director.post("/customers", json={"name": "Anyone"}).json
    assert specialist.get(f"/customers/{c['id']}").status_code == 200
    assert specialist.patch(f"/customers/{c['id']}", json={"name": "x"}).status_code == 403
    assert specialist.post("/customers", json={"name": "New"}).status_code == 403


def test_update_is_audited_with_before_and_after(director_api, db):
    client, user = director_api
    c = client.post("/customers", json={"name": "Old Name", "region": "Henan"}).json
    r = client.patch(f"/customers/{c['id']}", json={"name": "New Name", "region": "Henan"})
    assert r.status_code == 200 and r.json["name"] == "New Name"
    entries = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.customer_id == c["id"]).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes == {"name": ["Old Name", "New Name"]}  # region did not change
    assert entries[1].user_id == user.id


def test_follow_up_without_a_date_takes_the_class_cadence(director_api, app):
    client, _ = director_api
    c = client.post("/customers", json={"name": "B Co", "customer_class": "B"}).json
    r = client.post(
        "/follow-ups",
        json={
            "customer_id": c["id"],
            "channel": "call",
            "summary": "Asked for a quote",
            "outcome": "reached",
        },
    )
    assert r.status_code == 201
    assert r.json["next_contact_on"] == (business_day(app) + timedelta(days=3)).isoformat()
    assert client.get(f"/customers/{c['id']}").json["next_contact_on"] == r.json["next_contact_on"]
    past = client.post(
        "/follow-ups",
        json={"customer_id": c["id"], "channel": "call", "next_contact_on": "2000-01-01"},
    )
    assert past.status_code == 422 and past.json["errors"][0]["field"] == "next_contact_on"
    listed = client.get(f"/follow-ups?customer_id={c['id']}").json["items"]
    assert [f["summary"] for f in listed] == ["Asked for a quote"]


def test_convert_a_lead_keeps_it_and_writes_a_follow_up(director_api):
    client, _ = director_api
    lead = client.post(
        "/customers", json={"name": "Lead Ltd", "stage": "lead", "lead_source": "exhibition"}
    ).json
    r = client.post(f"/customers/{lead['id']}/convert", json={})
    assert r.status_code == 200
    assert r.json["id"] == lead["id"] and r.json["stage"] == "customer"
    assert r.json["lead_source"] == "exhibition"
    history = client.get(f"/follow-ups?customer_id={lead['id']}").json["items"]
    assert history[0]["channel"] == "system" and "Converted from Lead" in history[0]["summary"]
    assert client.post(f"/customers/{lead['id']}/convert", json={}).status_code == 409


def test_class_needs_a_reason_and_assignment_is_a_directors(director_api, agent_api, make_user):
    director, _ = director_api
    agent, me = agent_api
    c = director.post("/customers", json={"name": "Classy"}).json
    r = director.post(f"/customers/{c['id']}/class", json={"customer_class": "A"})
    assert r.status_code == 422 and r.json["errors"][0]["field"] == "reason"
    assert (
        director.post(
            f"/customers/{c['id']}/class", json={"customer_class": "A", "reason": "Top buyer"}
        ).json["customer_class"]
        == "A"
    )
    moved = director.post(
        "/customers/assign",
        json={"customer_ids": [c["id"]], "owner_id": me.id, "reason": "Henan territory"},
    )
    assert moved.json == {"moved": 1}
    assert agent.get(f"/customers/{c['id']}").status_code == 200
    assert (
        agent.post(
            "/customers/assign", json={"customer_ids": [c["id"]], "owner_id": me.id}
        ).status_code
        == 403
    )


def test_consent_is_recorded_with_source_and_time(director_api):
    client, _ = director_api
    c = client.post("/customers", json={"name": "Consent Co", "contacts": [{"name": "Zoe"}]}).json
    contact_id = c["contacts"][0]["id"]
    r = client.put(
        f"/contacts/{contact_id}/consent/sms", json={"granted": False, "source": "phone call"}
    )
    assert r.status_code == 200
    assert r.json["consent"]["sms"]["granted"] is False
    assert r.json["consent"]["sms"]["source"] == "phone call"
    assert r.json["consent"]["email"] is None
    assert (
        client.put(f"/contacts/{contact_id}/consent/fax", json={"granted": True}).status_code == 422
    )


def test_openapi_lists_every_api_route_and_nothing_else(app, director_api):
    client, _ = director_api
    doc = client.get("/openapi.json").json
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule[len("/api/v1") :]
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", "{id}").replace(f"<{arg}>", "{" + arg + "}")
            routed |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
    create = doc["paths"]["/customers"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert create["required"] == ["name"]
    assert "contacts" in create["properties"] and create["additionalProperties"] is False


def test_control_characters_and_out_of_range_ids_are_clear_errors_not_500s(director_api):
    client, _ = director_api
    r = client.post("/customers", json={"name": "Bad\x00Name", "contacts": [{"name": "A\x07"}]})
    assert r.status_code == 422
    assert {e["field"] for e in r.json["errors"]} == {"name", "contacts.0.name"}
    for path in ("/customers/99999999999", "/contacts/99999999999", "/follow-ups/99999999999"):
        assert client.get(path).status_code == 404, path
    notes = client.post("/customers", json={"name": "Fine", "notes": "line one\nline two\ttabbed"})
    assert notes.status_code == 201 and notes.json["notes"] == "line one\nline two\ttabbed"


def test_custom_fields_are_stored_typed_and_filter_like_built_in_ones(app, director_api, make_user, client):
    from hub.core import db as hubdb
    from hub.core.auth import User
    from hub.crm.customers.custom_fields import create_field
    from tests.conftest import login

    api_client, _ = director_api
    admin = make_user("admin")
    with hubdb.session_scope(app) as s:
        actor = s.get(User, admin.id)
        create_field(s, actor, {"key": "grade", "label": "Grade", "kind": "choice", "choices": "gold, silver"})
        create_field(s, actor, {"key": "fleet", "label": "Fleet size", "kind": "number"})
    gold = api_client.post("/customers", json={"name": "Gold Co", "custom": {"grade": "gold", "fleet": "120"}})
    assert gold.status_code == 201, gold.json
    assert gold.json["custom"] == {"grade": "gold", "fleet": "120"}
    api_client.post("/customers", json={"name": "Silver Co", "custom": {"grade": "silver", "fleet": 8}})
    bad = api_client.post("/customers", json={"name": "Bad", "custom": {"grade": "bronze", "colour": "red"}})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"custom.grade", "custom.colour"}
    names = lambda r: [c["name"] for c in r.json["items"]]  # noqa: E731
    assert names(api_client.get("/customers?cf_grade=gold")) == ["Gold Co"]
    assert names(api_client.get("/customers?cf_fleet_min=50")) == ["Gold Co"]
    assert names(api_client.get("/customers?cf_fleet_min=5&cf_fleet_max=10")) == ["Silver Co"]
    wrong = api_client.get("/customers?cf_fleet_min=lots")
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "cf_fleet"
    login(client, admin.email)
    page = client.get("/customers?cf_fleet_min=100").get_data(as_text=True)
    assert ">Gold Co</a>" in page and ">Silver Co</a>" not in page
    page = client.get("/customers?cf_fleet_max=10").get_data(as_text=True)
    assert ">Silver Co</a>" in page and ">Gold Co</a>" not in page


def test_a_phone_with_an_extension_keeps_it_on_the_contact(director_api):
    call, _user = director_api
    response = call.post(
        "/customers",
        json={"name": "远洋贸易", "contacts": [{"name": "刘洋", "phone": "010-6552 9988 转 123"}]},
    )
    assert response.status_code == 201, response.get_json()
    (contact,) = response.get_json()["contacts"]
    assert (contact["phone"], contact["phone_ext"]) == ("+861065529988", "123")
    # a new number without an extension clears the old one; an extension may be sent on its own
    path = f"/contacts/{contact['id']}"
    changed = call.patch(path, json={"phone": "+1 415 555 0100"}).get_json()
    assert (changed["phone"], changed["phone_ext"]) == ("+14155550100", None)
    changed = call.patch(path, json={"phone": "+1 415 555 0100", "phone_ext": "45"}).get_json()
    assert changed["phone_ext"] == "45"
    # the customer's own number has no place for an extension: refused, not dropped
    refused = call.post("/customers", json={"name": "x", "phone": "010-6552 9988 转 123"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        {
            "field": "phone",
            "message": "010-6552 9988 转 123 has an extension: give it to a contact, whose "
            "extension is kept.",
        }
    ]


def test_the_list_says_which_contact_a_search_matched(director_api, db):
    client, user = director_api
    customer = Customer(name="杭州远景贸易有限公司", phone="+8657188886666", owner_id=user.id)
    customer.contacts += [
        Contact(name="王芳", phone="+8613900000001"),
        Contact(name="Li Wei", phone="+8615092216676"),
    ]
    db.add(customer)
    db.commit()
    li = customer.contacts[1]
    items = client.get("/customers?q=150%209221%206676").get_json()["items"]
    assert [i["name"] for i in items] == ["杭州远景贸易有限公司"]
    assert items[0]["matched"] == {
        "field": "phone",
        "value": "+8615092216676",
        "contact_id": li.id,
        "contact_name": "Li Wei",
    }
    # found by its own name, or listed without a search: nothing to explain
    assert client.get("/customers?q=远景").get_json()["items"][0]["matched"] is None
    assert client.get("/customers").get_json()["items"][0]["matched"] is None
