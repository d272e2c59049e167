"""Admin pages of the customer database: the CRM rules, and the custom fields customers carry."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import Role, require_user, roles_required
from hub.core.refusals import ValidationError
from hub.crm.customers import crm_admin_bp as bp
from hub.crm.customers import custom_fields as fields_svc
from hub.crm.rules import DEFAULTS, get_rules, update_rules

RULE_LABELS = {
    "follow_up_cadence_days": _l("Days between follow-ups, by class"),
    "credit_review_months": _l("Months between credit reviews, by class"),
    "revenue_class_percent": _l("Revenue rule: percent of revenue made by A, then by B customers"),
    "horizon_class_days": _l("Horizon rule: days until an expected close for A, B and C"),
    "pipeline_stages": _l("Pipeline stages, in order (comma-separated; won and lost required)"),
    "nurture_after_days": _l("Days without a follow-up before an opportunity goes to nurture"),
    "complaint_step_days": _l("Days a complaint step may take before it is overdue"),
    "collection_cadence_days": _l("Days between collection contacts on an amount due"),
    "credit_event_overdue_days": _l("Days overdue before a customer gets a credit event"),
}
RULE_HINTS = {
    "follow_up_cadence_days": _l(
        "Class A means follow up until the deal is closed: relentless, with no fixed gap. The "
        "hub brings an A customer back every day unless you set more days; B and C come back "
        "after the days set here. A follow-up recorded without a next-contact date takes this."
    ),
}
KIND_LABELS = {
    "text": _l("Text"),
    "number": _l("Number"),
    "date": _l("Date"),
    "choice": _l("Choice"),
}


# --- rules --------------------------------------------------------------------------------------


def _form_values() -> dict[str, Any]:
    """Each rule as the form sent it, in the rule's shape (values still text)."""
    out: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        if isinstance(default, dict):
            out[key] = {k: request.form.get(f"{key}.{k}", "").strip() for k in default}
        elif isinstance(default, list):
            out[key] = [s.strip() for s in request.form.get(key, "").split(",") if s.strip()]
        else:
            out[key] = request.form.get(key, "").strip()
    return out


def _as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items()}
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value)


def _render_rules(values: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    body = render_template(
        "crm_rules.html",
        values={k: _as_text(v) for k, v in values.items()},
        defaults=DEFAULTS,
        labels=RULE_LABELS,
        hints=RULE_HINTS,
        errors=errors,
    )
    return body, status


@bp.get("/crm-rules")
@roles_required(Role.DIRECTOR)
def rules() -> Any:
    return _render_rules(get_rules(db.session()).values, {})


@bp.post("/crm-rules")
@roles_required(Role.DIRECTOR)
def save_rules() -> Any:
    s = db.session()
    current = get_rules(s).values
    sent = _form_values()
    # Only rules that were changed are stored, so the others keep following their defaults.
    changed = {k: v for k, v in sent.items() if _as_text(v) != _as_text(current[k])}
    try:
        update_rules(s, changed)
    except ValidationError as exc:
        s.rollback()
        return _render_rules({**current, **sent}, exc.as_dict(), 422)
    s.commit()
    flash(_("The rules were saved."), "success")
    return redirect(url_for(".rules"))


# --- custom fields ------------------------------------------------------------------------------


def _render_fields(form: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    body = render_template(
        "custom_fields.html",
        fields=fields_svc.list_fields(db.session()),
        kinds=fields_svc.FIELD_KINDS,
        kind_labels=KIND_LABELS,
        form=form,
        errors=errors,
    )
    return body, status


@bp.get("/custom-fields")
@roles_required()
def custom_fields() -> Any:
    return _render_fields({}, {})


@bp.post("/custom-fields")
@roles_required()
def create_custom_field() -> Any:
    form = {k: request.form.get(k, "") for k in ("key", "label", "kind", "choices")}
    s = db.session()
    try:
        field = fields_svc.create_field(s, require_user(), form)
    except ValidationError as exc:
        s.rollback()
        return _render_fields(form, exc.as_dict(), 422)
    s.commit()
    flash(_("The field %(label)s was added.", label=field.label), "success")
    return redirect(url_for(".custom_fields"))


@bp.post("/custom-fields/<int:field_id>/label")
@roles_required()
def rename_custom_field(field_id: int) -> Any:
    s = db.session()
    try:
        field = fields_svc.rename_field(s, require_user(), field_id, request.form.get("label"))
    except ValidationError as exc:
        s.rollback()
        return _render_fields({}, {f"label-{field_id}": exc.errors[0].message}, 422)
    s.commit()
    flash(_("The field is now called %(label)s.", label=field.label), "success")
    return redirect(url_for(".custom_fields"))


@bp.get("/custom-fields/<int:field_id>/delete")
@roles_required()
def confirm_delete_custom_field(field_id: int) -> str:
    s = db.session()
    field = fields_svc.load_field(s, field_id)
    return render_template(
        "custom_fields_delete.html", field=field, values=fields_svc.value_count(s, field.id)
    )


@bp.post("/custom-fields/<int:field_id>/delete")
@roles_required()
def delete_custom_field(field_id: int) -> Response:
    if request.form.get("confirm") != "yes":
        # Deleting loses every customer's value: only the confirmation page's button does it.
        return redirect(url_for(".confirm_delete_custom_field", field_id=field_id))
    s = db.session()
    label = fields_svc.load_field(s, field_id).label
    removed = fields_svc.delete_field(s, require_user(), field_id)
    s.commit()
    flash(
        _("The field %(label)s and %(count)d values were deleted.", label=label, count=removed),
        "success",
    )
    return redirect(url_for(".custom_fields"))
