"""The classification page: suggested A/B/C classes by rule, the revenue curve, and applying them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from hub import db
from hub.auth import Role, require_user, roles_required
from hub.crm import classification as svc
from hub.crm.reminders import business_today
from hub.crm.rules import get_rules
from hub.pagination import Page
from hub.validation import FieldError, ValidationError

bp = Blueprint("classification", __name__)

PER_PAGE = 50


@dataclass(frozen=True)
class Choice:
    """The rule picked on the page and what it suggests."""

    rule: str
    since: date | None
    params: dict[str, Any]
    suggestions: dict[int, str]
    pareto: svc.Pareto | None


def _since(raw: str | None, today: date) -> date | None:
    if raw is None:
        return today - timedelta(days=365)  # first visit: the last twelve months
    if not raw.strip():
        return None  # asked for all time
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError(
            [FieldError("since", _("Expected a date like 2026-03-31."))]
        ) from None


def _choose(args: Any) -> Choice:
    s = db.session()
    rule = args.get("rule") or "revenue"
    if rule not in svc.RULES:
        raise ValidationError(
            [FieldError("rule", _("Choose one of: %(choices)s.", choices=", ".join(svc.RULES)))]
        )
    today = business_today()
    rules = get_rules(s)
    if rule == "revenue":
        since = _since(args.get("since"), today)
        percents = rules["revenue_class_percent"]
        revenue = svc.revenue(s, since)
        suggestions = svc.suggest_by_revenue(s, revenue, percents)
        curve = svc.pareto(revenue, suggestions)
        return Choice(rule, since, {**percents, "since": since}, suggestions, curve)
    days = rules["horizon_class_days"]
    suggestions = svc.suggest_by_horizon(s, days, today=today)
    return Choice(rule, None, {**days, "today": today}, suggestions, None)


def _args(choice: Choice) -> dict[str, str]:
    """The query that shows the same rule again (an empty `since` means all time)."""
    args = {"rule": choice.rule}
    if choice.rule == "revenue":
        args["since"] = choice.since.isoformat() if choice.since else ""
    return args


def _render(choice: Choice, number: int, errors: dict[str, str], status: int = 200) -> Any:
    changes = svc.changes(db.session(), choice.suggestions)
    pages = max(1, -(-len(changes) // PER_PAGE))
    number = min(max(1, number), pages)
    page = Page(
        items=changes[(number - 1) * PER_PAGE : number * PER_PAGE],
        total=len(changes),
        number=number,
        per_page=PER_PAGE,
    )
    body = render_template(
        "classification.html",
        choice=choice,
        page=page,
        args=_args(choice),
        errors=errors,
        reason=svc.rule_reason(choice.rule, choice.params),
    )
    return body, status


@bp.get("/classification")
@roles_required(Role.DIRECTOR)
def page() -> Any:
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        number = 1
    return _render(_choose(request.args), number, {})


@bp.post("/classification/apply")
@roles_required(Role.DIRECTOR)
def apply() -> Any:
    choice = _choose(request.form)
    suggestions = choice.suggestions
    if request.form.get("scope") != "all":
        # Only what the page offered: a posted id the rule does not suggest changes nothing.
        chosen = {int(i) for i in request.form.getlist("customer_id") if i.isdigit()}
        suggestions = {k: v for k, v in suggestions.items() if k in chosen}
        if not suggestions:
            errors = {"customer_id": _("Tick at least one customer, or apply to all.")}
            return _render(choice, 1, errors, 422)
    s = db.session()
    changed = svc.apply_suggestions(
        s, require_user(), suggestions, svc.rule_reason(choice.rule, choice.params)
    )
    s.commit()
    flash(
        ngettext("%(num)d customer reclassified.", "%(num)d customers reclassified.", changed),
        "success",
    )
    return redirect(url_for(".page", **_args(choice)))
