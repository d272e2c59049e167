"""Opportunities: the board, stage moves on the timeline, lost and stalled deals in the nurture
pool, won deals into after-sale care, and who may see which, through pages and the API."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from hub.core import services
from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from hub.crm.followups.records import log_follow_up
from hub.crm.rules import update_rules
from hub.crm.sales.models import Opportunity
from hub.crm.sales.opportunity_pipeline import enqueue_nurture_job, return_stalled_to_nurture
from tests.conftest import csrf_token, login
from tests.sales_api_helpers import (
    all_pages,
    api_as,
    changed,
    created,
    error_fields,
    fresh,
    items,
)


def _customer(db, owner, name="华信科技有限公司", **kw):
    customer = Customer(name=name, owner_id=owner.id if owner else None, **kw)
    db.add(customer)
    db.commit()
    return customer


def _follow_ups(db, opportunity_id):
    db.expire_all()
    return db.scalars(
        sa.select(FollowUp).where(FollowUp.opportunity_id == opportunity_id).order_by(FollowUp.id)
    ).all()


def _post(client, path, data, page=None):
    data = {**data, "csrf_token": csrf_token(client, page or "/opportunities")}
    return client.post(path, data=data)


def _open(client, customer_id, **fields):
    r = _post(client, f"/customers/{customer_id}/opportunities/new", {"title": "Deal", **fields})
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


# --- pages ---------------------------------------------------------------------------------------


def test_a_card_moves_along_the_board_and_each_move_is_on_the_timeline(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me, next_contact_on=date(2030, 1, 1))
    opp_id = _open(
        client,
        customer.id,
        title="年度采购 Annual supply",
        amount="120000",
        currency="cny",
        expected_close="2030-06-30",
        probability="40",
    )
    opp = fresh(db, Opportunity, opp_id)
    assert (opp.stage, opp.currency, str(opp.amount)) == ("new", "CNY", "120000.00")
    assert opp.owner_id == me.id  # the customer's owner by default

    board = client.get("/opportunities/board").get_data(as_text=True)
    assert "年度采购 Annual supply" in board and "华信科技有限公司" in board
    assert "CNY 120,000.00" in board and "Close by Jun 30, 2030" in board

    r = _post(
        client,
        f"/opportunities/{opp_id}/stage",
        {"stage": "qualified", "from": "board", "next": "/opportunities/board"},
        "/opportunities/board",
    )
    assert r.status_code == 302 and r.headers["Location"] == "/opportunities/board"
    _post(client, f"/opportunities/{opp_id}/stage", {"stage": "proposal"})
    _post(client, f"/opportunities/{opp_id}/stage", {"stage": "qualified"})  # back one

    records = _follow_ups(db, opp_id)
    assert [r.status for r in records] == [None, "qualified", "proposal", "qualified"]
    moves = records[1:]
    assert all(r.channel == "system" and r.direction == "internal" for r in moves)
    assert all(r.user_id == me.id and r.next_contact_on is None for r in moves)
    assert "from New to Qualified" in moves[0].summary
    # A system record leaves the rep's next contact date alone.
    assert fresh(db, Customer, customer.id).next_contact_on == date(2030, 1, 1)
    history = client.get(f"/opportunities/{opp_id}").get_data(as_text=True)
    assert "from Proposal to Qualified" in history


def test_lost_needs_a_reason_and_lands_in_the_nurture_pool(app, client, signed_in, make_user, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    opp_id = _open(client, customer.id, title="Cold storage")

    r = _post(
        client,
        f"/opportunities/{opp_id}/stage",
        {"stage": "lost", "from": "board", "lost_reason": "  "},
        "/opportunities/board",
    )
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert f'id="lost_reason-{opp_id}-error"' in body
    assert "Say why the opportunity was lost." in body
    assert fresh(db, Opportunity, opp_id).stage == "new"

    r = _post(
        client, f"/opportunities/{opp_id}/stage", {"stage": "lost", "lost_reason": "Price too high"}
    )
    assert r.status_code == 302
    opp = fresh(db, Opportunity, opp_id)
    assert opp.stage == "lost" and opp.lost_reason == "Price too high"
    assert opp.nurture_since is not None and opp.closed_at is not None
    assert opp.nurture_reason == "Lost: Price too high"
    assert "Reason: Price too high" in _follow_ups(db, opp_id)[-1].summary
    # A lost deal does not move again from the board; it comes back through the pool.
    assert _post(client, f"/opportunities/{opp_id}/stage", {"stage": "new"}).status_code == 409
    assert client.get("/nurture").status_code == 403  # the pool is the specialists'

    specialist = app.test_client()
    login(specialist, make_user("specialist").email)
    pool = specialist.get("/nurture").get_data(as_text=True)
    assert "Cold storage" in pool and "Lost: Price too high" in pool and "0 days" in pool
    token = csrf_token(specialist, "/nurture")
    r = specialist.post(
        f"/nurture/{opp_id}/re-engage", data={"csrf_token": token, "note": "New budget in Q3"}
    )
    assert r.status_code == 302
    opp = fresh(db, Opportunity, opp_id)
    assert opp.nurture_since is None and opp.stage == "new" and opp.closed_at is None
    last = _follow_ups(db, opp_id)[-1]
    assert "re-engaged" in last.summary and "New budget in Q3" in last.summary
    after = specialist.get("/nurture").get_data(as_text=True)
    assert "Cold storage is out of the nurture pool." in after  # the flash
    assert "The nurture pool is empty." in after


def test_list_searches_filters_sorts_and_escapes(client, signed_in, make_user, db):
    me = signed_in("director")
    rep = make_user("agent", name="Rep Two")
    a = _customer(db, me, name="Alpha Foods")
    b = _customer(db, rep, name="Beta <b>Bold</b>")
    _open(client, a.id, title="Small deal", amount="100")
    _open(client, b.id, title="Big deal", amount="9000", owner_id=str(rep.id))
    _open(client, a.id, title="Proposal deal", stage="proposal")

    page = client.get("/opportunities?q=beta").get_data(as_text=True)
    assert "Big deal" in page and "Small deal" not in page
    assert "Beta &lt;b&gt;Bold&lt;/b&gt;" in page and "<b>Bold</b>" not in page
    page = client.get("/opportunities?stage=proposal").get_data(as_text=True)
    assert "Proposal deal" in page and "Big deal" not in page
    page = client.get(f"/opportunities?owner={rep.id}").get_data(as_text=True)
    assert "Big deal" in page and "Small deal" not in page and "Proposal deal" not in page
    page = client.get("/opportunities?sort=-amount").get_data(as_text=True)
    assert page.index("Big deal") < page.index("Small deal")
    page = client.get("/opportunities?sort=amount").get_data(as_text=True)
    assert page.index("Small deal") < page.index("Big deal")
    _open(client, a.id, title="Qualified deal", stage="qualified")
    page = client.get("/opportunities?sort=stage").get_data(as_text=True)
    assert page.index("Qualified deal") < page.index("Proposal deal")  # pipeline order, not a-z
    picker = client.get("/opportunities?pick=alpha").get_data(as_text=True)
    assert f"/customers/{a.id}/opportunities/new" in picker


def test_a_bad_form_is_shown_again_with_each_message_by_its_field(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    r = _post(
        client,
        f"/customers/{customer.id}/opportunities/new",
        {
            "title": "",
            "amount": "lots",
            "probability": "120",
            "currency": "yuan",
            "stage": "dreaming",
        },
    )
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    for field in ("title", "amount", "probability", "currency"):
        assert f'id="{field}-error"' in body, field
    assert 'value="lots"' in body  # nothing typed is lost
    assert db.scalar(sa.select(sa.func.count()).select_from(Opportunity)) == 0


def test_agents_get_403_on_another_agents_opportunities(app, client, signed_in, make_user, db):
    signed_in("agent")
    other = make_user("agent")
    theirs = _customer(db, other, name="Not yours")
    opp = Opportunity(customer_id=theirs.id, title="Their deal", owner_id=other.id)
    db.add(opp)
    db.commit()
    assert client.get(f"/opportunities/{opp.id}").status_code == 403
    assert client.get(f"/customers/{theirs.id}/opportunities/new").status_code == 403
    assert (
        _post(client, f"/opportunities/{opp.id}/stage", {"stage": "qualified"}).status_code == 403
    )
    assert "Their deal" not in client.get("/opportunities").get_data(as_text=True)
    assert "Their deal" not in client.get("/opportunities/board").get_data(as_text=True)
    agent_api = api_as(app, make_user("agent"))
    assert agent_api.get(f"/opportunities/{opp.id}").status_code == 403
    assert agent_api.patch(f"/opportunities/{opp.id}", json={"title": "x"}).status_code == 403
    assert agent_api.get("/opportunities").json["items"] == []


# --- the stalled job -----------------------------------------------------------------------------


def test_the_stalled_job_moves_exactly_the_stalled_ones(app, db, make_user, run_jobs):
    rep = make_user("agent")
    today = date(2026, 3, 31)
    update_rules(db, {"nurture_after_days": 30})
    noon = lambda d: datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=12)  # noqa: E731
    old = noon(today - timedelta(days=60))

    def deal(title, created=old, **kw):
        customer = _customer(db, rep, name=f"Customer of {title}")
        opp = Opportunity(customer=customer, title=title, created_at=created, **kw)
        db.add(opp)
        db.flush()
        return opp

    def follow(opp, days_ago, channel="call", on_deal=True):
        log_follow_up(
            db,
            rep,
            opp.customer,
            channel,
            opportunity_id=opp.id if on_deal else None,
            occurred_at=noon(today - timedelta(days=days_ago)),
            sets_next_contact=False,
        )

    never = deal("never followed")
    exactly = deal("last followed 30 days ago")
    follow(exactly, 30)
    recent = deal("followed 29 days ago")
    follow(recent, 29)
    customer_called = deal("customer called last week")
    follow(customer_called, 7, on_deal=False)
    system_only = deal("only a campaign message")
    follow(system_only, 3, channel="system", on_deal=False)
    moved = deal("moved a stage yesterday")
    follow(moved, 1, channel="system")
    deal("new this month", created=noon(today - timedelta(days=10)))
    deal("won long ago", stage="won")
    deal("lost long ago", stage="lost")
    already = deal("already in the pool", nurture_since=old, nurture_reason="earlier")
    db.commit()

    assert return_stalled_to_nurture(db, today) == 3
    db.commit()
    pooled = db.scalars(
        sa.select(Opportunity.title).where(Opportunity.nurture_since.is_not(None))
    ).all()
    assert sorted(pooled) == sorted([never.title, exactly.title, system_only.title, already.title])
    assert fresh(db, Opportunity, never.id).nurture_reason == "No follow-up for 30 days"
    assert fresh(db, Opportunity, already.id).nurture_reason == "earlier"
    assert "nurture pool" in _follow_ups(db, never.id)[-1].summary
    assert return_stalled_to_nurture(db, today) == 0  # once in the pool, not again

    # The same through a real worker, as the scheduler would run it: the next day one more stalls.
    db.commit()
    job = services.queue("default", services.redis(app)).enqueue(
        "hub.crm.sales.opportunity_pipeline.nurture_job", (today + timedelta(days=1)).isoformat()
    )
    assert run_jobs()
    job.refresh()
    assert job.get_status() == "finished", job.latest_result().exc_string
    assert job.return_value() == 1
    assert fresh(db, Opportunity, recent.id).nurture_since is not None
    assert enqueue_nurture_job(services.redis(app))  # the hook the schedule calls


# --- the API ---------------------------------------------------------------------------------------


def test_won_closes_the_deal_and_starts_after_sale_care(director_api, db):
    client, me = director_api
    lead = _customer(db, me, name="Lead Ltd", stage="lead")
    opp = created(
        client, "/opportunities", {"customer_id": lead.id, "title": "First order", "amount": 5000.5}
    )
    assert opp["amount"] == "5000.50" and opp["owner_id"] == me.id
    opp_id = opp["id"]
    won = changed(client, f"/opportunities/{opp_id}", {"stage": "won"})
    assert won["stage"] == "won" and won["closed_at"]
    customer = fresh(db, Customer, lead.id)
    assert customer.stage == "customer"
    assert customer.after_sale_since is not None and customer.converted_at is not None
    assert _follow_ups(db, opp_id)[-1].status == "won"
    again = changed(client, f"/opportunities/{opp_id}", {"stage": "negotiation"}, status=409)
    assert "won" in again["detail"]


def test_api_lost_needs_a_reason_and_every_bad_field_is_named(director_api, db):
    client, me = director_api
    customer = _customer(db, me)
    r = client.post(
        "/opportunities",
        json={"title": "", "amount": "abc", "probability": -1, "expected_close": "soon"},
    )
    assert r.status_code == 422 and r.content_type == "application/problem+json"
    assert set(error_fields(r)) == {
        "customer_id",
        "title",
        "amount",
        "probability",
        "expected_close",
    }
    assert client.post("/opportunities", json={"titel": "typo"}).json["errors"] == [
        {"field": "titel", "message": "Unknown field."}
    ]
    opp = created(client, "/opportunities", {"customer_id": customer.id, "title": "Deal"})
    path = f"/opportunities/{opp['id']}"
    assert error_fields(changed(client, path, {"stage": "lost"}, status=422))[0] == "lost_reason"
    assert error_fields(changed(client, path, {"stage": "nowhere"}, status=422))[0] == "stage"
    lost = changed(client, path, {"stage": "lost", "lost_reason": "Went elsewhere"})
    assert lost["nurture_reason"] == "Lost: Went elsewhere"
    pool = items(client, "/opportunities?nurture=true")
    assert [o["id"] for o in pool] == [opp["id"]]
    assert error_fields(client.get("/opportunities?nurture=maybe"))[0] == "nurture"


def test_api_lists_page_and_only_directors_delete(app, director_api, make_user, db):
    client, me = director_api
    customer = _customer(db, me)
    for i in range(5):
        created(client, "/opportunities", {"customer_id": customer.id, "title": f"Deal {i}"})
    seen = [o["title"] for o in all_pages(client, "/opportunities?limit=2&q=deal")]
    assert seen == [f"Deal {i}" for i in range(5)]
    assert items(client, "/opportunities?stage=won") == []
    assert client.get("/opportunities?owner_id=x").status_code == 422

    first = items(client, "/opportunities")[0]["id"]
    rep = make_user("agent")
    with_rep = _customer(db, rep, name="Rep's")
    rep_api = api_as(app, rep)
    own = created(rep_api, "/opportunities", {"customer_id": with_rep.id, "title": "Mine"})
    assert rep_api.delete(f"/opportunities/{own['id']}").status_code == 403
    assert client.delete(f"/opportunities/{first}").status_code == 204
    assert client.get(f"/opportunities/{first}").status_code == 404


def test_the_opportunity_page_edits_its_fields(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    opp_id = _open(client, customer.id, title="Pumps", amount="1000")
    page = f"/opportunities/{opp_id}"
    form = client.get(page).get_data(as_text=True)
    assert 'value="Pumps"' in form and 'value="1000.00"' in form
    r = _post(
        client, page, {"title": "Pumps and valves", "amount": "2500", "currency": "usd"}, page
    )
    assert r.status_code == 302
    opp = fresh(db, Opportunity, opp_id)
    assert (opp.title, str(opp.amount), opp.currency) == ("Pumps and valves", "2500.00", "USD")
    assert "Saved: amount, currency, title." in client.get(page).get_data(as_text=True)
    r = _post(client, page, {"title": "Pumps", "lost_reason": "why?"}, page)
    assert r.status_code == 422 and 'id="lost_reason-error"' in r.get_data(as_text=True)
    r = _post(client, page, {"title": "", "probability": "x"}, page)
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert 'id="title-error"' in body and 'id="probability-error"' in body


def test_a_reason_belongs_to_a_lost_deal_only(director_api, db):
    client, me = director_api
    customer = _customer(db, me)
    opp = created(client, "/opportunities", {"customer_id": customer.id, "title": "Deal"})
    path = f"/opportunities/{opp['id']}"
    r = changed(client, path, {"lost_reason": "Too dear"}, status=422)
    assert error_fields(r)[0] == "lost_reason"
    changed(client, path, {"stage": "lost", "lost_reason": "Too dear"})
    r = changed(client, path, {"lost_reason": "Went with a rival"})
    assert r["lost_reason"] == "Went with a rival"
