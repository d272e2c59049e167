"""Orders: amounts from lines, unique contract numbers, status moves on the timeline, the two
follow-up lists, turnover figures, and who may see which, through pages and the API."""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from hub.crm.sales.models import Order, OrderLine
from hub.crm.sales.order_changes import create_order
from hub.crm.sales.orders import revenue_by_customer, turnover_by_month, turnover_by_year
from tests.conftest import business_day, csrf_token
from tests.sales_api_helpers import (
    api_as,
    changed,
    created,
    error_fields,
    expect,
    fresh,
    items,
    line,
)


def _customer(db, owner, name="Northwind Trading Co., Ltd."):
    customer = Customer(name=name, owner_id=owner.id if owner else None)
    db.add(customer)
    db.commit()
    return customer


def _post(client, path, data, page="/orders"):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, page)})


# --- amounts and contract numbers ----------------------------------------------------------------


def test_amounts_are_computed_from_the_lines_never_typed(director_api, db):
    client, _ = director_api
    customer = _customer(db, None)
    body = created(
        client,
        "/orders",
        {
            "customer_id": customer.id,
            "contract_number": "HT-2026-001",
            "order_date": "2026-03-02",
            "lines": [
                {"product": "不锈钢阀门 Stainless valve", "quantity": "2.5", "unit_price": "10.10"},
                {"product": "Gasket", "quantity": 3, "unit_price": 0.34},
                {"product": "Bolt", "quantity": "1,000", "unit_price": "0.05"},
            ],
        },
    )
    assert [ln["amount"] for ln in body["lines"]] == ["25.25", "1.02", "50.00"]
    assert body["amount"] == "76.27"
    assert body["lines"][2]["quantity"] == "1000.000"
    assert body["status"] == "pending" and body["currency"] == "CNY"
    typed = client.post(
        "/orders",
        json={
            "customer_id": customer.id,
            "contract_number": "HT-2026-002",
            "order_date": "2026-03-02",
            "amount": "1.00",
            "lines": [line()],
        },
    )
    assert typed.status_code == 422 and error_fields(typed)[0] == "amount"
    r = changed(client, f"/orders/{body['id']}", {"lines": [line(quantity="4", unit_price="2.5")]})
    assert r["amount"] == "10.00" and len(r["lines"]) == 1
    stored = db.scalars(sa.select(OrderLine.amount)).all()
    assert stored == [Decimal("10.00")]


def test_every_bad_field_and_line_is_named(director_api, db):
    client, _ = director_api
    r = client.post(
        "/orders",
        json={
            "contract_number": "",
            "order_date": "yesterday",
            "currency": "RMB1",
            "lines": [
                line(),
                {"product": "", "quantity": "0", "unit_price": "x"},
                {"product": "Half", "quantity": "1.0001", "unit_price": "0.333"},
                "not a line",
            ],
        },
    )
    assert r.status_code == 422
    assert set(error_fields(r)) == {
        "customer_id",
        "contract_number",
        "order_date",
        "currency",
        "lines.1.product",
        "lines.1.quantity",
        "lines.1.unit_price",
        "lines.2.quantity",
        "lines.2.unit_price",
        "lines.3",
    }
    none = client.post("/orders", json={"contract_number": "X", "order_date": "2026-01-01"})
    assert "lines" in error_fields(none)
    assert db.scalar(sa.select(sa.func.count()).select_from(Order)) == 0


def test_a_duplicate_contract_number_is_refused_by_name(director_api, client, signed_in, db):
    api_client, _ = director_api
    customer = _customer(db, None)
    body = {
        "customer_id": customer.id,
        "contract_number": "HT-0042",
        "order_date": "2026-01-05",
        "lines": [line()],
    }
    created(api_client, "/orders", body)
    again = api_client.post("/orders", json=body)
    assert again.status_code == 422
    assert again.json["errors"] == [
        {
            "field": "contract_number",
            "message": "Contract number HT-0042 is already used by another order.",
        }
    ]
    signed_in("director")
    r = _post(
        client,
        f"/customers/{customer.id}/orders/new",
        {
            "contract_number": "HT-0042",
            "order_date": "2026-01-06",
            "lines-0-product": "Valve",
            "lines-0-quantity": "1",
            "lines-0-unit_price": "5",
        },
    )
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="contract_number-error">Contract number HT-0042 is already used' in page
    assert 'value="Valve"' in page  # the rows typed are still there
    assert db.scalar(sa.select(sa.func.count()).select_from(Order)) == 1


# --- the form with line rows ---------------------------------------------------------------------


def test_the_form_skips_empty_rows_and_names_a_half_filled_one(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    form = {
        "contract_number": "HT-7",
        "order_date": "2026-02-01",
        "currency": "CNY",
        "status": "pending",
        "lines-0-product": "Pump",
        "lines-0-quantity": "2",
        "lines-0-unit_price": "150.5",
        "lines-1-product": "",
        "lines-1-quantity": "",
        "lines-1-unit_price": "",
        "lines-2-product": "Hose",
        "lines-2-quantity": "",
        "lines-2-unit_price": "8",
    }
    r = _post(client, f"/customers/{customer.id}/orders/new", form)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="lines-2-quantity-error">Row 3: This field is required.' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Order)) == 0

    form["lines-2-quantity"] = "10"
    r = _post(client, f"/customers/{customer.id}/orders/new", form)
    assert r.status_code == 302
    order = db.scalar(sa.select(Order))
    assert [(ln.product, ln.amount) for ln in order.lines] == [
        ("Pump", Decimal("301.00")),
        ("Hose", Decimal("80.00")),
    ]
    assert order.amount == Decimal("381.00")
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "CNY 381.00" in detail and "Pump" in detail

    empty = {k: v for k, v in form.items() if not k.startswith("lines-")}
    r = _post(client, f"/customers/{customer.id}/orders/new", {**empty, "contract_number": "HT-8"})
    assert r.status_code == 422
    assert "An order needs at least one line." in r.get_data(as_text=True)


# --- status moves --------------------------------------------------------------------------------


def test_status_moves_write_follow_ups_and_ship_needs_a_date(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    order = create_order(
        db,
        me,
        db.get(Customer, customer.id),
        {"contract_number": "HT-9", "order_date": "2026-03-01", "lines": [line()]},
    )
    db.commit()
    path = f"/orders/{order.id}/status"
    page = f"/orders/{order.id}"
    assert _post(client, path, {"status": "confirmed"}, page).status_code == 302
    r = _post(client, path, {"status": "shipped"}, page)
    assert r.status_code == 422
    assert 'id="ship_date-error">A shipped order needs a ship date.' in r.get_data(as_text=True)
    r = _post(client, path, {"status": "shipped", "ship_date": "2026-02-01"}, page)
    assert r.status_code == 422 and "before the order date" in r.get_data(as_text=True)
    assert (
        _post(client, path, {"status": "shipped", "ship_date": "2026-03-05"}, page).status_code
        == 302
    )
    assert _post(client, path, {"status": "confirmed"}, page).status_code == 409
    assert _post(client, path, {"status": "cancelled"}, page).status_code == 409
    r = _post(client, path, {"status": "delivered", "delivered_on": "2026-03-09"}, page)
    assert r.status_code == 302
    order = fresh(db, Order, order.id)
    assert (order.status, order.ship_date, order.delivered_on) == (
        "delivered",
        date(2026, 3, 5),
        date(2026, 3, 9),
    )
    records = db.scalars(
        sa.select(FollowUp)
        .where(FollowUp.order_id == order.id, FollowUp.receivable_id.is_(None))
        .order_by(FollowUp.id)
    ).all()
    assert [f.status for f in records] == ["pending", "confirmed", "shipped", "delivered"]
    # Shipping raised the amount due, on the same timeline (tests/test_receivables.py).
    raised = db.scalars(sa.select(FollowUp.summary).where(FollowUp.order_id == order.id, FollowUp.receivable_id.is_not(None))).all()
    assert raised == ["Amount due raised: CNY 10.00, due on 2026-04-04."]
    assert all(f.channel == "system" and f.next_contact_on is None for f in records)
    assert "Shipped to Delivered" in records[-1].summary


def test_to_ship_and_in_transit_lists(director_api, app, client, signed_in, db):
    api_client, _ = director_api
    customer = _customer(db, None)

    def order(number, **moves):
        return created(
            api_client,
            "/orders",
            {
                "customer_id": customer.id,
                "contract_number": number,
                "order_date": "2026-01-10",
                "lines": [line()],
                **moves,
            },
        )

    order("P-1")
    order("C-1", status="confirmed")
    order("S-1", status="shipped", ship_date="2026-01-12")
    delivered = order("D-1", status="delivered", ship_date="2026-01-12")
    assert delivered["delivered_on"] == business_day(app).isoformat()
    order("X-1", status="cancelled")
    signed_in("specialist")
    to_ship = client.get("/orders/to-ship").get_data(as_text=True)
    assert ">C-1<" in to_ship
    assert not [n for n in ("P-1", "S-1", "D-1", "X-1") if f">{n}<" in to_ship]
    in_transit = client.get("/orders/in-transit").get_data(as_text=True)
    assert ">S-1<" in in_transit and ">C-1<" not in in_transit and ">D-1<" not in in_transit
    listed = client.get("/orders?status=cancelled").get_data(as_text=True)
    assert ">X-1<" in listed and ">P-1<" not in listed


def test_delete_only_while_pending(director_api, db):
    client, _ = director_api
    customer = _customer(db, None)
    body = {"customer_id": customer.id, "order_date": "2026-01-10", "lines": [line()]}
    pending = created(client, "/orders", {**body, "contract_number": "A"})
    confirmed = created(client, "/orders", {**body, "contract_number": "B"})
    changed(client, f"/orders/{confirmed['id']}", {"status": "confirmed"})
    r = client.delete(f"/orders/{confirmed['id']}")
    assert r.status_code == 409 and "Cancel it instead" in r.json["detail"]
    assert client.delete(f"/orders/{pending['id']}").status_code == 204
    assert client.get(f"/orders/{pending['id']}").status_code == 404


def test_list_filters_by_status_customer_and_date(director_api, db):
    client, _ = director_api
    a, b = _customer(db, None, "Alpha"), _customer(db, None, "Beta")
    for customer, number, day in (
        (a, "A-1", "2026-01-05"),
        (a, "A-2", "2026-02-05"),
        (b, "B-1", "2026-02-10"),
    ):
        created(
            client,
            "/orders",
            {
                "customer_id": customer.id,
                "contract_number": number,
                "order_date": day,
                "lines": [line()],
            },
        )

    def numbers(query):
        return [o["contract_number"] for o in items(client, "/orders" + query)]

    assert numbers(f"?customer_id={a.id}") == ["A-1", "A-2"]
    assert numbers("?date_from=2026-02-01") == ["A-2", "B-1"]
    assert numbers("?date_from=2026-02-01&date_to=2026-02-07") == ["A-2"]
    assert numbers("?q=beta") == ["B-1"]
    assert numbers("?status=shipped") == []
    expect(client.get("/orders?date_from=soon&status=lost"), 422)


# --- figures -------------------------------------------------------------------------------------


def _order(db, customer, number, day, amount, status="pending", currency="CNY"):
    db.add(
        Order(
            customer_id=customer.id,
            contract_number=number,
            order_date=day,
            amount=Decimal(amount),
            status=status,
            currency=currency,
        )
    )


def test_turnover_by_month_and_year_match_hand_sums_and_skip_cancelled(db):
    c = _customer(db, None)
    other = _customer(db, None, "Other")
    _order(db, c, "1", date(2024, 11, 30), "100.10")
    _order(db, c, "2", date(2025, 4, 1), "200.20", "delivered")
    _order(db, c, "3", date(2025, 4, 30), "0.05", "shipped")
    _order(db, c, "4", date(2025, 4, 15), "999.99", "cancelled")
    _order(db, c, "5", date(2026, 3, 31), "1234.56", "confirmed")
    _order(db, c, "6", date(2026, 4, 1), "7.00")  # next month: not in a window ending in March
    _order(db, other, "7", date(2026, 3, 1), "50.00")
    db.commit()

    months = turnover_by_month(db, c.id, months=12, today=date(2026, 3, 15))
    assert len(months) == 12
    assert months[0] == ("2025-04", Decimal("200.25"))
    assert months[-1] == ("2026-03", Decimal("1234.56"))
    assert all(amount == Decimal("0.00") for _, amount in months[1:-1])
    assert turnover_by_month(db, c.id, months=17, today=date(2026, 3, 15))[0] == (
        "2024-11",
        Decimal("100.10"),
    )
    assert turnover_by_year(db, c.id) == [
        ("2024", Decimal("100.10")),
        ("2025", Decimal("200.25")),
        ("2026", Decimal("1241.56")),
    ]
    assert turnover_by_year(db, _customer(db, None, "No orders").id) == []
    assert revenue_by_customer(db) == {c.id: Decimal("1541.91"), other.id: Decimal("50.00")}
    assert revenue_by_customer(db, since=date(2026, 1, 1)) == {
        c.id: Decimal("1241.56"),
        other.id: Decimal("50.00"),
    }


def test_many_small_amounts_add_up_to_the_cent(db):
    c = _customer(db, None)
    for i in range(100):
        _order(db, c, f"N-{i}", date(2026, 1, 1 + i % 28), "0.10")
    db.commit()
    assert turnover_by_year(db, c.id) == [("2026", Decimal("10.00"))]


# --- who may see which ---------------------------------------------------------------------------


def test_agents_get_403_on_another_agents_orders(app, client, signed_in, make_user, db):
    me = signed_in("agent")
    other = make_user("agent")
    theirs = _customer(db, other, "Not yours")
    order = create_order(
        db,
        db.merge(other),
        db.get(Customer, theirs.id),
        {"contract_number": "T-1", "order_date": "2026-01-01", "lines": [line()]},
    )
    db.commit()
    assert client.get(f"/orders/{order.id}").status_code == 403
    assert client.get(f"/orders/{order.id}/edit").status_code == 403
    assert client.get(f"/customers/{theirs.id}/orders/new").status_code == 403
    assert _post(client, f"/orders/{order.id}/status", {"status": "confirmed"}).status_code == 403
    assert ">T-1<" not in client.get("/orders").get_data(as_text=True)
    mine = api_as(app, me)
    assert mine.get(f"/orders/{order.id}").status_code == 403
    assert mine.patch(f"/orders/{order.id}", json={"notes": "x"}).status_code == 403
    assert mine.delete(f"/orders/{order.id}").status_code == 403
    assert items(mine, "/orders") == []
    r = mine.post(
        "/orders",
        json={
            "customer_id": theirs.id,
            "contract_number": "T-2",
            "order_date": "2026-01-01",
            "lines": [line()],
        },
    )
    assert r.status_code == 403


# --- demo data -----------------------------------------------------------------------------------


def test_demo_sales_cover_every_stage_and_step_and_a_few_customers_buy_most(app, db, make_user):
    import random

    from hub.crm.sales.demo import demo_sales
    from hub.crm.sales.models import Opportunity
    from hub.crm.service.models import STEPS, Complaint

    staff = [make_user("director"), make_user("agent"), make_user("agent")]
    staff = [db.merge(u) for u in staff]
    for i in range(60):
        db.add(Customer(name=f"Demo {i}", owner_id=staff[1 + i % 2].id))
    db.commit()
    customers = list(db.scalars(sa.select(Customer).order_by(Customer.id)))
    demo_sales(db, random.Random(7), customers, staff)
    db.commit()

    stages = set(db.scalars(sa.select(Opportunity.stage)))
    assert stages == {"new", "qualified", "proposal", "negotiation", "won", "lost"}
    lost = db.scalars(sa.select(Opportunity).where(Opportunity.stage == "lost")).all()
    assert all(o.lost_reason and o.nurture_since for o in lost)
    won = db.scalars(sa.select(Opportunity).where(Opportunity.stage == "won")).all()
    assert all(o.customer.after_sale_since for o in won)
    assert set(db.scalars(sa.select(Complaint.step))) == set(STEPS)

    orders = db.scalars(sa.select(Order)).all()
    assert all(o.amount == sum(ln.amount for ln in o.lines) for o in orders)
    oldest = min(o.order_date for o in orders)
    assert (business_day(app) - oldest).days > 365
    assert all(o.ship_date for o in orders if o.status in ("shipped", "delivered"))
    revenue = sorted(revenue_by_customer(db).values(), reverse=True)
    top = revenue[: max(1, len(revenue) // 5)]
    assert sum(top) > sum(revenue) / 2  # the top fifth of buyers brings more than half


def test_the_customer_page_section_shows_turnover_and_records(app, db, make_user):
    from flask import g

    from hub.crm.sales.view_helpers import customer_sections
    from hub.crm.service.complaint_changes import create_complaint

    director = db.merge(make_user("director"))
    customer = _customer(db, director, "Oak <i>Field</i>")
    create_order(
        db,
        director,
        customer,
        {
            "contract_number": "<HT-1>",
            "order_date": business_day(app).isoformat(),
            "lines": [line(quantity="3", unit_price="1000.50")],
        },
    )
    create_complaint(db, director, customer, {"channel": "web", "content": "<script>x</script>"})
    db.commit()
    with app.test_request_context("/customers/1"):
        g.user = director
        (html,) = customer_sections(db, director, customer)
    assert "Turnover by year" in html and "3,001.50" in html
    assert "&lt;HT-1&gt;" in html and "<HT-1>" not in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert f"/customers/{customer.id}/opportunities/new" in html


def test_the_edit_page_replaces_lines_until_the_order_ships(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    order = create_order(
        db,
        db.merge(me),
        db.get(Customer, customer.id),
        {
            "contract_number": "E-1",
            "order_date": "2026-03-01",
            "lines": [line("Pump", "2", "100"), line("Hose", "1.5", "10")],
        },
    )
    db.commit()
    page = f"/orders/{order.id}/edit"
    form = client.get(page).get_data(as_text=True)
    assert 'name="lines-1-product" value="Hose"' in form and 'value="1.5"' in form
    r = _post(
        client,
        page,
        {
            "contract_number": "E-1A",
            "order_date": "2026-03-01",
            "currency": "CNY",
            "lines-0-product": "Pump",
            "lines-0-quantity": "3",
            "lines-0-unit_price": "100",
            "lines-1-product": "",
            "lines-1-quantity": "",
            "lines-1-unit_price": "",
        },
        page,
    )
    assert r.status_code == 302
    order = fresh(db, Order, order.id)
    assert order.contract_number == "E-1A" and order.amount == Decimal("300.00")
    assert [ln.product for ln in order.lines] == ["Pump"]

    order.status, order.ship_date = "shipped", date(2026, 3, 2)
    db.commit()
    assert "cannot change" in client.get(page).get_data(as_text=True)
    client_api = api_as(client.application, me)
    path = f"/orders/{order.id}"
    assert "cannot change" in changed(client_api, path, {"lines": [line()]}, status=409)["detail"]
    assert error_fields(changed(client_api, path, {"ship_date": None}, status=422))[0] == "ship_date"
    changed(client_api, path, {"notes": "Left dock 7"})
