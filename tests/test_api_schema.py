"""The API against its own OpenAPI document, with schemathesis: generated requests for every
operation (as an admin, on a database with a customer of each kind), and every answer checked:
never a 5xx, its status documented for the operation, its content type and body as documented.

The operations are walked inside one test (not through schemathesis's pytest plugin, which
follows pytest's internals); each failure is reported with its operation and a curl line."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.records import log_follow_up
from hub.crm.sales.models import Opportunity, Order
from tests.crm_helpers import token_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("HUB_SCHEMATHESIS_EXAMPLES", "8"))
# The same examples every run in CI; HUB_SCHEMATHESIS_RANDOM=1 explores new ones (that is how a
# NUL in a search and integer overflows were found).
DERANDOMIZE = not os.environ.get("HUB_SCHEMATHESIS_RANDOM")


def _world(app, db, admin):
    with app.app_context():
        customer = Customer(name="Schema Co", owner_id=admin.id, phone="+8613800138000")
        customer.contacts.append(Contact(name="Li", phone="+8613800138001", email="li@example.com"))
        db.add(customer)
        db.flush()
        log_follow_up(db, admin, customer, "note", summary="hello")
        db.add(Opportunity(customer_id=customer.id, title="Deal", stage="proposal"))
        db.add(Order(customer_id=customer.id, contract_number="S-1", amount=Decimal("10"),
                     order_date=date(2026, 1, 1)))
        db.commit()


def test_every_answer_matches_the_document(app, db, make_user):
    admin = make_user("admin")
    _world(app, db, admin)
    bearer = {"Authorization": f"Bearer {token_for(app, admin)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=bearer)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures = []
    for operation in operations:

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=bearer, checks=CHECKS)

        try:
            check()
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises an exception group
            if isinstance(exc, KeyboardInterrupt):
                raise
            lines = [line for line in str(exc).splitlines() if line.strip()]
            failures.append(f"{operation.label}: " + " | ".join(lines[:8]))
    assert failures == [], "\n".join(failures)
