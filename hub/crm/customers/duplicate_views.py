"""Duplicate review pages: the queue of likely duplicates, comparing a pair with a surviving
value picked per field, merging, dismissing, and the merge's page with its undo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.core import db
from hub.core.auth import Role, require_user, roles_required
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import Conflict, NotFound, ValidationError
from hub.crm.customers import duplicates as svc
from hub.crm.customers import duplicates_bp as bp
from hub.crm.customers.duplicate_models import CustomerMerge
from hub.crm.customers.fields import CUSTOMER_FIELDS
from hub.crm.customers.merge import MERGE_FIELDS, customer_references, merge_customers
from hub.crm.customers.merge_undo import undo_merge
from hub.crm.customers.models import Customer
from hub.crm.customers.search import CustomerFilters, search_customers

LABELS = {f.name: f.label for f in CUSTOMER_FIELDS}


@bp.get("/duplicates")
@roles_required(Role.DIRECTOR)
def queue() -> str:
    user = require_user()
    q = request.args.get("q", "")
    page = svc.review_queue(db.session(), user, q, page_arg())
    return render_template("duplicates.html", page=page, q=q)


def related_counts(s: sa.orm.Session, customer_id: int) -> dict[str, int]:
    """How many rows of each related table belong to the customer (what a merge would move)."""
    counts: dict[str, int] = {}
    for table, column in customer_references():
        n = s.scalar(sa.select(sa.func.count()).select_from(table).where(column == customer_id))
        if n:
            counts[table.name] = n
    return counts


def _compare(candidate_id: int, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    pair = svc.load_candidate(db.session(), require_user(), candidate_id)
    action = url_for("duplicates.merge", candidate_id=candidate_id)
    return _compare_screen(pair.first, pair.second, action, errors, status, pair=pair)


def _compare_screen(
    first: Customer,
    second: Customer,
    action: str,
    errors: dict[str, str],
    status: int = 200,
    pair: Any = None,
) -> tuple[str, int]:
    """Two customers side by side, a radio per differing field: the merge screen of a queued
    pair and of two customers picked on a customer's page."""
    s = db.session()
    rows: list[tuple[str, Any, Any, Any]] = []
    for name in MERGE_FIELDS:
        a, b = getattr(first, name), getattr(second, name)
        if a in (None, "") and b in (None, ""):
            continue
        rows.append((name, LABELS.get(name, name), a, b))
    return render_template(
        "duplicate_compare.html",
        pair=pair,
        first=first,
        second=second,
        action=action,
        rows=rows,
        counts={c.id: related_counts(s, c.id) for c in (first, second)},
        errors=errors,
    ), status


def _merge_from_form(
    first_id: int, second_id: int, redisplay: Callable[[dict[str, str]], tuple[str, int]]
) -> Response | tuple[str, int]:
    """Merge as the compare form says: the customer kept, and per field whose value survives."""
    s = db.session()
    ids = {"first": first_id, "second": second_id}
    keep = request.form.get("survivor", "")
    if keep not in ids:
        return redisplay({"survivor": _("Choose the customer to keep.")})
    survivor, merged = ids[keep], ids["second" if keep == "first" else "first"]
    # A field's radio names the side whose value wins; the merge wants "survivor" or "merged".
    choices = {
        name: "survivor" if request.form.get(f"choice.{name}") == keep else "merged"
        for name in MERGE_FIELDS
        if request.form.get(f"choice.{name}") in ids
    }
    try:
        record = merge_customers(s, require_user(), survivor, merged, choices)
    except ValidationError as exc:
        s.rollback()
        return redisplay(exc.as_dict())
    s.commit()
    flash(_("Merged. The merge can be undone on this page."), "success")
    return redirect(url_for("duplicates.merge_page", merge_id=record.id))


@bp.get("/duplicates/<int:candidate_id>")
@roles_required(Role.DIRECTOR)
def compare(candidate_id: int) -> tuple[str, int]:
    return _compare(candidate_id, {})


@bp.post("/duplicates/<int:candidate_id>/merge")
@roles_required(Role.DIRECTOR)
def merge(candidate_id: int) -> Response | tuple[str, int]:
    pair = svc.load_candidate(db.session(), require_user(), candidate_id)
    return _merge_from_form(
        pair.first_id, pair.second_id, lambda errors: _compare(candidate_id, errors, 422)
    )


# --- merging from a customer's page ------------------------------------------------------------


def _customer(customer_id: int) -> Customer:
    customer = db.session().get(Customer, customer_id) if 0 < customer_id < 2**31 else None
    if customer is None:
        raise NotFound(_("There is no customer %(id)s.", id=customer_id))
    return customer


@bp.get("/customers/<int:customer_id>/merge")
@roles_required(Role.DIRECTOR)
def pick_other(customer_id: int) -> str:
    """Find the customer to merge with this one, by the same search as the customer list."""
    customer = _customer(customer_id)
    q = request.args.get("q", "").strip()
    page = None
    if q:
        page = search_customers(
            db.session(),
            require_user(),
            q,
            CustomerFilters(),
            page=page_arg(),
            region=current_app.config["SETTINGS"].default_region,
        )
    return render_template("merge_pick.html", customer=customer, q=q, page=page)


@bp.get("/customers/<int:customer_id>/merge/<int:other_id>")
@roles_required(Role.DIRECTOR)
def compare_customers(customer_id: int, other_id: int) -> tuple[str, int]:
    return _compare_customers(customer_id, other_id, {})


def _compare_customers(
    customer_id: int, other_id: int, errors: dict[str, str], status: int = 200
) -> tuple[str, int]:
    if customer_id == other_id:
        raise NotFound(_("A customer cannot merge with itself."))
    action = url_for("duplicates.merge_customers_page", customer_id=customer_id, other_id=other_id)
    return _compare_screen(_customer(customer_id), _customer(other_id), action, errors, status)


@bp.post("/customers/<int:customer_id>/merge/<int:other_id>")
@roles_required(Role.DIRECTOR)
def merge_customers_page(customer_id: int, other_id: int) -> Response | tuple[str, int]:
    _compare_customers(customer_id, other_id, {})  # both exist, and are two
    return _merge_from_form(
        customer_id,
        other_id,
        lambda errors: _compare_customers(customer_id, other_id, errors, 422),
    )


@bp.post("/duplicates/<int:candidate_id>/dismiss")
@roles_required(Role.DIRECTOR)
def dismiss(candidate_id: int) -> Response:
    user = require_user()
    s = db.session()
    svc.dismiss(s, user, svc.load_candidate(s, user, candidate_id))
    s.commit()
    flash(_("Marked as two different customers."), "success")
    return redirect(url_for("duplicates.queue"))


@bp.get("/merges")
@roles_required(Role.DIRECTOR)
def merges() -> str:
    q = request.args.get("q", "").strip().lower()
    stmt = sa.select(CustomerMerge).order_by(CustomerMerge.id.desc())
    if q:
        stmt = stmt.where(sa.func.lower(CustomerMerge.merged_name).contains(q, autoescape=True))
    return render_template("merges.html", page=paginate(db.session(), stmt, page_arg(), 25), q=q)


@bp.get("/merges/<int:merge_id>")
@roles_required(Role.DIRECTOR)
def merge_page(merge_id: int) -> str:
    s = db.session()
    record = s.get(CustomerMerge, merge_id) if 0 < merge_id < 2**31 else None
    if record is None:
        raise NotFound(_("There is no merge %(id)s.", id=merge_id))
    survivor = s.get(Customer, record.survivor_id) if record.survivor_id else None
    moved = {k.split(".")[0]: len(v) for k, v in record.snapshot.get("moved", {}).items()}
    return render_template("merge.html", record=record, survivor=survivor, moved=moved)


@bp.post("/merges/<int:merge_id>/undo")
@roles_required(Role.DIRECTOR)
def undo(merge_id: int) -> Response:
    user = require_user()
    s = db.session()
    try:
        restored = undo_merge(s, user, merge_id)
    except Conflict as exc:
        s.rollback()
        flash(str(exc), "error")
        return redirect(url_for("duplicates.merge_page", merge_id=merge_id))
    s.commit()
    flash(_("The merge is undone: both customers are back as they were."), "success")
    return redirect(url_for("crm.customer", customer_id=restored.id))
