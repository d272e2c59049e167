"""Template pages: the list, and the editor with the SMS size and a preview against a contact."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.campaigns import campaigns_bp as bp
from hub.campaigns.staff import STAFF
from hub.campaigns.templates import saved as svc
from hub.campaigns.templates.models import CHANNELS
from hub.campaigns.templates.rendering import FILTERS, VARIABLES, sms_size
from hub.core import db
from hub.core.auth import require_user, roles_required
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import ValidationError
from hub.crm.customers.views import form_values


@bp.get("/templates")
@roles_required(*STAFF)
def template_list() -> str:
    q = request.args.get("q", "").strip()[:120]
    stmt = svc.list_templates(q).order_by(svc.MessageTemplate.name)
    return render_template("message_templates.html", page=paginate(db.session(), stmt, page_arg()), q=q)


def _editor(
    template: svc.MessageTemplate | None, values: dict[str, Any], errors: dict[str, str]
) -> tuple[str, int]:
    s = db.session()
    preview = None
    contact_id = request.args.get("contact_id", "").strip()
    if template is not None and contact_id.isdigit() and not errors:
        try:
            preview = svc.preview(s, template, int(contact_id), request.host_url.rstrip("/"))
        except ValidationError as exc:
            errors = exc.as_dict()
    size = sms_size(values.get("body") or "") if values.get("channel") == "sms" else None
    return render_template(
        "message_template_form.html",
        template=template,
        values=values,
        errors=errors,
        channels=CHANNELS,
        variables=VARIABLES,
        filters=FILTERS,
        size=size,
        preview=preview,
        contact_id=contact_id,
    ), 422 if errors else 200


@bp.get("/templates/new")
@roles_required(*STAFF)
def template_new() -> tuple[str, int]:
    return _editor(None, {"channel": request.args.get("channel", "email")}, {})


@bp.get("/templates/<int:template_id>")
@roles_required(*STAFF)
def template_edit(template_id: int) -> tuple[str, int]:
    template = svc.load_template(db.session(), template_id)
    values = {f.name: getattr(template, f.name) for f in svc.TEMPLATE_FIELDS}
    return _editor(template, values, {})


@bp.post("/templates/new")
@bp.post("/templates/<int:template_id>")
@roles_required(*STAFF)
def template_save(template_id: int | None = None) -> Response | tuple[str, int]:
    s = db.session()
    template = svc.load_template(s, template_id) if template_id else None
    values = form_values(svc.TEMPLATE_FIELDS)
    try:
        if template is None:
            template = svc.create_template(s, require_user(), values)
        else:
            svc.update_template(s, template, values)
    except ValidationError as exc:
        s.rollback()
        return _editor(template, values, exc.as_dict())
    s.commit()
    flash(_("Template %(name)s saved.", name=template.name), "success")
    return redirect(url_for("campaigns.template_edit", template_id=template.id))
