"""Collection: an open amount puts its customer on the owner's due list on its due date, after a
call it comes back after the collection cadence, after a promise the day after the promised date
(a broken promise shows as such, with no job); a disputed amount is not chased; every contact is
on the timeline with its receivable and audited; bad input names its field and changes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.core.refusals import Conflict, Forbidden, ValidationError
from hub.crm.customers.models import AuditEntry, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.followups.reminders import due_items, team_counts
from hub.crm.rules import update_rules
from hub.crm.sales.collection import record_collection
from hub.crm.sales.receivables import raise_receivable

DUE = date(2026, 7, 1)


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def _owed(db, rep, amount="1000", due=DUE, name="Northwind Trading"):
    customer = Customer(name=name, owner_id=rep.id)
    db.add(customer)
    db.flush()
    receivable = raise_receivable(db, rep, customer, {
        "amount": amount, "raised_on": min(due, date(2026, 6, 1)).isoformat(),
        "due_on": due.isoformat()},
        today=date(2026, 6, 1))
    return customer, receivable


def _collections(db, rep, today):
    return due_items(db, rep, today).collections


def _errors(excinfo) -> dict[str, str]:
    return {e.field: e.message for e in excinfo.value.errors}


def test_an_open_amount_comes_on_the_list_on_its_due_date_and_after_the_cadence(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    customer, receivable = _owed(db, rep)
    assert _collections(db, rep, date(2026, 6, 30)) == []
    [entry] = _collections(db, rep, DUE)
    assert (entry.kind, entry.customer_id, entry.overdue_amounts) == ("collection", customer.id, {})
    later = date(2026, 7, 11)
    [entry] = _collections(db, rep, later)
    assert entry.overdue_amounts == {"CNY": "1000.00"}
    assert entry.oldest_overdue_days == 10
    assert not entry.promise_broken
    assert due_items(db, rep, later).totals["collections"] == 1

    record_collection(db, rep, receivable, {"kind": "call", "note": "Will check with finance"},
                      today=later)
    assert receivable.next_chase_on == date(2026, 7, 18)  # the default cadence, 7 days
    assert _collections(db, rep, date(2026, 7, 17)) == []
    assert len(_collections(db, rep, date(2026, 7, 18))) == 1
    [counts] = [r for r in team_counts(db, date(2026, 7, 18)) if r.user.id == rep.id]
    assert counts.collections == 1

    update_rules(db, {"collection_cadence_days": 3})
    record_collection(db, rep, receivable, {"kind": "call", "note": "No answer"},
                      today=date(2026, 7, 18))
    assert receivable.next_chase_on == date(2026, 7, 21)
    call = db.scalars(sa.select(FollowUp).where(
        FollowUp.receivable_id == receivable.id, FollowUp.channel == "call")).first()
    assert call.summary == "Collection call about CNY 1000.00 outstanding: Will check with finance"
    actions = db.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.entity == "receivable", AuditEntry.entity_id == receivable.id)).all()
    assert actions.count("call") == 2


def test_a_broken_promise_comes_back_the_day_after_without_a_job(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    _customer, receivable = _owed(db, rep)
    today = date(2026, 7, 5)
    record_collection(db, rep, receivable, {
        "kind": "promise", "promised_on": "2026-07-10", "promised_amount": "600"}, today=today)
    assert (receivable.promised_on, receivable.promised_amount) == (date(2026, 7, 10), Decimal("600"))
    assert receivable.next_chase_on == date(2026, 7, 11)
    assert _collections(db, rep, date(2026, 7, 10)) == []
    [entry] = _collections(db, rep, date(2026, 7, 11))
    assert entry.promise_broken
    summary = db.scalars(sa.select(FollowUp.summary).where(
        FollowUp.receivable_id == receivable.id, FollowUp.status == "promise")).one()
    assert summary == "Promise to pay CNY 600.00 by 2026-07-10."


def test_bad_promises_name_their_field_and_change_nothing(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    _customer, receivable = _owed(db, rep)
    today = date(2026, 7, 5)
    with pytest.raises(ValidationError) as past:
        record_collection(db, rep, receivable, {
            "kind": "promise", "promised_on": "2026-07-04", "promised_amount": "1000.01"},
            today=today)
    assert _errors(past) == {"promised_on": "The date is in the past.",
                             "promised_amount": "More than is owed: CNY 1000.00 is left to pay."}
    with pytest.raises(ValidationError) as missing:
        record_collection(db, rep, receivable, {"kind": "promise"}, today=today)
    assert _errors(missing) == {"promised_on": "This field is required."}
    with pytest.raises(ValidationError) as unknown:
        record_collection(db, rep, receivable, {"kind": "visit", "when": "now"}, today=today)
    assert set(_errors(unknown)) == {"when"}
    with pytest.raises(ValidationError) as kind:
        record_collection(db, rep, receivable, {"kind": "visit"}, today=today)
    assert set(_errors(kind)) == {"kind"}
    with pytest.raises(ValidationError) as call:
        record_collection(db, rep, receivable, {"kind": "call", "note": "  "}, today=today)
    assert _errors(call) == {"note": "This field is required."}
    assert (receivable.promised_on, receivable.next_chase_on) == (None, DUE)
    assert db.scalar(sa.select(sa.func.count(FollowUp.id)).where(
        FollowUp.receivable_id == receivable.id, FollowUp.status != "open")) == 0


def test_a_disputed_amount_is_not_chased_until_the_dispute_is_resolved(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    _customer, receivable = _owed(db, rep)
    today = date(2026, 7, 5)
    with pytest.raises(ValidationError) as no_reason:
        record_collection(db, rep, receivable, {"kind": "dispute"}, today=today)
    assert _errors(no_reason) == {"reason": "This field is required."}
    with pytest.raises(Conflict):
        record_collection(db, rep, receivable, {"kind": "resolve_dispute", "note": "x"}, today=today)
    record_collection(db, rep, receivable, {"kind": "dispute", "reason": "Two crates damaged"},
                      today=today)
    assert receivable.disputed and receivable.dispute_reason == "Two crates damaged"
    assert _collections(db, rep, today) == []
    assert due_items(db, rep, today).totals["collections"] == 0
    with pytest.raises(Conflict):
        record_collection(db, rep, receivable, {"kind": "dispute", "reason": "again"}, today=today)
    record_collection(db, rep, receivable, {"kind": "resolve_dispute", "note": "Credit note sent"},
                      today=today)
    assert not receivable.disputed
    assert receivable.next_chase_on == date(2026, 7, 12)
    assert len(_collections(db, rep, date(2026, 7, 12))) == 1


def test_only_who_may_change_the_customer_records_collection(ctx, db, make_user):
    rep = db.merge(make_user("agent"))
    other = db.merge(make_user("agent"))
    specialist = db.merge(make_user("specialist"))
    director = db.merge(make_user("director"))
    _customer, receivable = _owed(db, rep)
    for who in (other, specialist):
        with pytest.raises(Forbidden):
            record_collection(db, who, receivable, {"kind": "call", "note": "hi"},
                              today=date(2026, 7, 5))
    record_collection(db, director, receivable, {"kind": "call", "note": "Director called"},
                      today=date(2026, 7, 5))
    assert _collections(db, other, date(2026, 7, 20)) == []


def test_the_due_page_shows_what_to_collect_and_a_broken_promise(app, client, make_user, db):
    import time_machine

    from tests.conftest import login

    rep = make_user("agent")
    with app.test_request_context():
        _customer, receivable = _owed(db, db.merge(rep))
        record_collection(db, db.merge(rep), receivable, {
            "kind": "promise", "promised_on": "2026-07-10"}, today=date(2026, 7, 5))
        db.commit()
    with time_machine.travel("2026-07-11T04:00:00+00:00", tick=False):
        login(client, rep.email)
        page = client.get("/due").get_data(as_text=True)
        api_list = client.get("/digests").status_code
    assert "Amounts to collect" in page and "Northwind Trading" in page
    assert "CNY 1000.00" in page and "oldest 10 days overdue" in page
    assert "Promise broken" in page
    assert api_list == 200


def test_the_daily_job_opens_credit_events_through_a_real_worker(app, db, make_user, redis_conn):
    from hub.crm.sales.receivable_models import CreditEvent
    from hub.runtime.schedule import PERIODIC, enqueue_due
    from tests.conftest import work

    rep = db.merge(make_user("agent"))
    with app.test_request_context():
        customer, _receivable = _owed(db, rep, due=date(2020, 1, 1))
        db.commit()
    job = tuple(p for p in PERIODIC if p.name == "credit-events")
    assert job and job[0].at_hour == 7
    redis_conn.delete(*redis_conn.keys("hub:schedule:credit-events:*") or ["none"])
    from zoneinfo import ZoneInfo

    morning = 1_900_030_000.0  # 10:06 in Shanghai, past the job's 07:00
    assert enqueue_due(redis_conn, now=morning, periodic=job, tz=ZoneInfo("Asia/Shanghai")) == [
        "credit-events"]
    work(app)
    db.expire_all()
    [event] = db.scalars(sa.select(CreditEvent).where(CreditEvent.customer_id == customer.id))
    assert event.trigger == "overdue"
    assert event.reason == "An amount has been overdue more than 60 days."
