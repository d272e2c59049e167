"""The start page and the customer list: visibility by role, search, pagination, escaping."""

import re

import sqlalchemy as sa

from hub.crm.customers.models import Customer


def _add(db, owner, n, **kw):
    for i in range(n):
        db.add(
            Customer(
                name=kw.get("name", f"Customer {i:03d}"),
                phone=kw.get("phone"),
                email=kw.get("email"),
                customer_class=kw.get("cls", "B"),
                owner_id=owner.id if owner else None,
            )
        )
    db.commit()


def test_an_agent_sees_only_their_own_customers(client, signed_in, make_user, db):
    me = signed_in("agent")
    other = make_user("agent")
    _add(db, me, 2, name="Mine Ltd")
    _add(db, other, 3, name="Theirs Ltd")
    body = client.get("/customers").get_data(as_text=True)
    assert body.count("Mine Ltd") == 2
    assert "Theirs Ltd" not in body
    assert "2 customers" in body


def test_a_director_sees_every_customer(client, signed_in, make_user, db):
    signed_in("director")
    _add(db, make_user("agent"), 3, name="Alpha Co")
    _add(db, None, 1, name="Orphan Co")
    body = client.get("/customers").get_data(as_text=True)
    assert body.count(">Alpha Co</a>") == 3 and ">Orphan Co</a>" in body and "Unassigned" in body


def test_search_by_name_phone_digits_and_class(client, signed_in, db):
    me = signed_in("director")
    _add(db, me, 1, name="郑州华信科技有限公司", phone="+8613800138000", cls="A")
    _add(
        db, me, 1, name="Blue Harbor Foods Inc.", phone="+12125550123", email="ops@blue.example.com"
    )
    assert "郑州华信" in client.get("/customers?q=华信").get_data(as_text=True)
    by_phone = client.get("/customers?q=138 0013").get_data(as_text=True)
    assert "郑州华信" in by_phone and "Blue Harbor" not in by_phone
    by_class = client.get("/customers?class=B").get_data(as_text=True)
    assert "Blue Harbor" in by_class and "郑州华信" not in by_class
    assert "Blue Harbor" in client.get("/customers?q=ops@blue").get_data(as_text=True)
    like = client.get("/customers?q=%25").get_data(as_text=True)  # a literal %, not a wildcard
    assert "0 customers" in like


def test_pagination(client, signed_in, db):
    me = signed_in("director")
    _add(db, me, 30)
    first = client.get("/customers").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Customer 000" in first and "Customer 025" not in first
    second = client.get("/customers?page=2").get_data(as_text=True)
    assert "Customer 025" in second and "Customer 029" in second
    assert "Page 2 of 2" in client.get("/customers?page=99").get_data(as_text=True)
    assert client.get("/customers?page=abc").status_code == 200


def test_customer_text_is_escaped(client, signed_in, db):
    me = signed_in("director")
    _add(db, me, 1, name='<script>alert("x")</script>')
    body = client.get("/customers").get_data(as_text=True)
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert" in body


def test_phone_numbers_are_tel_links_and_call_buttons(client, signed_in, db):
    me = signed_in("agent")
    _add(db, me, 1, phone="+8613800138000")
    body = client.get("/customers").get_data(as_text=True)
    assert '<a class="tel" href="tel:+8613800138000">+86 138 0013 8000</a>' in body
    # The list is itself a form (bulk assignment): the button posts a form of its own.
    button = re.search(r'<button type="submit" class="call" form="call-form"[^>]*formaction="([^"]+)"', body)
    assert button and "number=%2B8613800138000" in button.group(1)
    assert re.search(r'<form method="post" action="/calls" id="call-form" hidden>', body)


def test_start_page_counts_customers_by_class(client, signed_in, db):
    me = signed_in("agent")
    _add(db, me, 2, cls="A")
    _add(db, me, 1, cls="C")
    body = client.get("/").get_data(as_text=True)
    assert "Class A: 2" in body and "Class B: 0" in body and "Class C: 1" in body
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 3
