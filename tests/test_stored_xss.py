"""Stored XSS: every text field a customer record, a contact, a follow-up, a deal, an order, a
complaint, an inbound message or a caller can fill holds a script; then every page of the hub
(generated from the route list, with the ids that exist) is read as each role, and no page may
carry the script as markup."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from hub.channels.calls import records as calls
from hub.channels.calls.models import AgentProfile
from hub.channels.inbound import record_inbound
from hub.core.auth import ROLES, User
from hub.core.db import session_scope
from hub.crm.customers.customer_records import create_customer
from hub.crm.customers.fields import CONTACT_FIELDS, CUSTOMER_FIELDS
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Opportunity, Order
from hub.crm.service.models import Complaint
from tests.conftest import login

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
PAYLOAD = SCRIPT + IMG
# What must never reach a page unescaped.
RAW = re.compile(r"<script>alert\(1\)|<img src=x onerror")


def _text_values(fields, limit_default=200):
    """The payload in every free-text field (cut to the field's length, the script kept whole)."""
    out = {}
    for f in fields:
        if f.read_only or f.kind not in ("str", "text") or f.name == "timezone":
            continue
        limit = f.max_length or limit_default
        out[f.name] = (PAYLOAD if limit >= len(PAYLOAD) else SCRIPT)[:limit]
    return out


@pytest.fixture
def hostile(app, make_user):
    users = {role: make_user(role) for role in ROLES}
    agent = users["agent"]
    with app.app_context(), session_scope(app) as s:
        actor = s.get(User, agent.id)
        contact = {**_text_values(CONTACT_FIELDS), "phone": "+8613800138001"}
        customer = create_customer(
            s,
            actor,
            {**_text_values(CUSTOMER_FIELDS), "tags": ["vip"], "contacts": [contact]},
            "CN",
        )
        log_follow_up(s, actor, customer, "note", summary=PAYLOAD, outcome=PAYLOAD)
        s.add(Opportunity(customer_id=customer.id, title=PAYLOAD, stage="proposal",
                          owner_id=agent.id, lost_reason=PAYLOAD))
        s.add(Order(customer_id=customer.id, contract_number=SCRIPT, amount=Decimal("1"),
                    order_date=date(2026, 1, 1), notes=PAYLOAD))
        s.add(Complaint(customer_id=customer.id, channel="call", content=PAYLOAD, product=PAYLOAD,
                        reason=PAYLOAD, owner_id=agent.id))
        record_inbound(s, "sms", "+8613800138001", "+12025550143", PAYLOAD, None, "SM" + "1" * 32)
        record_inbound(s, "email", "stranger@example.com", "hub@example.com", PAYLOAD, PAYLOAD, None)
        s.add(AgentProfile(user_id=agent.id, phone="+8613900000001", availability="available"))
        s.flush()
        ringing = calls.ring_inbound(s, "CA" + "7" * 32, "+8613912345678", "+12025550143", "CN")
        s.flush()
        calls.claim_lead(s, actor, ringing.call, PAYLOAD[:120], SCRIPT, "")
    return users


def _pages(app):
    """Every page a browser can GET, with sample ids (the fixture's records are the first)."""
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "events.stream"):
            continue
        path = rule.build({arg: 1 for arg in rule.arguments})[1]
        if path.startswith(("/api/", "/webhooks/", "/unsubscribe/")):
            continue
        yield path


@pytest.mark.parametrize("role", ["admin", "agent", "specialist"])
def test_no_page_carries_a_stored_script_as_markup(app, hostile, role):
    client = app.test_client()
    assert login(client, hostile[role].email).status_code == 302
    shown, leaks = 0, []
    for path in _pages(app):
        for candidate in (path, path + "?q=" + "script"):
            response = client.get(candidate)
            if response.mimetype != "text/html":
                continue  # downloads (CSV, XLSX) are checked for formulas by their own tests
            body = response.get_data(as_text=True)
            if response.status_code == 200 and "&lt;script&gt;alert(1)" in body:
                shown += 1
            if RAW.search(body):
                leaks.append(f"{candidate} ({response.status_code})")
    assert leaks == []
    assert shown >= 3  # the payload was really on some pages, escaped
