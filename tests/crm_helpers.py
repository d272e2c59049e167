"""Small helpers shared by the customer-database tests."""

from hub.core import db as hubdb
from hub.core.auth import User, create_token


def token_for(app, user):
    with hubdb.session_scope(app) as s:
        return create_token(s, s.get(User, user.id), "tests")


def api(client, token):
    """A tiny JSON client bound to one token."""

    class Api:
        def __getattr__(self, method):
            def call(path, json=None, **kw):
                return getattr(client, method)(
                    "/api/v1" + path, json=json, headers={"Authorization": f"Bearer {token}"}, **kw
                )

            return call

    return Api()


def likely_pair(app, owner):
    """Two customers the finder queues as likely one (the same tea company, two suffixes; the
    second with an email, a phone, a contact and a follow-up); returns their ids."""
    from hub.crm.customers.duplicates import find_likely_duplicates
    from hub.crm.customers.models import Contact, Customer
    from hub.crm.followups.records import log_follow_up

    with hubdb.session_scope(app) as s:
        a = Customer(name="<b>杭州西湖茶叶</b>有限公司", city="杭州", owner_id=owner.id)
        b = Customer(
            name="<b>杭州西湖茶叶</b>股份有限公司",
            city="杭州",
            owner_id=owner.id,
            email="tea@xihu.cn",
            phone="+8657187654321",
        )
        s.add_all([a, b])
        s.flush()
        s.add(Contact(customer_id=b.id, name="王茶", phone="+8613900139000"))
        log_follow_up(s, None, b, "call", "asked for prices")
        assert find_likely_duplicates(s, [a.id, b.id]) == 1
        return a.id, b.id
