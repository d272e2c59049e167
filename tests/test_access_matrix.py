"""Every route against every role, generated from the route list: a role the route does not
admit gets 403, every other answer is a real answer (never a 5xx), with a little of everything
in the database so the ids in the paths exist. A new route is in the matrix by being a route."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from hub.channels.calls import records as calls
from hub.core.auth import ANY_USER, PUBLIC, ROLES, access_rule
from hub.crm.customers.models import Contact, Customer, CustomField
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Opportunity, Order
from hub.crm.service.models import Complaint
from tests.conftest import csrf_token, login
from tests.crm_helpers import token_for

# Routes whose answer is a stream that never ends, or that stops the process.
SKIP = {"events.stream", "login.logout"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def world(app, db, make_user):
    """One of each thing, numbered 1, owned by the agent the matrix signs in as."""
    users = {role: make_user(role) for role in ROLES}
    with app.app_context():
        customer = Customer(name="Matrix Co", owner_id=users["agent"].id, phone="+8613800138000")
        customer.contacts.append(Contact(name="Li", phone="+8613800138001", email="li@example.com"))
        db.add(customer)
        db.flush()
        log_follow_up(db, users["agent"], customer, "note", summary="hello")
        db.add(Opportunity(customer_id=customer.id, title="Deal", stage="proposal"))
        db.add(Order(customer_id=customer.id, contract_number="M-1", amount=Decimal("10"),
                     order_date=date(2026, 1, 1)))
        db.add(Complaint(customer_id=customer.id, channel="call", content="Late"))
        db.add(CustomField(key="size_code", label="Size", kind="text"))
        calls.ring_inbound(db, "CA" + "9" * 32, "+8613800138000", "+12025550143", "CN")
        db.commit()
    return users


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in SKIP:
            continue
        path = rule.build({arg: _sample(arg) for arg in rule.arguments})[1]
        for method in sorted(rule.methods & set(METHODS)):
            yield rule, path, method


def _sample(arg: str) -> object:
    if arg in ("secret", "token", "key", "form_key"):
        return "not-the-secret"
    return 1


def _allowed(rule_access, role: str) -> bool:
    if rule_access in (PUBLIC, ANY_USER):
        return True
    return role in rule_access


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_every_role_as_declared_and_never_with_a_5xx(app, world, role):
    user = world[role]
    page = app.test_client()
    assert login(page, user.email).status_code == 302
    token = csrf_token(page, "/")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token_for(app, user)}"}
    problems = []
    checked = 0
    for rule, path, method in _routes(app):
        access = access_rule(app.view_functions[rule.endpoint])
        for _attempt in (1, 2):
            if path.startswith("/api/v1"):
                body = {} if method in ("POST", "PUT", "PATCH") else None
                response = api.open(path, method=method, headers=bearer, json=body)
                lost = response.status_code == 401
            else:
                data = {"csrf_token": token} if method != "GET" else None
                response = page.open(path, method=method, data=data)
                lost = response.status_code == 302 and "/login" in response.headers["Location"]
            if not lost or access == PUBLIC:
                break
            # An earlier route revoked the token or ended the session (revoke, password):
            # sign in again and ask once more.
            bearer = {"Authorization": f"Bearer {token_for(app, user)}"}
            page = app.test_client()
            assert login(page, user.email).status_code == 302
            token = csrf_token(page, "/")
        checked += 1
        status = response.status_code
        if status >= 500:
            problems.append(f"{method} {path}: {status}")
        elif lost and access != PUBLIC:
            problems.append(f"{method} {path}: signed in as {role}, answered as signed out")
        elif not _allowed(access, role) and status != 403:
            problems.append(f"{method} {path}: {status}, but {role} is not admitted")
        elif _allowed(access, role) and status == 403 and access not in (PUBLIC, ANY_USER):
            text = response.get_data(as_text=True)
            # A role admitted by the route may still be refused this record, with a reason.
            if not re.search(r"[A-Za-z]{4,}", text):
                problems.append(f"{method} {path}: 403 without a reason")
    assert checked > 100
    assert problems == [], "\n".join(problems)
