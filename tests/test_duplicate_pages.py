"""The duplicate review pages: the queue, comparing, merging with picked values, undo, dismiss."""

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.crm.customers.duplicate_models import DuplicateCandidate
from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from tests.conftest import csrf_token
from tests.crm_helpers import likely_pair as _pair


def test_review_compare_merge_and_undo_from_the_pages(app, client, signed_in, db):
    director = signed_in("director")
    a, b = _pair(app, director)
    page = client.get("/duplicates").get_data(as_text=True)
    assert "1 pair to review" in page
    assert "&lt;b&gt;杭州西湖茶叶&lt;/b&gt;有限公司" in page and "<b>杭州" not in page
    (pair,) = db.scalars(sa.select(DuplicateCandidate))
    compare = client.get(f"/duplicates/{pair.id}").get_data(as_text=True)
    assert "tea@xihu.cn" in compare and "Follow-ups: 1" in compare

    token = csrf_token(client, f"/duplicates/{pair.id}")
    response = client.post(
        f"/duplicates/{pair.id}/merge",
        data={
            "csrf_token": token,
            "survivor": "first",
            "choice.email": "second",
            "choice.phone": "second",
            "choice.name": "first",
        },
    )
    assert response.status_code == 302
    merge_url = response.headers["Location"]
    page = client.get(merge_url).get_data(as_text=True)
    assert "Undo this merge" in page and "Contacts: 1" in page
    db.expire_all()
    kept = db.get(Customer, a)
    assert db.get(Customer, b) is None
    assert (kept.name, kept.email, kept.phone) == (
        "<b>杭州西湖茶叶</b>有限公司",
        "tea@xihu.cn",
        "+8657187654321",
    )
    assert [c.name for c in kept.contacts] == ["王茶"]
    customer_page = client.get(f"/customers/{a}").get_data(as_text=True)
    assert "Merged with" in customer_page  # on the timeline

    response = client.post(merge_url + "/undo", data={"csrf_token": csrf_token(client, merge_url)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/customers/{b}")
    db.expire_all()
    assert db.get(Customer, a).email is None
    assert db.get(Customer, b).contacts[0].name == "王茶"
    assert (
        db.scalar(sa.select(FollowUp.customer_id).where(FollowUp.summary == "asked for prices"))
        == b
    )
    # undone once; the page says so and offers no second undo
    page = client.get(merge_url).get_data(as_text=True)
    assert "Undone on" in page and "Undo this merge" not in page
    assert "Nothing to review." in client.get("/duplicates").get_data(as_text=True)


def test_dismissed_pairs_leave_the_queue(app, client, signed_in, db):
    director = signed_in("director")
    _pair(app, director)
    (pair,) = db.scalars(sa.select(DuplicateCandidate))
    token = csrf_token(client, "/duplicates")
    assert (
        client.post(f"/duplicates/{pair.id}/dismiss", data={"csrf_token": token}).status_code == 302
    )
    assert "Nothing to review." in client.get("/duplicates").get_data(as_text=True)
    db.expire_all()
    assert db.get(DuplicateCandidate, pair.id).status == "dismissed"


def test_merge_without_a_survivor_is_refused_and_agents_may_not_merge(
    app, client, signed_in, db, make_user
):
    director = make_user("director")
    _pair(app, director)
    (pair,) = db.scalars(sa.select(DuplicateCandidate))
    signed_in("agent")
    assert client.get("/duplicates").status_code == 403
    assert client.get(f"/duplicates/{pair.id}").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/customers")})
    signed_in("director")
    token = csrf_token(client, f"/duplicates/{pair.id}")
    response = client.post(f"/duplicates/{pair.id}/merge", data={"csrf_token": token})
    assert response.status_code == 422
    assert "Choose the customer to keep." in response.get_data(as_text=True)
    assert client.get("/duplicates/99999").status_code == 404


def test_merge_with_from_the_customer_page(app, client, signed_in, db):
    director = signed_in("director")
    with hubdb.session_scope(app) as s:
        a = Customer(name="宁波海港物流", city="宁波", owner_id=director.id)
        b = Customer(name="甬港货运", city="宁波", owner_id=director.id, email="yg@port.cn")
        s.add_all([a, b])
        s.flush()
        s.add(Contact(customer_id=b.id, name="陈船", phone="+8613700137000"))
        a, b = a.id, b.id
    page = client.get(f"/customers/{a}").get_data(as_text=True)
    assert f'href="/customers/{a}/merge"' in page and "Merge with…" in page

    found = client.get(f"/customers/{a}/merge?q=甬港").get_data(as_text=True)
    assert "甬港货运" in found and f"/customers/{a}/merge/{b}" in found
    # the customer itself is not offered
    itself = client.get(f"/customers/{a}/merge?q=宁波海港").get_data(as_text=True)
    assert "No other customer matches." in itself

    compare = client.get(f"/customers/{a}/merge/{b}").get_data(as_text=True)
    assert "yg@port.cn" in compare and "Contacts: 1" in compare
    assert "Not the same customer" not in compare  # no queued pair to dismiss
    token = csrf_token(client, f"/customers/{a}/merge/{b}")
    refused = client.post(f"/customers/{a}/merge/{b}", data={"csrf_token": token})
    assert refused.status_code == 422 and "Choose the customer to keep." in refused.get_data(
        as_text=True
    )
    response = client.post(
        f"/customers/{a}/merge/{b}",
        data={"csrf_token": token, "survivor": "first", "choice.email": "second"},
    )
    assert response.status_code == 302 and "/merges/" in response.headers["Location"]
    db.expire_all()
    assert db.get(Customer, b) is None
    kept = db.get(Customer, a)
    assert kept.email == "yg@port.cn" and [c.name for c in kept.contacts] == ["陈船"]
    assert client.get(f"/customers/{a}/merge/{a}").status_code == 404
    assert client.get(f"/customers/{a}/merge/99999").status_code == 404


def test_agents_get_no_merge_with_action(app, client, signed_in, db):
    agent = signed_in("agent")
    with hubdb.session_scope(app) as s:
        c = Customer(name="自己的客户", owner_id=agent.id)
        s.add(c)
        s.flush()
        cid = c.id
    assert "Merge with…" not in client.get(f"/customers/{cid}").get_data(as_text=True)
    assert client.get(f"/customers/{cid}/merge").status_code == 403
