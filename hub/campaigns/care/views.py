"""The care-message rules page: the rules with what each has sent, a form to add one, and each
rule's own form to change or switch it off."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from hub.campaigns import campaigns_bp as bp
from hub.campaigns.care.models import CareRule
from hub.campaigns.care.rules import OCCASION_LABELS, list_rules, save_rule, sent_counts
from hub.campaigns.staff import STAFF
from hub.campaigns.templates.models import MessageTemplate
from hub.core import db
from hub.core.auth import require_user, roles_required
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import NotFound, ValidationError
from hub.core.validation import MAX_ID

FORM_KEYS = ("name", "occasion", "days", "channel", "template_id", "survey")


def _values_of(rule: CareRule) -> dict[str, Any]:
    return {k: "" if getattr(rule, k) is None else str(getattr(rule, k)) for k in FORM_KEYS} | {
        "active": rule.active
    }


def _page(rule: CareRule | None, values: dict[str, Any], errors: dict[str, str]) -> tuple[str, int]:
    s = db.session()
    q = request.args.get("q", "").strip()[:120]
    page = paginate(s, list_rules(q), page_arg())
    return render_template(
        "care_rules.html",
        page=page,
        q=q,
        sent=sent_counts(s, [r.id for r in page.items]),
        rule=rule,
        values=values,
        errors=errors,
        occasions=OCCASION_LABELS,
        templates=s.execute(
            sa.select(MessageTemplate.id, MessageTemplate.name, MessageTemplate.channel)
            .order_by(MessageTemplate.name)
        ).all(),
        template_names=dict(s.execute(sa.select(MessageTemplate.id, MessageTemplate.name)).all()),
    ), 422 if errors else 200


def _form_data() -> dict[str, Any]:
    values = {k: request.form.get(k, "").strip() for k in FORM_KEYS}
    values["active"] = request.form.get("active") == "1"
    return values


def _rule(rule_id: int) -> CareRule:
    rule = db.session().get(CareRule, rule_id) if 0 < rule_id <= MAX_ID else None
    if rule is None:
        raise NotFound(_("There is no care rule %(id)s.", id=rule_id))
    return rule


@bp.get("/care")
@roles_required(*STAFF)
def care_rules() -> tuple[str, int]:
    return _page(None, {"occasion": "birthday", "days": "0", "channel": "sms", "active": True}, {})


@bp.post("/care")
@roles_required(*STAFF)
def care_rule_create() -> WerkzeugResponse | tuple[str, int]:
    s = db.session()
    values = _form_data()
    try:
        rule = save_rule(s, values, user_id=require_user().id)
    except ValidationError as exc:
        s.rollback()
        return _page(None, values, exc.as_dict())
    s.commit()
    flash(_("Care rule %(name)s saved.", name=rule.name), "success")
    return redirect(url_for("campaigns.care_rules"))


@bp.get("/care/<int:rule_id>")
@roles_required(*STAFF)
def care_rule_edit(rule_id: int) -> tuple[str, int]:
    rule = _rule(rule_id)
    return _page(rule, _values_of(rule), {})


@bp.post("/care/<int:rule_id>")
@roles_required(*STAFF)
def care_rule_update(rule_id: int) -> WerkzeugResponse | tuple[str, int]:
    s = db.session()
    rule = _rule(rule_id)
    values = _form_data()
    try:
        save_rule(s, values, rule)
    except ValidationError as exc:
        s.rollback()
        return _page(_rule(rule_id), values, exc.as_dict())
    s.commit()
    flash(_("Care rule %(name)s saved.", name=rule.name), "success")
    return redirect(url_for("campaigns.care_rules"))
