"""The CRM rules page: every rule editable, defaults shown, bad values refused by name."""

import re

import sqlalchemy as sa

from hub.crm.customers.models import CrmSetting
from hub.crm.rules import DEFAULTS, get_rules
from tests.conftest import csrf_token


def form_for(values, token):
    """The rules form as the page fills it in."""
    data = {"csrf_token": token}
    for key, value in values.items():
        if isinstance(value, dict):
            data.update({f"{key}.{k}": str(v) for k, v in value.items()})
        elif isinstance(value, list):
            data[key] = ", ".join(value)
        else:
            data[key] = str(value)
    return data


def test_the_page_shows_every_rule_and_its_default(client, signed_in):
    signed_in("director")
    body = client.get("/admin/crm-rules").get_data(as_text=True)
    for key, default in DEFAULTS.items():
        if isinstance(default, dict):
            for sub in default:
                assert f'name="{key}.{sub}"' in body
        else:
            assert f'name="{key}"' in body
    assert "Default: new, qualified, proposal, negotiation, won, lost" in body
    assert 'name="follow_up_cadence_days.B" value="3"' in body


def test_changing_one_rule_stores_only_that_one(client, db, signed_in):
    signed_in("admin")
    token = csrf_token(client, "/admin/crm-rules")
    values = {**DEFAULTS, "follow_up_cadence_days": {"A": 2, "B": 4, "C": 10}}
    r = client.post("/admin/crm-rules", data=form_for(values, token))
    assert r.status_code == 302
    assert get_rules(db)["follow_up_cadence_days"] == {"A": 2, "B": 4, "C": 10}
    assert db.scalars(sa.select(CrmSetting.key)).all() == ["follow_up_cadence_days"]
    page = client.get("/admin/crm-rules").get_data(as_text=True)
    assert 'name="follow_up_cadence_days.B" value="4"' in page
    assert "The rules were saved." in page


def test_bad_values_are_refused_each_by_name_and_nothing_is_stored(client, db, signed_in):
    signed_in("director")
    token = csrf_token(client, "/admin/crm-rules")
    values = {
        **DEFAULTS,
        "follow_up_cadence_days": {"A": "soon", "B": 3, "C": 7},
        "credit_review_months": {"A": 6, "B": -1, "C": 1},
        "revenue_class_percent": {"A": 80, "B": 30},
        "pipeline_stages": ["new", "won"],
        "nurture_after_days": "0",
        "complaint_step_days": "1",
    }
    r = client.post("/admin/crm-rules", data=form_for(values, token))
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="field-error" id="([^"]+)-error">([^<]+)</p>', body))
    assert errors == {
        "follow_up_cadence_days.A": "Expected a whole number.",
        "credit_review_months.B": "Expected a number from 0 to 3650.",
        "revenue_class_percent": "A and B together cannot pass 100%.",
        "pipeline_stages": "Stages must be unique and include won and lost.",
        "nurture_after_days": "Expected a number from 1 to 3650.",
    }
    assert 'name="follow_up_cadence_days.A" value="soon"' in body  # what was typed is kept
    assert db.scalars(sa.select(CrmSetting)).all() == []


def test_agents_and_specialists_cannot_edit_the_rules(app, make_user):
    from tests.conftest import login

    for role in ("agent", "specialist"):
        client = app.test_client()
        login(client, make_user(role).email)
        assert client.get("/admin/crm-rules").status_code == 403


def test_class_a_is_explained_as_follow_up_until_closed(app, client, signed_in, db):
    from hub.crm.customers.models import Customer

    user = signed_in("director")
    rules = client.get("/admin/crm-rules").get_data(as_text=True)
    assert "Class A means follow up until the deal is closed" in rules
    customer = Customer(name="Hint Co", owner_id=user.id)
    db.add(customer)
    db.commit()
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert (
        "Left empty, the next contact follows the class: A every day until the deal closes "
        "(relentless follow-up, no fixed gap); B after 3 days; C after 7 days." in page
    )
    token = csrf_token(client, "/admin/crm-rules")
    values = {**DEFAULTS, "follow_up_cadence_days": {"A": 2, "B": 1, "C": 10}}
    client.post("/admin/crm-rules", data=form_for(values, token))
    page = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "A every 2 days until the deal closes; B after 1 day; C after 10 days." in page
    client.post("/language", data={"lang": "zh_Hans", "next": "/", "csrf_token": token})
    zh = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "A 类每 2 天跟进一次，直到成交" in zh
