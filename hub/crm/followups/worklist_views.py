"""The work list pages: each user's due list, the director's team view, and the morning digests.

The classification, CRM rules and custom-field pages live in their own modules; their blueprints
are nested here, so registering this one registers them all.
"""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _

from hub.core import db
from hub.core.auth import Role, User, login_required, require_user, roles_required
from hub.core.clock import business_today
from hub.core.pagination import page_arg
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.crm.customers import classification_views, crm_admin_views
from hub.crm.followups import worklist_bp as bp
from hub.crm.followups.reminders import (
    DueList,
    can_see_list_of,
    due_items,
    load_digest,
    team_counts,
    user_digests,
)

bp.register_blueprint(classification_views.bp)
bp.register_blueprint(crm_admin_views.bp)


@bp.context_processor
def _links() -> dict[str, object]:
    # Runs for this blueprint's pages and the nested ones (classification, CRM admin).
    return {"customer_url": customer_url}


def customer_url(customer_id: int) -> str:
    """The customer's page: its endpoint once the customer page exists, its path until then."""
    if "crm.customer" in current_app.view_functions:
        return url_for("crm.customer", customer_id=customer_id)
    return f"/customers/{customer_id}"


def _list_owner(viewer: User) -> User:
    raw = request.args.get("user", "").strip()
    if not raw:
        return viewer
    if not raw.isdigit():
        raise ValidationError([FieldError("user", _("Expected a whole number."))])
    if not can_see_list_of(viewer, int(raw)):
        raise Forbidden(_("Only a director or an admin reads another rep's list."))
    owner = db.session().get(User, int(raw))
    if owner is None:
        raise NotFound(_("There is no user %(id)s.", id=raw))
    return owner


@bp.get("/due")
@login_required
def due() -> str:
    viewer = require_user()
    owner = _list_owner(viewer)
    items = due_items(db.session(), owner, business_today())
    return render_template("due.html", items=items, owner=owner, viewer=viewer)


@bp.get("/due/team")
@roles_required(Role.DIRECTOR)
def due_team() -> str:
    today = business_today()
    return render_template("due_team.html", reps=team_counts(db.session(), today), today=today)


@bp.get("/digests")
@login_required
def digests() -> str:
    return render_template(
        "digests.html", page=user_digests(db.session(), require_user(), page_arg())
    )


@bp.get("/digests/<int:digest_id>")
@login_required
def digest(digest_id: int) -> str:
    found = load_digest(db.session(), require_user(), digest_id)
    return render_template(
        "digest.html",
        digest=found,
        items=DueList.from_json(found.content),
    )
