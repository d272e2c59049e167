"""Small helpers shared by the customer-database tests."""

from hub import db as hubdb
from hub.auth import User, create_token


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
