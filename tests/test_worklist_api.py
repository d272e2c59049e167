"""The work list, the change history and the A/B/C rules through /api/v1."""

from datetime import date, timedelta
from decimal import Decimal

from hub.core.clock import business_today
from hub.crm.customers.models import Customer
from hub.crm.sales.models import Order
from tests.crm_helpers import api, token_for


def test_due_list_follows_the_cadence_and_is_private_to_its_rep(app, make_user, db):
    agent, other = make_user("agent"), make_user("agent")
    me = api(app.test_client(), token_for(app, agent))
    c = me.post("/customers", json={"name": "B Co", "customer_class": "B"}).json
    me.post("/follow-ups", json={"customer_id": c["id"], "channel": "call"})
    assert me.get("/due").json["contacts"] == []  # due in 3 days, not today
    with app.app_context():  # the business's day (HUB_TIMEZONE), not the machine's
        yesterday = business_today() - timedelta(days=1)
    db.get(Customer, c["id"]).next_contact_on = yesterday
    db.commit()
    due = me.get("/due").json
    assert [(e["customer_id"], e["overdue_days"]) for e in due["contacts"]] == [(c["id"], 1)]
    assert me.get(f"/due?user_id={other.id}").status_code == 403
    assert me.get("/due/team").status_code == 403
    director = api(app.test_client(), token_for(app, make_user("director")))
    assert director.get(f"/due?user_id={agent.id}").json["totals"]["contacts"] == 1
    team = {r["user_id"]: r for r in director.get("/due/team").json}
    assert team[agent.id]["overdue"] == 1


def test_history_shows_before_and_after(app, make_user):
    director = api(app.test_client(), token_for(app, make_user("director")))
    c = director.post("/customers", json={"name": "Old"}).json
    director.patch(f"/customers/{c['id']}", json={"name": "New"})
    history = director.get(f"/customers/{c['id']}/history").json
    assert history[0]["action"] == "update" and history[0]["changes"] == {"name": ["Old", "New"]}
    assert history[-1]["action"] == "create"


def test_revenue_rule_suggests_exactly_the_top_tenth_as_a_and_applies_it(app, make_user, db):
    director_user = make_user("director")
    director = api(app.test_client(), token_for(app, director_user))
    customers = [
        Customer(name=f"C{i:02d}", customer_class="C", owner_id=director_user.id) for i in range(20)
    ]
    db.add_all(customers)
    db.flush()
    # 2 of 20 customers (10%) make 70% of revenue: 630 each of 1800; the other 18 make 30 each.
    amounts = [Decimal(630), Decimal(630)] + [Decimal(30)] * 18
    for i, (c, amount) in enumerate(zip(customers, amounts, strict=True)):
        db.add(
            Order(
                customer_id=c.id,
                contract_number=f"K-{i}",
                amount=amount,
                order_date=date(2026, 1, 10),
                status="delivered",
            )
        )
    db.commit()
    got = director.get("/classification?rule=revenue").json
    a = sorted(ch["name"] for ch in got["changes"] if ch["suggested"] == "A")
    assert a == ["C00", "C01"]
    applied = director.post("/classification/apply", json={"rule": "revenue"})
    assert applied.json["changed"] == len(got["changes"])
    assert director.get(f"/customers/{customers[0].id}").json["customer_class"] == "A"
    assert director.get("/classification?rule=revenue").json["changes"] == []
    bad = director.get("/classification?rule=astrology")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "rule"
    agent = api(app.test_client(), token_for(app, make_user("agent")))
    assert agent.post("/classification/apply", json={"rule": "revenue"}).status_code == 403
