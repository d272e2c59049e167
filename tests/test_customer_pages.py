"""The customer pages: add, find, read, change, and everything done on a customer's page."""

from datetime import timedelta

import sqlalchemy as sa

from hub.crm.customers.models import Assignment, AuditEntry, Contact, Customer
from hub.crm.followups.models import FollowUp
from tests.conftest import business_day, csrf_token


def _new_customer(client, **fields):
    token = csrf_token(client, "/customers/new")
    data = {
        "name": "郑州华信科技有限公司",
        "kind": "organization",
        "stage": "customer",
        "lead_source": "manual",
        "csrf_token": token,
    }
    data.update(fields)
    return client.post("/customers/new", data=data)


def _id(response):
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_an_agent_adds_a_customer_with_a_first_contact_and_finds_it_by_phone(client, signed_in, db):
    me = signed_in("agent")
    r = _new_customer(
        client,
        **{
            "region": "Henan",
            "tags": "vip, henan",
            "contact.name": "李娜",
            "contact.phone": "138 0013 8000",
            "contact.is_decision_maker": "1",
        },
    )
    assert r.status_code == 302
    customer = db.scalar(sa.select(Customer))
    assert customer.owner_id == me.id
    assert [t.name for t in customer.tags] == ["henan", "vip"]
    contact = db.scalar(sa.select(Contact))
    assert contact.phone == "+8613800138000" and contact.is_decision_maker
    for q in ("+8613800138000", "13800138000", "李娜"):
        body = client.get("/customers", query_string={"q": q}).get_data(as_text=True)
        assert "郑州华信科技有限公司" in body, q
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "+86 138 0013 8000" in page and "Decision maker" in page


def test_bad_fields_are_marked_and_what_was_typed_is_kept(client, signed_in, db):
    signed_in("director")
    r = _new_customer(
        client,
        **{
            "email": "nope",
            "phone": "12",
            "year_founded": "long ago",
            "notes": "keep me",
            "contact.phone": "abc",
        },
    )
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    for name in ("email", "phone", "year_founded", "contact.phone", "contact.name"):
        assert f'id="{name}-error"' in body, name
    assert "keep me" in body and 'value="nope"' in body
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0


def test_edit_is_audited_and_shown_on_the_customer_page(client, signed_in, db):
    signed_in("director")
    cid = _id(_new_customer(client, name="Old Name Ltd"))
    form = client.get(f"/customers/{cid}/edit").get_data(as_text=True)
    assert 'value="Old Name Ltd"' in form
    token = csrf_token(client, f"/customers/{cid}/edit")
    r = client.post(
        f"/customers/{cid}/edit",
        data={
            "csrf_token": token,
            "name": "New Name Ltd",
            "kind": "organization",
            "stage": "customer",
            "lead_source": "manual",
            "credit_limit": "200,000",
            "tags": "",
        },
    )
    assert r.status_code == 302
    page = client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "New Name Ltd" in page and "Old Name Ltd → New Name Ltd" in page
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert entry.changes["credit_limit"] == [None, "200000.00"]


def test_a_follow_up_on_a_b_customer_sets_the_next_contact_three_days_on(
    app, client, signed_in, db
):
    signed_in("agent")
    cid = _id(_new_customer(client))
    db.get(Customer, cid).customer_class = "B"
    db.commit()
    token = csrf_token(client, f"/customers/{cid}")
    r = client.post(
        f"/customers/{cid}/follow-ups",
        data={
            "csrf_token": token,
            "channel": "call",
            "direction": "outbound",
            "outcome": "reached",
            "summary": "Wants a quote for 200 units <b>soon</b>",
        },
        follow_redirects=True,
    )
    body = r.get_data(as_text=True)
    assert "Follow-up recorded" in body
    assert "Wants a quote for 200 units &lt;b&gt;soon&lt;/b&gt;" in body
    db.expire_all()
    assert db.get(Customer, cid).next_contact_on == business_day(app) + timedelta(days=3)
    assert db.scalar(sa.select(FollowUp.outcome)) == "reached"
    emails = client.get(f"/customers/{cid}?channel=email").get_data(as_text=True)
    assert "Wants a quote" not in emails  # filtered by channel


def test_agents_are_kept_to_their_own_customers_in_the_pages(app, client, signed_in, make_user, db):
    from tests.conftest import login

    signed_in("agent")
    theirs = Customer(name="Theirs Ltd", owner_id=make_user("agent").id)
    db.add(theirs)
    db.commit()
    assert client.get(f"/customers/{theirs.id}").status_code == 403
    assert client.get(f"/customers/{theirs.id}/edit").status_code == 403
    token = csrf_token(client, "/customers")
    refused = client.post(
        f"/customers/{theirs.id}/follow-ups", data={"csrf_token": token, "channel": "call"}
    )
    assert refused.status_code == 403
    assert "Theirs Ltd" not in client.get("/customers").get_data(as_text=True)
    specialist = app.test_client()
    login(specialist, make_user("specialist").email)
    assert specialist.get(f"/customers/{theirs.id}").status_code == 200
    assert specialist.get(f"/customers/{theirs.id}/edit").status_code == 403
    assert specialist.get("/customers/new").status_code == 403


def test_a_director_reassigns_customers_in_bulk_and_the_history_is_kept(
    client, signed_in, make_user, db
):
    signed_in("director")
    rep = make_user("agent", name="Rep One")
    ids = [_id(_new_customer(client, name=f"Bulk {i}")) for i in range(3)]
    token = csrf_token(client, "/customers")
    r = client.post(
        "/customers/assign",
        data={
            "csrf_token": token,
            "customer_id": ids[:2],
            "owner_id": rep.id,
            "reason": "Henan territory",
        },
        follow_redirects=True,
    )
    assert "2 customers reassigned" in r.get_data(as_text=True)
    owners = {c.owner_id for c in db.scalars(sa.select(Customer).where(Customer.id.in_(ids[:2])))}
    assert owners == {rep.id}
    assert db.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 2
    page = client.get(f"/customers/{ids[0]}").get_data(as_text=True)
    assert "Henan territory" in page and "Rep One" in page


def test_consent_and_contacts_from_the_customer_page(client, signed_in, db):
    signed_in("agent")
    cid = _id(_new_customer(client, **{"contact.name": "Zoe"}))
    contact = db.scalar(sa.select(Contact))
    token = csrf_token(client, f"/customers/{cid}")
    client.post(
        f"/contacts/{contact.id}/consent",
        data={
            "csrf_token": token,
            "channel": "sms",
            "granted": "0",
            "source": "asked on the phone",
        },
    )
    page = client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "SMS: no" in page and "asked on the phone" in page
    r = client.post(
        f"/customers/{cid}/contacts/new",
        data={
            "csrf_token": token,
            "name": "Yan",
            "email": "yan@example.com",
            "timezone": "Mars/Base",
        },
    )
    assert r.status_code == 422 and 'id="timezone-error"' in r.get_data(as_text=True)
    r = client.post(
        f"/customers/{cid}/contacts/new",
        data={"csrf_token": token, "name": "Yan", "email": "Yan@Example.COM"},
    )
    assert r.status_code == 302
    assert db.scalar(sa.select(Contact.email).where(Contact.name == "Yan")) == "Yan@example.com"
    # a number typed with its extension: both kept, and shown
    r = client.post(
        f"/customers/{cid}/contacts/new",
        data={"csrf_token": token, "name": "Xu", "phone": "010-6552 9988 分机 8", "phone_ext": ""},
    )
    assert r.status_code == 302
    xu = db.scalar(sa.select(Contact).where(Contact.name == "Xu"))
    assert (xu.phone, xu.phone_ext) == ("+861065529988", "8")
    assert "ext. 8" in client.get(f"/customers/{cid}").get_data(as_text=True)


def test_convert_and_classify_from_the_page(client, signed_in, db):
    signed_in("director")
    cid = _id(_new_customer(client, stage="lead"))
    token = csrf_token(client, f"/customers/{cid}")
    client.post(f"/customers/{cid}/convert", data={"csrf_token": token})
    r = client.post(
        f"/customers/{cid}/class",
        data={"csrf_token": token, "customer_class": "A", "reason": ""},
        follow_redirects=True,
    )
    assert "Say why the class changes." in r.get_data(as_text=True)
    client.post(
        f"/customers/{cid}/class",
        data={"csrf_token": token, "customer_class": "A", "reason": "Biggest buyer in Henan"},
    )
    db.expire_all()
    c = db.get(Customer, cid)
    assert (c.stage, c.customer_class, c.class_reason) == (
        "customer",
        "A",
        "Biggest buyer in Henan",
    )
    page = client.get(f"/customers/{cid}").get_data(as_text=True)
    assert "Converted from Lead to customer." in page and "class changed" in page


def test_list_filters_and_sorts(client, signed_in, db):
    me = signed_in("director")
    db.add_all(
        [
            Customer(name="Alpha", region="Henan", customer_class="A", owner_id=me.id),
            Customer(
                name="Beta", region="Jiangsu", customer_class="B", owner_id=me.id, stage="lead"
            ),
            Customer(name="Gamma", region="Henan", customer_class="C", owner_id=me.id),
        ]
    )
    db.commit()
    henan = client.get("/customers?region=Henan").get_data(as_text=True)
    assert "Alpha" in henan and "Gamma" in henan and "Beta" not in henan
    leads = client.get("/customers?stage=lead").get_data(as_text=True)
    assert "Beta" in leads and "Alpha" not in leads
    desc = client.get("/customers?sort=-name").get_data(as_text=True)
    assert desc.index("Gamma") < desc.index("Beta") < desc.index("Alpha")


def _row(page, name):
    """The list's table row of the customer called `name`."""
    return page.split(f">{name}</a>")[1].split("</tr>")[0]


def _search(client, q):
    return client.get("/customers", query_string={"q": q}).get_data(as_text=True)


def test_a_search_that_found_a_contact_says_which_on_the_row(client, signed_in, db):
    me = signed_in("agent")
    customer = Customer(
        name="杭州远景贸易有限公司", phone="+8657188886666", email="sales@yuanjing.cn",
        owner_id=me.id,
    )  # fmt: skip
    customer.contacts += [
        Contact(name="王芳", phone="+8613900000001"),
        Contact(name="Li Wei", phone="+8615092216676", email="liwei@yuanjing.cn"),
    ]
    db.add_all([customer, Customer(name="其他公司", phone="+8613700000000", owner_id=me.id)])
    db.commit()

    # the contact's whole number, typed with spaces: that contact and number, all of it marked
    row = _row(_search(client, "150 9221 6676"), "杭州远景贸易有限公司")
    assert "matched: Li Wei (contact) · <mark>+86 150 9221 6676</mark>" in row
    assert "+86 571 8888 6666" in row  # the customer's own number is still the row's phone
    assert "王芳" not in row
    # part of the number: the digits typed are the marked part
    row = _row(_search(client, "9221 6676"), "杭州远景贸易有限公司")
    assert "matched: Li Wei (contact) · +86 150 <mark>9221 6676</mark>" in row
    # the contact's name, in another case, with the contact's number after it
    row = _row(_search(client, "li wei"), "杭州远景贸易有限公司")
    assert "matched: <mark>Li Wei</mark> (contact) · +86 150 9221 6676" in row
    row = _row(_search(client, "liwei@"), "杭州远景贸易有限公司")
    assert "matched: Li Wei (contact) · <mark>liwei@</mark>yuanjing.cn" in row
    # the customer's own email, which the list does not show
    row = _row(_search(client, "sales@"), "杭州远景贸易有限公司")
    assert "matched: <mark>sales@</mark>yuanjing.cn (customer email)" in row
    # what the row shows already needs no explaining
    for q in ("远景", "0571 8888 6666"):
        page = _search(client, q)
        assert "杭州远景贸易有限公司" in page and "matched:" not in page, q


def test_the_list_shows_an_imported_customers_contact_number_and_city(app, client, signed_in, db):
    from tests.test_imports import csv_bytes, run_now, upload

    me = signed_in("agent")
    rows = [["深圳华强电子有限公司", "张三", "138 0013 8000", "", "", "深圳", "电子", ""]]
    run_now(app, upload(app, me, csv_bytes(rows)))
    imported = db.scalar(sa.select(Customer))
    # the person's mobile went on the contact, the city on the customer: neither is lost
    assert imported.phone is None and imported.region == "" and imported.city == "深圳"
    db.add(Customer(name="南京金陵商行", region="江苏", city="南京", owner_id=me.id))
    db.commit()
    page = client.get("/customers").get_data(as_text=True)
    row = _row(page, "深圳华强电子有限公司")
    assert "+86 138 0013 8000" in row and "(张三, contact)" in row
    assert 'title="No region: the city is shown">深圳</span>' in row
    row = _row(page, "南京金陵商行")
    assert "江苏" in row and "南京" not in row and "contact)" not in row
