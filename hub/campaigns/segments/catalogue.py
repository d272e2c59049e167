"""What the segment builder offers, read from the rule allow-list (`segment_rules.FIELDS`).

Each field comes with its group, translated label, input and operators, and the hub's own values
where a list beats typing (owners, regions, industries, stages, tags, pipeline stages). A field
added to FIELDS appears here by itself: grouped by the table its column belongs to, labelled with
its name until LABELS names it, its input chosen by its kind (or, for a kind this module does not
know, by its operators).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.campaigns.segments import rules
from hub.core.auth import Role, User
from hub.crm.customers.models import Contact, Customer, CustomField, LeadSource, Tag, customer_tags
from hub.crm.labels import CHOICE_LABELS, choice_label
from hub.crm.rules import get_rules

GROUPS = (
    ("customer", _l("Customer")),
    ("contact", _l("Contact")),
    ("orders", _l("Orders and opportunities")),
    ("surveys", _l("Surveys")),
    ("custom", _l("Custom fields")),
)
LABELS = {
    "class": _l("Class"),
    "stage": _l("Stage"),
    "kind": _l("Kind"),
    "tags": _l("Tags"),
    "owner": _l("Owner"),
    "region": _l("Region"),
    "city": _l("City"),
    "industry": _l("Industry"),
    "lead_source": _l("Lead source"),
    "customer_name": _l("Customer name"),
    "created": _l("Created"),
    "last_contact": _l("Last contact"),
    "next_contact": _l("Next contact"),
    "contact_email": _l("Email"),
    "contact_phone": _l("Phone"),
    "language": _l("Language"),
    "decision_maker": _l("Decision maker"),
    "consent": _l("Consent"),
    "birthday": _l("Birthday"),
    "orders": _l("Number of orders"),
    "turnover": _l("Turnover"),
    "opportunity_stage": _l("Opportunity stage"),
    "nps_score": _l("NPS score (latest answer)"),
    "csat_score": _l("CSAT score (latest answer)"),
    "overdue_amount": _l("Overdue (CNY)"),
    "overdue_days": _l("Days overdue"),
}
GROUP_OF_KIND = {
    "orders": "orders",
    "turnover": "orders",
    "opportunity": "orders",
    "survey": "surveys",
    "consent": "contact",
    "overdue": "orders",
}
# The operators in the order the builder lists them (its first is a new rule's); an operator the
# allow-list has and this order lacks is appended, so it still shows.
OP_ORDER = {
    "choices": ("in", "not_in", "eq", "ne", "contains", "is_empty", "not_empty"),
    "text": ("eq", "ne", "contains", "in", "not_in", "is_empty", "not_empty"),
    "date": ("in_last_days", "more_than_days_ago", "in_next_days", "before", "after", "on",
             "between", "is_empty", "not_empty"),
    "number": ("gte", "lte", "eq", "ne", "gt", "lt", "between", "is_empty", "not_empty"),
}
# Operators the API still takes for a field but the builder does not offer (a rule saved with one
# shows it as it is).
NOT_OFFERED = {"owner": ("gt", "gte", "lt", "lte", "between")}
OP_LABELS = {
    "eq": _l("is"),
    "ne": _l("is not"),
    "in": _l("is one of"),
    "not_in": _l("is none of"),
    "contains": _l("contains"),
    "is_empty": _l("is empty"),
    "not_empty": _l("is not empty"),
    "before": _l("before"),
    "after": _l("after"),
    "on": _l("on"),
    "between": _l("between"),
    "in_last_days": _l("in the last … days"),
    "more_than_days_ago": _l("more than … days ago"),
    "in_next_days": _l("in the next … days"),
    "gt": _l("more than"),
    "gte": _l("at least"),
    "lt": _l("less than"),
    "lte": _l("at most"),
    "not_contains": _l("does not have"),
    "contains_any": _l("has any of"),
    "granted": _l("granted for"),
    "refused": _l("refused for"),
    "not_refused": _l("not refused for"),
}
# The same operator reads differently for some inputs: a tag is "had", a survey "answered".
OP_LABELS_BY_INPUT = {
    "tags": {"contains": _l("has")},
    "survey": {"is_empty": _l("never answered"), "not_empty": _l("answered")},
}
MAX_VALUES = 500
OWNERS = (Role.AGENT, Role.DIRECTOR, Role.ADMIN)  # whom a customer can be given to, as on its form  # hub values offered in one list; more are typed


def _distinct(db: Session, column: Any) -> list[str]:
    rows = db.scalars(
        sa.select(column).where(column.is_not(None), column != "").distinct().order_by(column)
        .limit(MAX_VALUES)
    )
    return [r for r in rows]


def _labelled(field: str, values: list[str]) -> list[dict[str, str]]:
    return [{"value": v, "label": choice_label(field, v)} for v in values]


def _hub_values(db: Session) -> dict[str, list[dict[str, str]]]:
    """The lists a field's value is chosen from, each {value, label}."""
    owned = sa.select(Customer.owner_id).where(Customer.owner_id.is_not(None))
    people = db.scalars(
        sa.select(User)
        .where(sa.or_(User.id.in_(owned), sa.and_(User.active.is_(True), User.role.in_(OWNERS))))
        .order_by(User.name, User.email)
    )
    known = {
        "class": ["A", "B", "C"],
        "stage": list(CHOICE_LABELS["stage"]),
        "kind": list(CHOICE_LABELS["kind"]),
        "lead_source": sorted({s.value for s in LeadSource} | set(_distinct(db, Customer.lead_source))),
        "region": _distinct(db, Customer.region),
        "industry": _distinct(db, Customer.industry),
        "language": sorted(set(CHOICE_LABELS["language"]) | set(_distinct(db, Contact.language))),
        "opportunity_stage": list(get_rules(db)["pipeline_stages"]),
    }
    values = {name: _labelled(name, v) for name, v in known.items()}
    values["owner"] = [{"value": str(u.id), "label": u.display_name} for u in people]
    values["decision_maker"] = [
        {"value": "true", "label": str(_l("Yes"))},
        {"value": "false", "label": str(_l("No"))},
    ]
    values["consent"] = [
        {"value": c, "label": choice_label("channel", c)} for c in ("email", "sms", "call")
    ]
    return values


def _tags(db: Session) -> list[str]:
    """Tag names for completion, the most used first."""
    used = sa.func.count(customer_tags.c.customer_id)
    rows = db.execute(
        sa.select(Tag.name, used)
        .outerjoin(customer_tags, customer_tags.c.tag_id == Tag.id)
        .group_by(Tag.name)
        .order_by(used.desc(), Tag.name)
        .limit(MAX_VALUES)
    )
    return [name for name, _ in rows]


def _input(spec: rules.Spec, choices: list[Any]) -> str:
    if spec.kind in ("tags", "consent", "owner", "survey", "date"):
        return spec.kind
    if spec.kind in ("orders", "turnover"):
        return "period"
    if spec.kind in ("choice", "opportunity") or choices:
        return "choices"
    if spec.kind == "number" or set(spec.ops) <= set(rules.NUMBER_OPS) | set(rules.NO_VALUE_OPS):
        return "number"
    return "text"


def _ops(spec: rules.Spec, input_type: str) -> list[dict[str, str]]:
    same = {"period": "number", "survey": "number", "owner": "choices"}
    order = OP_ORDER.get(same.get(input_type, input_type), ())
    hidden = NOT_OFFERED.get(spec.kind, ())
    ops = [op for op in order if op in spec.ops] + [
        op for op in spec.ops if op not in order and op not in hidden
    ]
    special = OP_LABELS_BY_INPUT.get(input_type, {})
    return [{"op": op, "label": str(special.get(op) or OP_LABELS.get(op, op))} for op in ops]


def _group(spec: rules.Spec) -> str:
    if spec.kind in GROUP_OF_KIND:
        return GROUP_OF_KIND[spec.kind]
    table = getattr(getattr(spec.column, "class_", None), "__tablename__", "")
    return "contact" if table == "contacts" else "customer"


def _field(name: str, spec: rules.Spec, label: Any, group: str, choices: list[Any]) -> dict[str, Any]:
    input_type = _input(spec, choices)
    entry: dict[str, Any] = {
        "name": name,
        "label": str(label),
        "group": group,
        "input": input_type,
        "ops": _ops(spec, input_type),
        "choices": choices,
    }
    if spec.kind == "survey":
        from hub.campaigns.surveys.answers import SCALES

        entry["range"] = list(SCALES[spec.choices[0]])
    return entry


def catalogue(db: Session) -> dict[str, Any]:
    """The builder's fields, groups and words, as the page embeds them (JSON)."""
    values = _hub_values(db)
    fields = []
    for name, spec in rules.FIELDS.items():
        label = LABELS.get(name) or name.replace("_", " ").capitalize()
        choices = values.get(name) or (
            _labelled(name, list(spec.choices)) if spec.kind == "choice" else []
        )
        fields.append(_field(name, spec, label, _group(spec), choices))
    for custom in db.scalars(sa.select(CustomField).order_by(CustomField.label)):
        spec = rules.custom_field_spec(custom)
        choices = [{"value": c, "label": c} for c in spec.choices]
        fields.append(_field(f"custom.{custom.key}", spec, custom.label, "custom", choices))
    order = [g for g, _ in GROUPS]
    fields.sort(key=lambda f: order.index(f["group"]) if f["group"] in order else len(order))
    return {
        "groups": [{"key": key, "label": str(label)} for key, label in GROUPS],
        "fields": fields,
        "tags": _tags(db),
        "max_depth": rules.MAX_DEPTH,
    }
