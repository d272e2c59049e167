"""Opportunity pages: the board, the list, the forms, stage moves and the nurture pool."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import Role, login_required, require_user, roles_required
from hub.core.clock import utcnow
from hub.core.pagination import page_arg
from hub.core.redirects import safe_next
from hub.core.refusals import ValidationError
from hub.crm.customers.lookup import can_edit, load_customer
from hub.crm.customers.views import form_values
from hub.crm.followups.models import FollowUp
from hub.crm.sales import opportunities as svc
from hub.crm.sales import opportunity_changes as recording
from hub.crm.sales import opportunity_pipeline as pipeline
from hub.crm.sales import sales_bp as bp
from hub.crm.sales.models import Opportunity
from hub.crm.sales.view_helpers import customer_choices, int_arg, kept_args, owner_choices, staff

Page = str | tuple[str, int] | Response


@bp.get("/opportunities")
@login_required
def opportunities() -> str:
    user = require_user()
    s = db.session()
    q = request.args.get("q", "")
    stage = request.args.get("stage") or None
    sort = request.args.get("sort", "-created")
    page = svc.search_opportunities(s, user, q, stage, int_arg("owner"), sort, page_arg())
    pick = request.args.get("pick", "")
    return render_template(
        "opportunities.html",
        page=page,
        q=q,
        stage=stage,
        owner=int_arg("owner"),
        sort=sort,
        stages=pipeline.pipeline_stages(s),
        staff=staff(s) if user.role != Role.AGENT else [],
        kept=kept_args("page"),
        sort_args=kept_args("page", "sort"),
        pick=pick,
        choices=customer_choices(s, user, pick),
    )


@bp.get("/opportunities/board")
@login_required
def board() -> str:
    return _board_page({})[0]


def _board_page(errors: dict[int, dict[str, str]], status: int = 200) -> tuple[str, int]:
    user = require_user()
    columns = pipeline.board(db.session(), user)
    return render_template("opportunities_board.html", columns=columns, errors=errors), status


def _form_page(
    opp: Opportunity | None,
    customer: svc.Customer,
    values: dict[str, Any],
    errors: dict[str, str],
) -> tuple[str, int]:
    user = require_user()
    s = db.session()
    history: list[FollowUp] = []
    if opp is not None:
        history = list(
            s.scalars(
                sa.select(FollowUp)
                .where(FollowUp.opportunity_id == opp.id)
                .order_by(FollowUp.occurred_at.desc(), FollowUp.id.desc())
            )
        )
    stages = pipeline.pipeline_stages(s)
    previous, following = pipeline.neighbours(stages, opp.stage) if opp else (None, None)
    return render_template(
        "opportunities_form.html",
        opp=opp,
        customer=customer,
        values=values,
        errors=errors,
        fields={f.name: f for f in svc.OPPORTUNITY_FIELDS},
        stage_choices=[(st, svc.stage_label(st)) for st in stages],
        owners=[(u.id, u.display_name) for u in owner_choices(s, user)],
        can_edit=can_edit(user, customer),
        can_delete=user.role in (Role.ADMIN, Role.DIRECTOR),
        history=history,
        previous=previous,
        following=following,
    ), 422 if errors else 200


@bp.route("/customers/<int:customer_id>/opportunities/new", methods=["GET", "POST"])
@login_required
def new_opportunity(customer_id: int) -> Page:
    user = require_user()
    s = db.session()
    customer = load_customer(s, user, customer_id, edit=True)
    values: dict[str, Any] = {"currency": "CNY"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(svc.OPPORTUNITY_FIELDS)
        if user.role == Role.AGENT:
            values.pop("owner_id", None)
        try:
            opp = recording.create_opportunity(s, user, customer, values)
        except ValidationError as exc:
            s.rollback()
            errors = exc.as_dict()
        else:
            s.commit()
            flash(_("Opportunity %(title)s added.", title=opp.title), "success")
            return redirect(url_for("sales.opportunity", opportunity_id=opp.id))
    return _form_page(None, customer, values, errors)


@bp.route("/opportunities/<int:opportunity_id>", methods=["GET", "POST"])
@login_required
def opportunity(opportunity_id: int) -> Page:
    user = require_user()
    s = db.session()
    opp = svc.load_opportunity(s, user, opportunity_id, edit=request.method == "POST")
    values = {f.name: getattr(opp, f.name) for f in svc.OPPORTUNITY_FIELDS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = form_values(svc.OPPORTUNITY_FIELDS)
        if user.role == Role.AGENT:
            values.pop("owner_id", None)
        try:
            changes = recording.update_opportunity(s, user, opp, values)
        except ValidationError as exc:
            s.rollback()
            errors = exc.as_dict()
        else:
            s.commit()
            if changes:
                flash(_("Saved: %(fields)s.", fields=", ".join(sorted(changes))), "success")
            return redirect(url_for("sales.opportunity", opportunity_id=opp.id))
    return _form_page(opp, opp.customer, values, errors)


@bp.post("/opportunities/<int:opportunity_id>/stage")
@login_required
def move_opportunity(opportunity_id: int) -> Page:
    """The small form on a board card or the opportunity page: the next, previous or lost stage."""
    user = require_user()
    s = db.session()
    opp = svc.load_opportunity(s, user, opportunity_id, edit=True)
    stage = request.form.get("stage", "")
    try:
        pipeline.move_stage(s, user, opp, stage, request.form.get("lost_reason"))
    except ValidationError as exc:
        s.rollback()
        if request.form.get("from") == "board":
            return _board_page({opp.id: exc.as_dict()}, 422)
        values = {f.name: getattr(opp, f.name) for f in svc.OPPORTUNITY_FIELDS}
        return _form_page(opp, opp.customer, values, exc.as_dict())
    s.commit()
    flash(
        _("%(title)s is now %(stage)s.", title=opp.title, stage=svc.stage_label(opp.stage)),
        "success",
    )
    fallback = url_for("sales.opportunity", opportunity_id=opp.id)
    return redirect(safe_next(request.form.get("next") or fallback))


@bp.post("/opportunities/<int:opportunity_id>/delete")
@roles_required(Role.DIRECTOR)
def delete_opportunity(opportunity_id: int) -> Response:
    user = require_user()
    s = db.session()
    opp = svc.load_opportunity(s, user, opportunity_id)
    title = opp.title
    recording.delete_opportunity(s, user, opp)
    s.commit()
    flash(_("Opportunity %(title)s deleted.", title=title), "success")
    return redirect(url_for("sales.opportunities"))


@bp.get("/nurture")
@roles_required(Role.SPECIALIST, Role.DIRECTOR)
def nurture() -> str:
    user = require_user()
    page = pipeline.nurture_pool(db.session(), user, page_arg())
    return render_template("nurture.html", page=page, now=utcnow())


@bp.post("/nurture/<int:opportunity_id>/re-engage")
@roles_required(Role.SPECIALIST, Role.DIRECTOR)
def re_engage(opportunity_id: int) -> Response:
    user = require_user()
    s = db.session()
    opp = svc.load_opportunity(s, user, opportunity_id)
    pipeline.re_engage(s, user, opp, request.form.get("note", ""))
    s.commit()
    flash(_("%(title)s is out of the nurture pool.", title=opp.title), "success")
    return redirect(url_for("sales.nurture"))
