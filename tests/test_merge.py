"""Merging two customers: values picked per field, every related record moved, audit and
timeline, and undo restoring both exactly; likely duplicates found, queued and reviewed."""

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from hub.channels.models import Message
from hub.core import db as hubdb
from hub.core.auth import User
from hub.core.refusals import Conflict, Forbidden, ValidationError
from hub.crm.customers.duplicate_models import CustomerMerge, DuplicateCandidate
from hub.crm.customers.duplicates import find_likely_duplicates, find_new_duplicates
from hub.crm.customers.merge import customer_references, merge_customers
from hub.crm.customers.merge_undo import undo_merge
from hub.crm.customers.models import (
    Assignment,
    AuditEntry,
    Contact,
    Customer,
    CustomField,
    CustomFieldValue,
    Tag,
    customer_tags,
)
from hub.crm.followups.models import FollowUp
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Opportunity, Order
from hub.crm.service.models import Complaint

RELATED = (Contact, FollowUp, Order, Opportunity, Complaint, Message, Assignment)


def _customer(s, owner, name, n, **kw):
    c = Customer(name=name, owner_id=owner.id, **kw)
    s.add(c)
    s.flush()
    contact = Contact(customer_id=c.id, name=f"联系人{n}", phone=f"+86138001380{n:02d}")
    s.add(contact)
    s.flush()
    log_follow_up(s, owner, c, "call", f"call {n}", contact_id=contact.id)
    s.add_all(
        [
            Order(customer_id=c.id, contract_number=f"HT-{n}", order_date=date(2026, 3, n)),
            Opportunity(customer_id=c.id, title=f"deal {n}", amount=Decimal("1000.50")),
            Complaint(customer_id=c.id, contact_id=contact.id, channel="call", content=f"late {n}"),
            Message(
                channel="sms", customer_id=c.id, contact_id=contact.id, to_address=contact.phone
            ),
            Assignment(customer_id=c.id, to_user_id=owner.id, reason="import"),
        ]
    )
    return c


def _state(s, *ids):
    """Everything about these customers, as rows: their columns and every related row."""
    state = {}
    for cid in ids:
        row = s.execute(sa.select(Customer.__table__).where(Customer.id == cid)).one()
        related = {
            m.__tablename__: sorted(
                tuple(r) for r in s.execute(sa.select(m.__table__).where(m.customer_id == cid))
            )
            for m in RELATED
        }
        tags = sorted(
            s.scalars(sa.select(customer_tags.c.tag_id).where(customer_tags.c.customer_id == cid))
        )
        custom = sorted(
            tuple(r)
            for r in s.execute(
                sa.select(CustomFieldValue.__table__).where(CustomFieldValue.customer_id == cid)
            )
        )
        state[cid] = (tuple(row), related, tags, custom)
    return state


@pytest.fixture
def pair(app, make_user):
    director = make_user("director")
    agent = make_user("agent")
    with hubdb.session_scope(app) as s:
        shared, only_b = Tag(name="VIP"), Tag(name="展会")
        field = CustomField(key="source_note", label="Source note", kind="text")
        other = CustomField(key="rating", label="Rating", kind="number")
        s.add_all([shared, only_b, field, other])
        s.flush()
        a = _customer(s, agent, "深圳华强电子有限公司", 1, city="深圳")
        b = _customer(
            s,
            director,
            "深圳华强电子股份有限公司",
            2,
            city="深圳",
            email="info@hq.cn",
            address="深南大道 1 号",
            registered_capital=Decimal("500000.00"),
        )
        s.flush()
        a.tags, b.tags = [shared], [shared, only_b]
        s.add_all(
            [
                CustomFieldValue(customer_id=a.id, field_id=field.id, value_text="a's"),
                CustomFieldValue(customer_id=b.id, field_id=field.id, value_text="b's"),
                CustomFieldValue(customer_id=b.id, field_id=other.id, value_number=Decimal(4)),
            ]
        )
        s.flush()
        return director, agent, a.id, b.id


def test_every_table_pointing_at_customers_is_moved():
    names = {t.name for t, _c in customer_references()}
    assert {
        "contacts",
        "follow_ups",
        "orders",
        "opportunities",
        "complaints",
        "messages",
        "assignments",
    } <= names


def test_merge_moves_everything_and_undo_restores_both_exactly(app, db, pair):
    director, agent, a, b = pair
    before = _state(db, a, b)
    with hubdb.session_scope(app) as s:
        merge = merge_customers(
            s,
            s.get(User, director.id),
            a,
            b,
            {"email": "merged", "address": "merged", "name": "survivor"},
        )
        merge_id = merge.id

    db.expire_all()
    assert db.get(Customer, b) is None
    survivor = db.get(Customer, a)
    assert (survivor.name, survivor.email, survivor.address) == (
        "深圳华强电子有限公司",
        "info@hq.cn",
        "深南大道 1 号",
    )
    assert survivor.registered_capital is None  # not picked: the survivor's own (empty) value
    for model in RELATED:
        rows = db.scalars(sa.select(model)).all()
        assert rows and {r.customer_id for r in rows} == {a}, model
    assert sorted(t.name for t in survivor.tags) == ["VIP", "展会"]
    values = {v.field.key: v.value for v in survivor.custom_values}
    assert values == {"source_note": "a's", "rating": Decimal(4)}  # the survivor's own wins
    # on the timeline and in the audit log
    note = db.scalar(sa.select(FollowUp).where(FollowUp.channel == "system"))
    assert note.customer_id == a and "深圳华强电子股份有限公司" in note.summary
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "merge"))
    assert entry.customer_id == a and entry.changes["merged_id"] == b
    assert entry.changes["email"] == [None, "info@hq.cn"]

    with hubdb.session_scope(app) as s:
        restored = undo_merge(s, s.get(User, director.id), merge_id)
        assert restored.id == b
    db.expire_all()
    after = _state(db, a, b)
    # the two timeline notes (merged, undone) stay on the survivor's timeline; all else as before
    notes = db.scalars(sa.select(FollowUp.id).where(FollowUp.channel == "system")).all()
    after[a][1]["follow_ups"] = [r for r in after[a][1]["follow_ups"] if r[0] not in notes]
    assert after == before
    assert db.get(CustomerMerge, merge_id).undone_at is not None
    assert {
        e.customer_id
        for e in db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "unmerge"))
    } == {a, b}

    with hubdb.session_scope(app) as s, pytest.raises(Conflict):
        undo_merge(s, s.get(User, director.id), merge_id)


def test_merge_is_for_directors_and_checks_its_input(app, pair):
    director, agent, a, b = pair
    with hubdb.session_scope(app) as s:
        with pytest.raises(Forbidden):
            merge_customers(s, s.get(User, agent.id), a, b)
        with pytest.raises(ValidationError) as err:
            merge_customers(s, s.get(User, director.id), a, b, {"owner_id": "merged", "city": "x"})
        assert set(err.value.as_dict()) == {"choice.owner_id", "choice.city"}
        with pytest.raises(ValidationError):
            merge_customers(s, s.get(User, director.id), a, a)


def test_likely_duplicates_are_scored_and_queued_once(app, db, pair, make_user):
    director, agent, a, b = pair
    with hubdb.session_scope(app) as s:
        other_city = Customer(name="深圳华强电子有限公司", city="广州", owner_id=agent.id)
        alike = Customer(name="深圳市华强电子有限公司", city="深圳", owner_id=agent.id)
        different = Customer(name="深圳华强电器有限公司", city="深圳", owner_id=agent.id)
        person = Customer(name="Huaqiang Electronics Trading", city="上海", owner_id=agent.id)
        same_person = Customer(name="深圳华强电子贸易公司", city="上海", owner_id=agent.id)
        s.add_all([other_city, alike, different, person, same_person])
        s.flush()
        s.add(Contact(customer_id=person.id, name="联系人1"))
        s.add(Contact(customer_id=same_person.id, name="联系人1"))
        ids = [other_city.id, alike.id, different.id, person.id, same_person.id]
        queued = find_new_duplicates(s)
        assert find_new_duplicates(s) == 0  # the checkpoint moved on
        assert find_likely_duplicates(s, [a, b] + ids) == 0  # pairs already queued stay once
    pairs = {
        (c.first_id, c.second_id): (c.score, c.reason)
        for c in db.scalars(sa.select(DuplicateCandidate))
    }
    assert pairs[(a, b)] == (100, "company")  # same key, same city
    assert (a, ids[0]) not in pairs  # same name, another city: a branch, not a duplicate
    assert pairs[(a, ids[1])] == (92, "company")  # 市 more or less, same city
    assert (a, ids[2]) not in pairs  # 电子 is not 电器
    # person + company: 联系人1 of a also works at a company named much alike, in another city
    assert pairs[(a, ids[4])] == (91, "person")
    # ... and at one named quite differently: not enough
    assert (a, ids[3]) not in pairs
    assert queued == len(pairs) == 4


def test_the_scheduled_finder_queues_new_likely_duplicates(
    app, db, make_user, redis_conn, run_jobs
):
    from hub.runtime.schedule import PERIODIC, enqueue_due

    agent = make_user("agent")
    with hubdb.session_scope(app) as s:
        s.add_all(
            [
                Customer(name="杭州西湖茶叶有限公司", city="杭州", owner_id=agent.id),
                Customer(name="杭州西湖茶叶股份有限公司", city="杭州", owner_id=agent.id),
            ]
        )
    finder = tuple(p for p in PERIODIC if p.name == "likely-duplicates")
    assert enqueue_due(redis_conn, periodic=finder) == ["likely-duplicates"]
    run_jobs()
    (candidate,) = db.scalars(sa.select(DuplicateCandidate))
    assert (candidate.score, candidate.status) == (100, "open")


def test_undo_puts_the_merged_customers_other_pairs_back_in_the_queue(app, db, pair, make_user):
    director, agent, a, b = pair
    with hubdb.session_scope(app) as s:
        # b is likely the same as two others: one pair still open, one already dismissed
        alike = Customer(name="深圳市华强电子股份有限公司", city="深圳", owner_id=agent.id)
        dismissed = Customer(name="深圳华强电子（集团）", city="深圳", owner_id=agent.id)
        s.add_all([alike, dismissed])
        s.flush()
        alike_id, dismissed_id = alike.id, dismissed.id
        find_likely_duplicates(s, [a, b, alike_id, dismissed_id])

    def pairs_of(customer_id):
        return {
            (c.first_id, c.second_id, c.score, c.reason, c.status)
            for c in db.scalars(
                sa.select(DuplicateCandidate).where(
                    sa.or_(
                        DuplicateCandidate.first_id == customer_id,
                        DuplicateCandidate.second_id == customer_id,
                    )
                )
            )
        }

    with hubdb.session_scope(app) as s:
        row = s.scalar(
            sa.select(DuplicateCandidate).where(
                DuplicateCandidate.first_id == b, DuplicateCandidate.second_id == dismissed_id
            )
        )
        row.status = "dismissed"
    db.expire_all()
    before = {p for p in pairs_of(b) if {p[0], p[1]} != {a, b}}
    assert {(p[0], p[1], p[4]) for p in before} == {
        (b, alike_id, "open"),
        (b, dismissed_id, "dismissed"),
    }
    with hubdb.session_scope(app) as s:
        merge = merge_customers(s, s.get(User, director.id), a, b)
        merge_id = merge.id
    db.expire_all()
    assert pairs_of(b) == set()  # gone with the merged customer
    with hubdb.session_scope(app) as s:
        undo_merge(s, s.get(User, director.id), merge_id)
    db.expire_all()
    after = {p for p in pairs_of(b) if {p[0], p[1]} != {a, b}}
    assert after == before
    open_ids = set(
        db.scalars(
            sa.select(DuplicateCandidate.second_id).where(DuplicateCandidate.status == "open")
        )
    )
    assert alike_id in open_ids  # back in the review queue
