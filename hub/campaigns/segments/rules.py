"""The segment filter language: an allow-list of fields and operators compiled to SQLAlchemy.

A definition is `{"match": "all" | "any", "rules": [rule or group, ...]}`; a rule is
`{"field": ..., "op": ..., "value": ...}` (period fields also take `"from"` and `"to"` dates).
Every value becomes a bound parameter: nothing typed by a user is ever put into SQL text. An
unknown field or operator, or a value of the wrong kind, is refused naming where it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.campaigns.segments.subqueries import (
    consent_rule,
    orders_rule,
    overdue_rule,
    rule_period,
    survey_rule,
    tags_rule,
)
from hub.campaigns.segments.values import (
    NO_VALUE_OPS,
    RELATIVE_DATE_OPS,
    _date_rule,
    _number,
    _owner,
    _text,
    _text_list,
)
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.models import Contact, Customer, CustomField, CustomFieldValue
from hub.crm.sales.models import Opportunity

MAX_DEPTH = 5
MAX_RULES = 100

TEXT_OPS = ("eq", "ne", "in", "not_in", "contains", "is_empty", "not_empty")
CHOICE_OPS = ("eq", "ne", "in", "not_in")
DATE_OPS = ("before", "after", "on", "between", "is_empty", "not_empty", *RELATIVE_DATE_OPS)
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
TAG_OPS = ("contains", "not_contains", "contains_any")
CONSENT_OPS = ("granted", "refused", "not_refused")
# gt ... between compare user ids, as owner did when it was a plain number: still taken from the
# API, no longer offered by the builder.
OWNER_OPS = (
    "eq",
    "ne",
    "in",
    "not_in",
    "is_empty",
    "not_empty",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
)
SURVEY_OPS = NUMBER_OPS + NO_VALUE_OPS  # is_empty: never answered one


@dataclass(frozen=True)
class Spec:
    """One field a segment may filter on: its kind (which decides the operators) and column."""

    kind: str  # text, choice, date, number, owner, tags, consent, orders, turnover, opportunity, survey
    column: Any = None
    choices: tuple[str, ...] = ()

    @property
    def ops(self) -> tuple[str, ...]:
        return {
            "text": TEXT_OPS,
            "choice": CHOICE_OPS,
            "date": DATE_OPS,
            "number": NUMBER_OPS,
            "owner": OWNER_OPS,
            "tags": TAG_OPS,
            "consent": CONSENT_OPS,
            "orders": NUMBER_OPS,
            "turnover": NUMBER_OPS,
            "opportunity": CHOICE_OPS,
            "survey": SURVEY_OPS,
            "overdue": NUMBER_OPS,
        }[self.kind]


def _fields() -> dict[str, Spec]:
    from hub.crm.customers.models import CustomerClass, Stage

    return {
        "class": Spec("choice", Customer.customer_class, tuple(c.value for c in CustomerClass)),
        "stage": Spec("choice", Customer.stage, tuple(s.value for s in Stage)),
        "kind": Spec("choice", Customer.kind, ("organization", "person")),
        "tags": Spec("tags"),
        "owner": Spec("owner", Customer.owner_id),
        "region": Spec("text", Customer.region),
        "city": Spec("text", Customer.city),
        "industry": Spec("text", Customer.industry),
        "lead_source": Spec("text", Customer.lead_source),
        "customer_name": Spec("text", Customer.name),
        "contact_email": Spec("text", Contact.email),
        "contact_phone": Spec("text", Contact.phone),
        "language": Spec("text", Contact.language),
        "decision_maker": Spec("choice", Contact.is_decision_maker, ("true", "false")),
        "consent": Spec("consent"),
        "last_contact": Spec("date", Customer.last_contact_at),
        "next_contact": Spec("date", Customer.next_contact_on),
        "created": Spec("date", Customer.created_at),
        "birthday": Spec("date", Contact.birthday),
        "orders": Spec("orders"),
        "turnover": Spec("turnover"),
        "opportunity_stage": Spec("opportunity"),
        # The contact's latest answer of that survey (NPS 0-10, CSAT 1-5).
        "nps_score": Spec("survey", choices=("nps",)),
        "csat_score": Spec("survey", choices=("csat",)),
        # Receivables on the day the segment is counted: CNY overdue, and the oldest's days.
        "overdue_amount": Spec("overdue", choices=("amount",)),
        "overdue_days": Spec("overdue", choices=("days",)),
    }


FIELDS = _fields()


def custom_field_spec(field: CustomField) -> Spec:
    """How a custom field filters: by the column of its type, with its choices if it has some."""
    column = {
        "number": CustomFieldValue.value_number,
        "date": CustomFieldValue.value_date,
    }.get(field.kind, CustomFieldValue.value_text)
    kind = {"number": "number", "date": "date", "choice": "choice"}.get(field.kind, "text")
    return Spec(kind, column, tuple(field.choices or ()) if kind == "choice" else ())


FIELD_NAMES = tuple(sorted(FIELDS)) + ("custom.<key>",)


class _Compiler:
    def __init__(self, db: Session):
        self.db = db
        self.errors: list[FieldError] = []
        self.count = 0
        self._custom: dict[str, CustomField | None] = {}

    def error(self, where: str, message: str) -> None:
        self.errors.append(FieldError(where, message))

    def group(self, node: Any, where: str, depth: int) -> sa.ColumnElement[bool] | None:
        if not isinstance(node, dict):
            self.error(where or "body", _("Expected an object with match and rules."))
            return None
        if depth > MAX_DEPTH:
            self.error(where or "body", _("Groups nest at most %(count)d deep.", count=MAX_DEPTH))
            return None
        prefix = f"{where}." if where else ""
        match = node.get("match", "all")
        if match not in ("all", "any"):
            self.error(prefix + "match", _("Choose one of: %(choices)s.", choices="all, any"))
        unknown = sorted(set(node) - {"match", "rules", "name"})
        for key in unknown:
            self.error(prefix + key, _("Unknown key %(key)s.", key=key))
        rules = node.get("rules")
        if not isinstance(rules, list) or not rules:
            self.error(prefix + "rules", _("Give at least one rule."))
            return None
        parts = []
        for i, rule in enumerate(rules):
            at = f"{prefix}rules[{i}]"
            self.count += 1
            if self.count > MAX_RULES:
                self.error(at, _("At most %(count)d rules in a segment.", count=MAX_RULES))
                return None
            if isinstance(rule, dict) and "rules" in rule:
                part = self.group(rule, at, depth + 1)
            else:
                part = self.rule(rule, at)
            if part is not None:
                parts.append(part)
        if not parts:
            return None
        return sa.and_(*parts) if match != "any" else sa.or_(*parts)

    def rule(self, rule: Any, at: str) -> sa.ColumnElement[bool] | None:
        if not isinstance(rule, dict):
            self.error(at, _("Expected an object with field, op and value."))
            return None
        name = rule.get("field")
        if not isinstance(name, str) or not name:
            self.error(f"{at}.field", _("This field is required."))
            return None
        unknown = sorted(set(rule) - {"field", "op", "value", "from", "to"})
        for key in unknown:
            self.error(f"{at}.{key}", _("Unknown key %(key)s.", key=key))
        if name.startswith("custom."):
            spec = self.custom_spec(name[len("custom.") :], at)
        else:
            spec = FIELDS.get(name)
            if spec is None:
                self.error(
                    f"{at}.field",
                    _(
                        "Unknown field %(field)s; the fields are: %(choices)s.",
                        field=name,
                        choices=", ".join(FIELD_NAMES),
                    ),
                )
        if spec is None:
            return None
        op = rule.get("op")
        if op not in spec.ops:
            self.error(
                f"{at}.op",
                _(
                    "Unknown operator %(op)s for %(field)s; use one of: %(choices)s.",
                    op=str(op),
                    field=name,
                    choices=", ".join(spec.ops),
                ),
            )
            return None
        try:
            return self.compile(spec, op, rule, at)
        except FieldError as exc:
            self.errors.append(exc)
            return None

    def custom_spec(self, key: str, at: str) -> Spec | None:
        if key not in self._custom:
            self._custom[key] = self.db.scalar(sa.select(CustomField).where(CustomField.key == key))
        field = self._custom[key]
        if field is None:
            self.error(f"{at}.field", _("Unknown custom field %(key)s.", key=key))
            return None
        return custom_field_spec(field)

    def compile(self, spec: Spec, op: str, rule: dict[str, Any], at: str) -> Any:
        value = rule.get("value")
        where = f"{at}.value"
        if op not in NO_VALUE_OPS and spec.kind != "consent" and value is None:
            raise FieldError(where, _("This field is required."))
        if spec.kind == "tags":
            return tags_rule(op, value, where)
        if spec.kind == "consent":
            return consent_rule(op, value, where)
        if spec.kind in ("orders", "turnover"):
            return orders_rule(spec.kind, op, value, where, rule_period(rule, at))
        if spec.kind == "survey":
            return survey_rule(spec.choices[0], op, value, where)
        if spec.kind == "overdue":
            return overdue_rule(spec.choices[0], op, value, where)
        if spec.kind == "opportunity":
            values = _text_list(value, where) if op in ("in", "not_in") else [_text(value, where)]
            exists = sa.exists().where(
                Opportunity.customer_id == Customer.id, Opportunity.stage.in_(values)
            )
            return exists if op in ("eq", "in") else ~exists
        column = spec.column
        custom = isinstance(column, sa.orm.InstrumentedAttribute) and (
            column.class_ is CustomFieldValue
        )
        if custom:
            key = rule["field"][len("custom.") :]
            field = self._custom[key]
            assert field is not None
            inner = _plain(spec, column, op, value, where, rule, at)
            if op == "is_empty":
                return ~sa.exists().where(
                    CustomFieldValue.customer_id == Customer.id,
                    CustomFieldValue.field_id == field.id,
                    column.is_not(None),
                )
            return sa.exists().where(
                CustomFieldValue.customer_id == Customer.id,
                CustomFieldValue.field_id == field.id,
                inner,
            )
        return _plain(spec, column, op, value, where, rule, at)


def _plain(spec: Spec, column: Any, op: str, value: Any, where: str, rule: Any, at: str) -> Any:
    if spec.kind == "date":
        return _date_rule(column, op, value, where)
    if spec.kind == "number":
        return _number(column, op, value, where)
    if spec.kind == "owner":
        return _owner(column, op, value, where)
    if op in NO_VALUE_OPS:
        empty = sa.or_(column.is_(None), column == "")
        return empty if op == "is_empty" else ~empty
    if spec.kind == "choice" and spec.choices:
        values = _text_list(value, where) if op in ("in", "not_in") else [_text(value, where)]
        bad = [v for v in values if v not in spec.choices]
        if bad:
            raise FieldError(
                where,
                _(
                    "%(value)s is not one of: %(choices)s.",
                    value=", ".join(bad),
                    choices=", ".join(spec.choices),
                ),
            )
        if column is Contact.is_decision_maker:
            values = [v == "true" for v in values]  # type: ignore[misc]
    elif op in ("in", "not_in"):
        values = _text_list(value, where)
    else:
        values = [_text(value, where)]
    if op == "eq":
        return column == values[0]
    if op == "ne":
        return sa.or_(column.is_(None), column != values[0])
    if op == "in":
        return column.in_(values)
    if op == "not_in":
        return sa.or_(column.is_(None), column.not_in(values))
    # contains: LIKE with the user's % and _ escaped, so they match themselves
    return column.contains(values[0], autoescape=True)


def compile_definition(db: Session, definition: Any) -> sa.ColumnElement[bool]:
    """The SQL condition over `contacts JOIN customers`, or ValidationError naming every problem."""
    compiler = _Compiler(db)
    condition = compiler.group(definition, "", 1)
    if compiler.errors:
        raise ValidationError(compiler.errors)
    assert condition is not None
    return condition
