"""Website lead capture: per-form keys, honeypot, rate limit, matching, assignment, due list."""

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.core.auth import User
from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from hub.crm.intake.lead_forms import LeadForm, create_form
from tests.conftest import csrf_token, login


def _form(app, owners, rules=""):
    with hubdb.session_scope(app) as s:
        admin = s.scalar(sa.select(User).where(User.role == "admin"))
        form = create_form(s, admin, "官网咨询", [u.id for u in owners], rules)
        return form.key


def test_a_lead_lands_on_its_owners_due_list_and_a_second_post_is_a_follow_up(
    app, client, make_user, db
):
    make_user("admin")
    rep = make_user("agent", email="rep@example.com")
    key = _form(app, [rep])
    response = client.post(
        f"/webhooks/leads/{key}",
        data={
            "company": "杭州西湖茶叶有限公司",
            "name": "王茶",
            "phone": "１３９ ００１３ ９０００",
            "email": "wang@xihu.cn",
            "message": "想了解批发价",
            "utm_source": "baidu",
            "_hp": "",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {"status": "received"}
    customer = db.scalar(sa.select(Customer))
    assert (customer.name, customer.stage, customer.lead_source, customer.owner_id) == (
        "杭州西湖茶叶有限公司",
        "lead",
        "website",
        rep.id,
    )
    (contact,) = customer.contacts
    assert (contact.name, contact.phone, contact.email) == (
        "王茶",
        "+8613900139000",
        "wang@xihu.cn",
    )
    note = db.scalar(sa.select(FollowUp))
    assert "想了解批发价" in note.summary and "utm_source: baidu" in note.summary

    # on the rep's due list at once
    login(client, "rep@example.com")
    due = client.get("/due").get_data(as_text=True)
    assert "杭州西湖茶叶有限公司" in due

    # the same person again (email in another case, JSON this time): a follow-up, no new customer
    again = client.post(
        f"/webhooks/leads/{key}",
        json={"name": "王茶", "email": "WANG@xihu.cn", "message": "还在吗"},
    )
    assert again.status_code == 201
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
    summaries = db.scalars(
        sa.select(FollowUp.summary).where(FollowUp.customer_id == customer.id)
    ).all()
    assert len(summaries) == 2 and any("还在吗" in x for x in summaries)


def test_a_wrong_or_revoked_key_gets_404_and_creates_nothing(app, client, make_user, db, signed_in):
    make_user("admin")
    rep = make_user("agent")
    key = _form(app, [rep])
    wrong = client.post("/webhooks/leads/not-a-key", data={"company": "X", "phone": "13900139000"})
    assert wrong.status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    # revoked from the admin page
    signed_in("admin")
    form_id = db.scalar(sa.select(LeadForm.id))
    token = csrf_token(client, "/admin/lead-forms")
    assert (
        client.post(f"/admin/lead-forms/{form_id}/revoke", data={"csrf_token": token}).status_code
        == 302
    )
    gone = client.post(f"/webhooks/leads/{key}", data={"company": "X", "phone": "13900139000"})
    assert gone.status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def test_honeypot_bad_fields_and_rate_limit(app, client, make_user, db):
    make_user("admin")
    key = _form(app, [make_user("agent")])
    bot = client.post(
        f"/webhooks/leads/{key}", data={"company": "Spam", "phone": "13900139000", "_hp": "x"}
    )
    assert bot.status_code == 201  # answered like a person, so the bot learns nothing
    bad = client.post(
        f"/webhooks/leads/{key}", data={"company": "X", "phone": "12345", "email": "a@"}
    )
    assert bad.status_code == 422
    fields = {e["field"]: e["message"] for e in bad.get_json()["errors"]}
    assert fields == {
        "phone": "12345 is not a valid phone number.",
        "email": "a@ is not a valid email address.",
    }
    unreachable = client.post(f"/webhooks/leads/{key}", data={"company": "X"})
    assert unreachable.status_code == 422
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    app.config["LEAD_RATE_LIMIT"] = 5
    try:
        codes = [
            client.post(
                f"/webhooks/leads/{key}", data={"company": f"C{i}", "phone": f"1390013900{i}"}
            ).status_code
            for i in range(4)
        ]
        limited = client.post(f"/webhooks/leads/{key}", data={})
    finally:
        del app.config["LEAD_RATE_LIMIT"]
    assert codes == [201, 201, 429, 429]  # three went before: the 4th and 5th pass, then 429
    assert int(limited.headers["Retry-After"]) > 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 2


def test_rules_then_round_robin(app, client, make_user, db):
    make_user("admin")
    a, b, south = (
        make_user("agent"),
        make_user("agent"),
        make_user("agent", email="south@example.com"),
    )
    key = _form(app, [a, b], "region: 华南 = south@example.com\nindustry: 电子 = south@example.com")
    owners = []
    for i, extra in enumerate([{"region": "华南"}, {}, {}, {"行业": "电子"}, {}]):
        r = client.post(
            f"/webhooks/leads/{key}",
            data={"company": f"公司{i}", "phone": f"1390013900{i}", **extra},
        )
        assert r.status_code == 201
        owners.append(db.scalar(sa.select(Customer.owner_id).where(Customer.name == f"公司{i}")))
    assert owners == [south.id, a.id, b.id, south.id, a.id]


def test_admin_page_creates_forms_and_names_bad_rule_lines(app, client, signed_in, make_user, db):
    rep = make_user("agent", email="rep@example.com")
    signed_in("admin")
    token = csrf_token(client, "/admin/lead-forms")
    bad = client.post(
        "/admin/lead-forms",
        data={
            "csrf_token": token,
            "name": "官网",
            "owner_ids": [str(rep.id)],
            "rules": "region: 华南 = nobody@example.com\nsomething else",
        },
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "Line 1: no active user nobody@example.com." in page and "Line 2:" in page
    ok = client.post(
        "/admin/lead-forms",
        data={"csrf_token": token, "name": "<i>官网</i>", "owner_ids": [str(rep.id)]},
    )
    assert ok.status_code == 302
    page = client.get("/admin/lead-forms").get_data(as_text=True)
    form = db.scalar(sa.select(LeadForm))
    assert f"/webhooks/leads/{form.key}" in page and "&lt;i&gt;官网&lt;/i&gt;" in page
    client.post("/logout", data={"csrf_token": token})
    signed_in("director")
    assert client.get("/admin/lead-forms").status_code == 403


def test_the_forms_list_searches_and_pages(app, client, signed_in, make_user, db):
    admin = signed_in("admin")
    rep = make_user("agent")
    with hubdb.session_scope(app) as s:
        actor = s.get(User, admin.id)
        for n in range(27):
            create_form(s, actor, f"展会表单 {n:02d}", [rep.id])
        create_form(s, actor, "官网首页", [rep.id])
    first = client.get("/admin/lead-forms").get_data(as_text=True)
    assert "28 forms" in first
    assert first.count('action="/admin/lead-forms/') == 25  # a revoke button a row
    assert "官网首页" in first  # the newest first
    second = client.get("/admin/lead-forms?page=2").get_data(as_text=True)
    assert second.count('action="/admin/lead-forms/') == 3 and "展会表单 00" in second
    found = client.get("/admin/lead-forms?q=官网").get_data(as_text=True)
    assert "1 form" in found and "官网首页" in found and "展会表单" not in found
    none = client.get("/admin/lead-forms?q=nothing").get_data(as_text=True)
    assert "No form matches." in none
