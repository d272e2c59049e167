"""The classification page: suggested A/B/C classes by rule, the revenue curve, and applying them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from hub.core import db, services
from hub.core.auth import Role, require_user, roles_required
from hub.core.clock import business_today
from hub.core.pagination import Page
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers import classification as svc
from hub.crm.customers import classification_bp as bp

PER_PAGE = 50


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


def _choose(args: Any) -> svc.Suggested:
    today = business_today()
    rule = args.get("rule") or "revenue"
    since = _since(args.get("since"), today) if rule == "revenue" else None
    return svc.suggest(db.session(), rule, since, today)


def _args(choice: svc.Suggested) -> dict[str, str]:
    """The query that shows the same rule again (an empty `since` means all time)."""
    args = {"rule": choice.rule}
    if choice.rule == "revenue":
        args["since"] = choice.since.isoformat() if choice.since else ""
    return args


def _render(choice: svc.Suggested, number: int, errors: dict[str, str], status: int = 200) -> Any:
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
        pareto=None if choice.revenue is None else svc.pareto(choice.revenue, choice.suggestions),
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
    user = require_user()
    reason = svc.rule_reason(choice.rule, choice.params)
    pending = len(svc.changes(s, suggestions))
    if pending > svc.APPLY_INLINE_MAX:
        # Too many audited writes for one request: a worker applies them.
        since = choice.since.isoformat() if choice.since else None
        services.queue("bulk").enqueue(
            svc.apply_rule_job, user.id, choice.rule, since, choice.today.isoformat(), reason
        )
        flash(
            _(
                "%(num)d class changes are being applied in the background; "
                "reload this page in a minute.",
                num=pending,
            ),
            "success",
        )
        return redirect(url_for(".page", **_args(choice)))
    changed = svc.apply_suggestions(s, user, suggestions, reason, today=choice.today)
    s.commit()
    flash(
        ngettext("%(num)d customer reclassified.", "%(num)d customers reclassified.", changed),
        "success",
    )
    return redirect(url_for(".page", **_args(choice)))
