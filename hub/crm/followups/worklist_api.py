"""/api/v1 for the work list, the change history and the A/B/C rules: the same service
functions as the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _

from hub.core import db
from hub.core.apikit import document, fields_schema, json_body, query_int
from hub.core.auth import Role, User, login_required, require_user, roles_required
from hub.core.clock import business_today
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.core.validation import Field, parse, unknown_keys
from hub.crm.customers import classification as rules_svc
from hub.crm.customers import lookup as svc
from hub.crm.customers.audit import customer_trail, jsonable
from hub.crm.followups import worklist_api_bp as bp
from hub.crm.followups.reminders import can_see_list_of, due_items, team_counts

DUE_ENTRY = {
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "customer_id": {"type": "integer"},
        "customer_name": {"type": "string"},
        "customer_class": {"type": "string"},
        "due_on": {"type": "string", "format": "date"},
        "overdue_days": {"type": "integer"},
        "last_contact_at": {"type": ["string", "null"]},
        "next_contact_on": {"type": ["string", "null"]},
        "complaint_id": {"type": ["integer", "null"]},
        "complaint_step": {"type": ["string", "null"]},
        "overdue_amounts": {
            "type": ["object", "null"],
            "description": "collection: the overdue amount per currency, {currency: amount}",
        },
        "oldest_overdue_days": {"type": "integer", "description": "collection"},
        "promise_broken": {
            "type": "boolean",
            "description": "collection: a promised payment date has passed unpaid",
        },
    },
}
DUE_LIST = {
    "type": "object",
    "properties": {
        "for_date": {"type": "string", "format": "date"},
        "totals": {"type": "object"},
        "overdue": {"type": "integer"},
        "contacts": {"type": "array", "items": DUE_ENTRY},
        "credit_reviews": {"type": "array", "items": DUE_ENTRY},
        "complaints": {"type": "array", "items": DUE_ENTRY},
        "collections": {
            "type": "array",
            "items": DUE_ENTRY,
            "description": "Customers with open, undisputed amounts whose next chase date has "
            "come (disputed amounts wait on the dispute and are left off)",
        },
    },
}

document(
    "get",
    "/due",
    "The work list due today: contacts, credit reviews, complaint steps, collections",
    "work list",
    response=DUE_LIST,
    query=(("user_id", "integer", "Another rep's list (directors and admins)"),),
)


@bp.get("/due")
@login_required
def due() -> Response:
    viewer = require_user()
    s = db.session()
    user = viewer
    wanted = query_int("user_id")
    if wanted is not None:
        if not can_see_list_of(viewer, wanted):
            raise Forbidden(_("Only a director or an admin reads another rep's list."))
        found = s.get(User, wanted)
        if found is None:
            raise NotFound(_("There is no user %(id)s.", id=wanted))
        user = found
    return jsonify(due_items(s, user, business_today()).as_json())


document(
    "get",
    "/due/team",
    "Each rep's counts of due, overdue, credit reviews, complaints and collections",
    "work list",
    roles="admin, director",
    response={
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                k: {"type": "integer"}
                for k in ("user_id", "due", "overdue", "credit_reviews", "complaints",
                          "collections")
            },
        },
    },
)


@bp.get("/due/team")
@roles_required(Role.DIRECTOR)
def team() -> Response:
    rows = team_counts(db.session(), business_today())
    return jsonify(
        [
            {
                "user_id": r.user.id,
                "email": r.user.email,
                "due": r.due,
                "overdue": r.overdue,
                "credit_reviews": r.credit_reviews,
                "complaints": r.complaints,
                "collections": r.collections,
            }
            for r in rows
        ]
    )


HISTORY_ENTRY = {
    "type": "object",
    "properties": {
        "at": {"type": "string"},
        "user_id": {"type": ["integer", "null"]},
        "entity": {"type": "string"},
        "entity_id": {"type": "integer"},
        "action": {"type": "string"},
        "changes": {"type": "object", "description": "{field: [before, after]}"},
    },
}
document(
    "get",
    "/customers/{id}/history",
    "Who changed what on a customer, with before and after",
    "customers",
    response={"type": "array", "items": HISTORY_ENTRY},
)


@bp.get("/customers/<int:customer_id>/history")
@login_required
def history(customer_id: int) -> Response:
    s = db.session()
    svc.load_customer(s, require_user(), customer_id)
    return jsonify(
        [
            {
                "at": e.at.isoformat(),
                "user_id": e.user_id,
                "entity": e.entity,
                "entity_id": e.entity_id,
                "action": e.action,
                "changes": jsonable(e.changes),
            }
            for e in customer_trail(s, customer_id)
        ]
    )


RULE_QUERY = (
    ("rule", "string", "revenue or horizon"),
    ("since", "string", "Revenue rule: orders from this date (default: all)"),
)
CHANGE = {
    "type": "object",
    "properties": {
        "customer_id": {"type": "integer"},
        "name": {"type": "string"},
        "current": {"type": "string"},
        "suggested": {"type": "string"},
    },
}


def _rule_args(data: dict[str, Any]) -> tuple[str, date | None]:
    values = parse(
        (
            Field("rule", "choice", required=True, choices=("revenue", "horizon")),
            Field("since", "date"),
        ),
        data,
    )
    return values["rule"], values.get("since")


document(
    "get",
    "/classification",
    "The classes a rule suggests, for customers it would change",
    "classification",
    roles="admin, director",
    query=RULE_QUERY,
    response={
        "type": "object",
        "properties": {
            "rule": {"type": "string"},
            "reason": {"type": "string"},
            "changes": {"type": "array", "items": CHANGE},
        },
    },
)


@bp.get("/classification")
@roles_required(Role.DIRECTOR)
def suggestions() -> Response:
    s = db.session()
    rule, since = _rule_args(request.args.to_dict())
    result = rules_svc.suggest(s, rule, since, business_today())
    return jsonify(
        {
            "rule": rule,
            "reason": rules_svc.rule_reason(rule, result.params),
            "changes": [
                {
                    "customer_id": c.customer_id,
                    "name": c.name,
                    "current": c.current,
                    "suggested": c.suggested,
                }
                for c in rules_svc.changes(s, result.suggestions)
            ],
        }
    )


APPLY_FIELDS = (
    Field("rule", "choice", required=True, choices=("revenue", "horizon")),
    Field("since", "date"),
)
APPLY_IN = fields_schema(
    APPLY_FIELDS,
    customer_ids={
        "type": "array",
        "items": {"type": "integer"},
        "description": "Only these customers (default: every customer the rule would change)",
    },
)
document(
    "post",
    "/classification/apply",
    "Apply a rule's suggested classes (audited)",
    "classification",
    body=APPLY_IN,
    roles="admin, director",
    response={"type": "object", "properties": {"changed": {"type": "integer"}}},
)


@bp.post("/classification/apply")
@roles_required(Role.DIRECTOR)
def apply() -> Response:
    s = db.session()
    data = json_body()
    unknown_keys(APPLY_FIELDS, data, allowed=("customer_ids",))
    rule, since = _rule_args(data)
    result = rules_svc.suggest(s, rule, since, business_today())
    chosen = result.suggestions
    ids = data.get("customer_ids")
    if ids is not None:
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise ValidationError(
                [FieldError("customer_ids", _("Expected a list of customer ids."))]
            )
        chosen = {i: chosen[i] for i in ids if i in chosen}
    changed = rules_svc.apply_suggestions(
        s, require_user(), chosen, rules_svc.rule_reason(rule, result.params)
    )
    s.commit()
    return jsonify({"changed": changed})
