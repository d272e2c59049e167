"""The due list, the director's team view and the morning digests, on the real database."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from hub.core import services
from hub.core.auth import User
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import Digest
from hub.crm.followups.records import log_follow_up
from hub.crm.followups.reminders import (
    build_digests,
    business_today,
    due_count,
    due_items,
    send_morning_digests,
    team_counts,
)
from hub.crm.service.models import Complaint
from tests.conftest import login

DAY = date(2026, 3, 2)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def today(app):
    with app.app_context():
        return business_today()


def customer(db, owner, name, cls="C", **kw):
    c = Customer(name=name, customer_class=cls, owner_id=owner.id if owner else None, **kw)
    db.add(c)
    db.flush()
    return c


def complaint(db, owner, cust, due_at, step="received"):
    row = Complaint(
        customer_id=cust.id,
        owner_id=owner.id,
        channel="call",
        content="The delivery arrived damaged.",
        step=step,
        step_due_at=due_at,
    )
    db.add(row)
    db.flush()
    return row


def at_noon(day):
    return datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)  # noon in Shanghai


def test_a_b_follow_up_without_a_date_is_due_three_days_later_and_not_before(
    app, ctx, db, make_user
):
    agent = db.get(User, make_user("agent").id)
    c = customer(db, agent, "华信科技", "B")
    log_follow_up(db, agent, c, "call", summary="Sent the price list", today=DAY)
    db.commit()
    assert c.next_contact_on == DAY + timedelta(days=3)

    for day in (DAY, DAY + timedelta(days=1), DAY + timedelta(days=2)):
        assert due_items(db, agent, day).contacts == [], day
        assert due_count(db, agent, day) == 0
    on_day = due_items(db, agent, DAY + timedelta(days=3))
    assert [e.customer_id for e in on_day.contacts] == [c.id]
    assert on_day.contacts[0].overdue_days == 0
    assert on_day.contacts[0].last_contact_at is not None
    later = due_items(db, agent, DAY + timedelta(days=5))
    assert later.contacts[0].overdue_days == 2
    assert later.overdue == 1
    assert due_count(db, agent, DAY + timedelta(days=3)) == 1


def test_the_due_page_shows_the_follow_up_on_the_third_day(app, client, db, signed_in, today):
    agent = db.get(User, signed_in("agent").id)
    c = customer(db, agent, "Redwood Foods Ltd.", "B")
    log_follow_up(db, agent, c, "call", today=today - timedelta(days=3))
    early = customer(db, agent, "Summit Supplies Inc.", "B")
    log_follow_up(db, agent, early, "call", today=today - timedelta(days=2))
    db.commit()
    body = client.get("/due").get_data(as_text=True)
    assert "Redwood Foods Ltd." in body
    assert f'href="/customers/{c.id}"' in body
    assert "Summit Supplies Inc." not in body  # due tomorrow, not today


def test_credit_reviews_and_overdue_complaints_are_on_the_list(app, client, db, signed_in, today):
    agent = db.get(User, signed_in("agent").id)
    review = customer(db, agent, "Oakfield Textiles", "A", next_credit_review=today)
    customer(db, agent, "Later Review Co.", "A", next_credit_review=today + timedelta(days=1))
    late = customer(db, agent, "Blue Harbor Trading", "C", next_contact_on=today - timedelta(4))
    upset = customer(db, agent, "Northwind Machinery", "B")
    open_late = complaint(db, agent, upset, at_noon(today - timedelta(days=2)))
    complaint(db, agent, upset, at_noon(today - timedelta(days=3)), step="followed_up")
    complaint(db, agent, upset, at_noon(today + timedelta(days=1)))
    db.commit()

    body = client.get("/due").get_data(as_text=True)
    assert "Oakfield Textiles" in body
    assert "Later Review Co." not in body
    assert "Blue Harbor Trading" in body
    assert "4 days overdue" in body
    assert "Northwind Machinery" in body
    assert "2 days overdue" in body

    with app.app_context():
        items = due_items(db, agent, today)
    assert [e.customer_id for e in items.credit_reviews] == [review.id]
    assert [e.customer_id for e in items.contacts] == [late.id]
    assert [e.complaint_id for e in items.complaints] == [open_late.id]
    assert items.totals == {"contacts": 1, "credit_reviews": 1, "complaints": 1,
                            "collections": 0}


def test_someone_elses_customers_and_complaints_stay_off_my_list(app, ctx, db, make_user):
    me = db.get(User, make_user("agent").id)
    other = db.get(User, make_user("agent").id)
    theirs = customer(db, other, "Not Mine Ltd.", next_contact_on=DAY, next_credit_review=DAY)
    complaint(db, other, theirs, at_noon(DAY - timedelta(days=1)))
    db.commit()
    assert due_items(db, me, DAY).total == 0
    assert due_items(db, other, DAY).total == 3


def test_a_director_sees_counts_per_rep_and_each_reps_list(
    app, client, db, signed_in, make_user, today
):
    director = signed_in("director")
    a1 = db.get(User, make_user("agent", name="Zhang Wei").id)
    a2 = db.get(User, make_user("agent", name="Lucas Meyer").id)
    customer(db, a1, "Due Today Co.", next_contact_on=today)
    customer(db, a1, "Overdue Co.", next_contact_on=today - timedelta(days=1))
    customer(db, a1, "Review Co.", next_credit_review=today - timedelta(days=10))
    customer(db, a1, "Tomorrow Co.", next_contact_on=today + timedelta(days=1))
    c2 = customer(db, a2, "Complaining Co.")
    complaint(db, a2, c2, at_noon(today - timedelta(days=1)))
    db.commit()

    with app.app_context():
        counts = {r.user.id: r for r in team_counts(db, today)}
    assert (counts[a1.id].due, counts[a1.id].overdue) == (2, 1)
    assert (counts[a1.id].credit_reviews, counts[a1.id].complaints) == (1, 0)
    assert (counts[a2.id].due, counts[a2.id].complaints) == (0, 1)
    assert director.id not in counts

    body = client.get("/due/team").get_data(as_text=True)
    assert f'href="/due?user={a1.id}"' in body and "Zhang Wei" in body
    assert f'href="/due?user={a2.id}"' in body and "Lucas Meyer" in body
    rep_list = client.get(f"/due?user={a1.id}")
    assert rep_list.status_code == 200
    text = rep_list.get_data(as_text=True)
    assert "Due today for Zhang Wei" in text
    assert "Overdue Co." in text and "Tomorrow Co." not in text


def test_an_agent_may_not_read_another_reps_list_or_the_team(client, signed_in, make_user):
    me = signed_in("agent")
    other = make_user("agent")
    assert client.get(f"/due?user={other.id}").status_code == 403
    assert client.get("/due/team").status_code == 403
    assert client.get(f"/due?user={me.id}").status_code == 200
    assert client.get("/due?user=abc").status_code == 422


def test_a_director_asking_for_an_unknown_rep_gets_404(client, signed_in):
    signed_in("director")
    assert client.get("/due?user=999999").status_code == 404


def test_digests_are_written_once_per_day_per_rep(app, ctx, db, make_user):
    a1 = db.get(User, make_user("agent").id)
    a2 = db.get(User, make_user("agent").id)
    idle = db.get(User, make_user("agent").id)
    gone = db.get(User, make_user("agent").id)
    gone.active = False
    customer(db, a1, "One", next_contact_on=DAY)
    customer(db, a1, "Two", next_credit_review=DAY - timedelta(days=1))
    customer(db, a2, "Three", next_contact_on=DAY - timedelta(days=3))
    customer(db, idle, "Nothing due", next_contact_on=DAY + timedelta(days=5))
    customer(db, gone, "Inactive owner", next_contact_on=DAY)
    db.commit()

    assert build_digests(db, DAY) == 2
    db.commit()
    assert build_digests(db, DAY) == 0  # a re-run writes nothing twice
    db.commit()
    rows = db.scalars(sa.select(Digest).order_by(Digest.user_id)).all()
    assert [(d.user_id, d.for_date) for d in rows] == [(a1.id, DAY), (a2.id, DAY)]
    first = rows[0].content
    assert first["for_date"] == DAY.isoformat()
    assert first["totals"] == {"contacts": 1, "credit_reviews": 1, "complaints": 0,
                                "collections": 0}
    assert first["contacts"][0]["customer_name"] == "One"
    assert build_digests(db, DAY + timedelta(days=1)) == 2  # the next morning, new ones


def test_the_morning_job_runs_on_a_real_worker_and_the_digest_is_shown(
    app, client, db, signed_in, make_user, run_jobs, today
):
    me = db.get(User, signed_in("agent").id)
    other = db.get(User, make_user("agent").id)
    customer(db, me, "Silverline Electronics", "A", next_contact_on=today)
    customer(db, me, "<script>alert(1)</script>", next_contact_on=today)
    customer(db, other, "Theirs", next_contact_on=today)
    db.commit()

    services.queue("default", services.redis(app)).enqueue(send_morning_digests)
    assert run_jobs()
    db.expire_all()
    mine = db.scalar(sa.select(Digest).where(Digest.user_id == me.id))
    assert mine is not None and mine.for_date == today
    theirs = db.scalar(sa.select(Digest).where(Digest.user_id == other.id))

    listing = client.get("/digests").get_data(as_text=True)
    assert f'href="/digests/{mine.id}"' in listing
    shown = client.get(f"/digests/{mine.id}").get_data(as_text=True)
    assert "Silverline Electronics" in shown
    assert "<script>alert(1)</script>" not in shown
    assert "&lt;script&gt;" in shown
    assert client.get(f"/digests/{theirs.id}").status_code == 404


def test_digests_are_listed_newest_first(app, client, db, signed_in):
    me = signed_in("agent")
    for day in (DAY, DAY + timedelta(days=2), DAY + timedelta(days=1)):
        content = {"for_date": day.isoformat(), "totals": {"contacts": 0}}
        db.add(Digest(user_id=me.id, for_date=day, content=content))
    db.commit()
    body = client.get("/digests").get_data(as_text=True)
    # each day as every page writes a date in English: "Mar 9, 2026"
    days = [f"{d:%b} {d.day}, {d.year}" for d in (DAY + timedelta(days=2), DAY + timedelta(days=1), DAY)]
    positions = [body.index(d) for d in days]
    assert positions == sorted(positions)


def test_the_due_page_needs_a_sign_in(client):
    assert client.get("/due").status_code == 302
    login(client, "nobody@example.com")
    assert client.get("/digests").status_code == 302


def test_a_customer_without_a_number_is_called_on_its_first_contacts(app, ctx, db, make_user):
    agent = make_user("agent")
    imported = customer(db, agent, "深圳华强电子有限公司", next_contact_on=DAY)
    imported.contacts += [Contact(name="无号码"), Contact(name="张三", phone="+8613800138000")]
    customer(db, agent, "杭州贸易", next_contact_on=DAY, phone="+8657188886666")
    db.flush()
    phones = {e.customer_name: e.phone for e in due_items(db, agent, DAY).contacts}
    assert phones == {"深圳华强电子有限公司": "+8613800138000", "杭州贸易": "+8657188886666"}
