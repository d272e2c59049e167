"""/api/v1 for credit control and collection: credit events and their actions, credit reviews,
and collection contacts on a receivable. The same service functions as the pages."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import document, fields_schema, json_body, to_json
from hub.core.auth import Role, login_required, require_user, roles_required
from hub.core.refusals import NotFound
from hub.core.validation import MAX_ID
from hub.crm.customers.lookup import load_customer
from hub.crm.record_routes import changed, committed
from hub.crm.sales import collection, credit
from hub.crm.sales import credit_api_bp as bp
from hub.crm.sales.receivable_models import CreditAction, CreditEvent, Receivable

TAG = "credit"
DIRECTORS = "admin, director"
EDITORS = "admin, director, the owning agent"

ACTION_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": list(credit.ACTION_FIELDS[0].choices or ())},
        "note": {"type": "string"},
        "taken_at": {"type": "string", "format": "date-time"},
        "taken_by_id": {"type": ["integer", "null"]},
    },
}
EVENT_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": "integer"},
        "trigger": {"type": "string", "enum": ["rating_worse", "overdue", "manual"]},
        "reason": {"type": "string"},
        "opened_at": {"type": "string", "format": "date-time"},
        "opened_by_id": {"type": ["integer", "null"]},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
        "closed_by_id": {"type": ["integer", "null"]},
        "closing_note": {"type": ["string", "null"]},
        "credit_hold": {"type": "boolean", "description": "The customer's hold, now"},
        "actions": {"type": "array", "items": ACTION_OUT},
    },
}
REVIEW_OUT = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "integer"},
        "credit_rating": {"type": "string"},
        "credit_limit": {"type": ["string", "null"]},
        "last_credit_review": {"type": "string", "format": "date"},
        "next_credit_review": {"type": "string", "format": "date"},
        "credit_event": {"anyOf": [EVENT_OUT, {"type": "null"}],
                         "description": "The event the review opened (rated worse), if any"},
    },
}
RECEIVABLE_OUT = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": "integer"},
        "currency": {"type": "string"},
        "amount": {"type": "string"},
        "outstanding": {"type": "string"},
        "due_on": {"type": "string", "format": "date"},
        "next_chase_on": {"type": ["string", "null"], "format": "date"},
        "promised_on": {"type": ["string", "null"], "format": "date"},
        "promised_amount": {"type": ["string", "null"]},
        "disputed": {"type": "boolean"},
        "dispute_reason": {"type": ["string", "null"]},
        "follow_up_id": {"type": "integer", "description": "The contact on the timeline"},
    },
}


def _action_json(action: CreditAction) -> dict[str, Any]:
    return {k: to_json(getattr(action, k)) for k in ACTION_OUT["properties"]}


def event_json(event: CreditEvent) -> dict[str, Any]:
    out = {k: to_json(getattr(event, k)) for k in EVENT_OUT["properties"]
           if k not in ("actions", "credit_hold")}
    out["credit_hold"] = event.customer.credit_hold
    out["actions"] = [_action_json(a) for a in event.actions]
    return out


def _load_event(event_id: int) -> CreditEvent:
    event = db.session().get(CreditEvent, event_id) if 0 < event_id <= MAX_ID else None
    if event is None:
        raise NotFound(_("There is no credit event %(id)s.", id=event_id))
    return event


document("get", "/customers/{id}/credit-events", "A customer's credit events, open first",
         TAG, response={"type": "array", "items": EVENT_OUT})


@bp.get("/customers/<int:customer_id>/credit-events")
@login_required
def list_events(customer_id: int) -> Response:
    s = db.session()
    customer = load_customer(s, require_user(), customer_id)
    return jsonify([event_json(e) for e in credit.customer_events(s, customer.id)])


document("post", "/customers/{id}/credit-events",
         "Open a credit event by hand (one open event per customer; 409 when one is open)", TAG,
         body=fields_schema(credit.EVENT_FIELDS), response=EVENT_OUT, status=201, roles=DIRECTORS)


@bp.post("/customers/<int:customer_id>/credit-events")
@roles_required(Role.DIRECTOR)
def open_event(customer_id: int) -> tuple[Response, int]:
    s = db.session()
    user = require_user()
    customer = load_customer(s, user, customer_id)
    event = credit.open_manual(s, user, customer, json_body())
    return committed(event, event_json, 201)


document("post", "/credit-events/{id}/actions",
         "Record an action on an open credit event (shipments_stopped puts the customer on "
         "credit hold)", TAG, body=fields_schema(credit.ACTION_FIELDS), response=EVENT_OUT,
         status=201, roles=DIRECTORS)


@bp.post("/credit-events/<int:event_id>/actions")
@roles_required(Role.DIRECTOR)
def add_action(event_id: int) -> tuple[Response, int]:
    return changed(_load_event(event_id), credit.add_action, event_json, 201)


document("post", "/credit-events/{id}/close",
         "Close a credit event with a note; the customer's credit hold is cleared", TAG,
         body=fields_schema(credit.CLOSE_FIELDS), response=EVENT_OUT, roles=DIRECTORS)


@bp.post("/credit-events/<int:event_id>/close")
@roles_required(Role.DIRECTOR)
def close_event(event_id: int) -> tuple[Response, int]:
    return changed(_load_event(event_id), credit.close_event, event_json)


document("post", "/customers/{id}/credit-reviews",
         "Record a credit review: the rating (AAA best to D), maybe a new limit; the next review "
         "follows the class; a worse rating opens a credit event", TAG,
         body=fields_schema(credit.REVIEW_FIELDS), response=REVIEW_OUT, status=201, roles=EDITORS)


@bp.post("/customers/<int:customer_id>/credit-reviews")
@login_required
def review(customer_id: int) -> tuple[Response, int]:
    s = db.session()
    user = require_user()
    customer = load_customer(s, user, customer_id, edit=True)
    event = credit.record_review(s, user, customer, json_body())
    s.commit()
    out = {k: to_json(getattr(customer, k)) for k in REVIEW_OUT["properties"]
           if k not in ("customer_id", "credit_event")}
    return jsonify({"customer_id": customer.id, **out,
                    "credit_event": event_json(event) if event else None}), 201


def receivable_json(receivable: Receivable, follow_up_id: int) -> dict[str, Any]:
    out = {k: to_json(getattr(receivable, k)) for k in RECEIVABLE_OUT["properties"]
           if k != "follow_up_id"}
    return {**out, "follow_up_id": follow_up_id}


document("post", "/receivables/{id}/collection",
         "Record a collection contact: a call (note), a promise to pay (promised_on, "
         "promised_amount), a dispute (reason) or its resolution (note); moves next_chase_on",
         TAG, body=fields_schema(collection.COLLECTION_FIELDS), response=RECEIVABLE_OUT,
         status=201, roles=EDITORS)


@bp.post("/receivables/<int:receivable_id>/collection")
@login_required
def record_collection(receivable_id: int) -> tuple[Response, int]:
    s = db.session()
    user = require_user()
    receivable = collection.load_receivable(s, user, receivable_id, edit=True)
    follow_up = collection.record_collection(s, user, receivable, json_body())
    s.commit()
    return jsonify(receivable_json(receivable, follow_up.id)), 201
