"""The lead webhook a company's website posts to, and the admin page of lead forms and keys."""

from __future__ import annotations

from typing import Any

from flask import (
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db, services
from hub.core.auth import Role, public, require_user, roles_required
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import NotFound, ValidationError
from hub.crm.customers.views import owners
from hub.crm.intake import lead_forms_bp as bp
from hub.crm.intake.lead_forms import (
    HONEYPOT,
    LeadForm,
    capture_lead,
    create_form,
    form_for_key,
    forms_query,
    load_form,
    revoke_form,
)

RATE_LIMIT = 10  # leads per address per window; a person sends one or two
RATE_WINDOW = 3600


def _json(body: dict[str, Any], status: int, **headers: str) -> Response:
    response = jsonify(body)
    response.status_code = status
    # Website forms post from their own origin.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.update(headers)
    return response


@bp.route("/webhooks/leads/<form_key>", methods=["OPTIONS"])
@public
def lead_preflight(form_key: str) -> Response:
    response = _json({}, 204)
    response.headers["Access-Control-Allow-Methods"] = "POST"
    response.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return response


@bp.post("/webhooks/leads/<form_key>")
@public
def capture(form_key: str) -> Response:
    """A lead from a website form (form-encoded or JSON), authenticated by the form's key."""
    conn = services.redis()
    limit = current_app.config.get("LEAD_RATE_LIMIT", RATE_LIMIT)
    # Counted before the key is looked at, so guessing keys is rate limited too.
    counter = f"hub:leads:rate:{request.remote_addr}"
    count = conn.incr(counter)
    if count == 1:
        conn.expire(counter, RATE_WINDOW)
    if count > limit:
        return _json(
            {"error": _("Too many submissions from this address; try again later.")},
            429,
            **{"Retry-After": str(max(conn.ttl(counter), 1))},
        )
    s = db.session()
    try:
        form = form_for_key(s, form_key)
    except NotFound as exc:
        return _json({"error": str(exc)}, 404)
    data = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    if not isinstance(data, dict):
        return _json({"error": _("Send the form's fields, form-encoded or as a JSON object.")}, 400)
    if str(data.get(HONEYPOT) or "").strip():
        # A bot filled the hidden field: it gets the same answer as a person and nothing is kept.
        return _json({"status": "received"}, 201)
    try:
        capture_lead(s, form, data, conn, current_app.config["SETTINGS"].default_region)
    except ValidationError as exc:
        s.rollback()
        return _json({"error": _("Some fields are not valid."), "errors": exc.as_list()}, 422)
    s.commit()
    return _json({"status": "received"}, 201)


@bp.route("/admin/lead-forms", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin() -> tuple[str, int] | Response:
    user = require_user()
    s = db.session()
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = {
            "name": request.form.get("name", ""),
            "owner_ids": [int(i) for i in request.form.getlist("owner_ids") if i.isdigit()],
            "rules": request.form.get("rules", ""),
        }
        try:
            form = create_form(s, user, values["name"], values["owner_ids"], values["rules"])
        except ValidationError as exc:
            s.rollback()
            errors = {}
            for e in exc.errors:  # several bad rule lines: show them all
                errors[e.field] = (
                    f"{errors[e.field]} {e.message}" if e.field in errors else e.message
                )
        else:
            s.commit()
            flash(_("Form %(name)s created.", name=form.name), "success")
            return redirect(url_for("lead_forms.admin"))
    q = request.args.get("q", "")
    # Working forms first, the newest on top.
    stmt = forms_query(q).order_by(LeadForm.revoked_at.is_not(None), LeadForm.id.desc())
    people = owners(s)
    return render_template(
        "lead_forms.html",
        page=paginate(s, stmt, page_arg(), 25),
        q=q,
        owners=people,
        names={u.id: u.display_name for u in people},
        errors=errors,
        values=values,
        base=(current_app.config["SETTINGS"].public_url or request.host_url.rstrip("/")),
    ), 422 if errors else 200


@bp.post("/admin/lead-forms/<int:form_id>/revoke")
@roles_required(Role.ADMIN)
def revoke(form_id: int) -> Response:
    s = db.session()
    form = load_form(s, form_id)
    revoke_form(s, form)
    s.commit()
    flash(_("The key of %(name)s no longer works.", name=form.name), "success")
    return redirect(url_for("lead_forms.admin"))
