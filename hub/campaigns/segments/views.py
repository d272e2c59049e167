"""Segment pages: the list, and the editor with its live count and a sample of members."""

from __future__ import annotations

import json
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from hub.campaigns import campaigns_bp as bp
from hub.campaigns.segments import saved as svc
from hub.campaigns.segments.catalogue import catalogue
from hub.campaigns.segments.rules import FIELD_NAMES
from hub.campaigns.staff import STAFF
from hub.core import db
from hub.core.auth import require_user, roles_required
from hub.core.pagination import page_arg, paginate
from hub.core.refusals import FieldError, ValidationError

EXAMPLE = [
    {"field": "class", "op": "in", "value": ["B"]},
    {"field": "region", "op": "eq", "value": "Henan"},
]


def _definition_from_form() -> dict[str, Any]:
    """The name, match and rules the editor posts (rules as JSON text), or 422 naming the box."""
    raw = request.form.get("rules", "").strip()
    try:
        rules = json.loads(raw) if raw else None
    except ValueError as exc:
        raise ValidationError(
            [FieldError("rules", _("The rules are not valid JSON: %(error)s", error=str(exc)))]
        ) from None
    return {
        "name": request.form.get("name", ""),
        "match": request.form.get("match", "all"),
        "rules": rules,
    }


@bp.get("/segments")
@roles_required(*STAFF)
def segment_list() -> str:
    q = request.args.get("q", "").strip()[:120]
    s = db.session()
    page = paginate(s, svc.list_segments(q).order_by(svc.Segment.name), page_arg())
    return render_template("segments.html", page=page, q=q)


def _editor(segment: svc.Segment | None, form: dict[str, Any], errors: dict[str, str]) -> tuple[str, int]:
    s = db.session()
    preview = None
    if not errors and form.get("rules"):
        definition = {"match": form.get("match", "all"), "rules": form["rules"]}
        try:
            preview = {
                "count": svc.count(s, definition),
                "sample": svc.sample(s, definition),
            }
        except ValidationError as exc:
            errors = exc.as_dict()
    return render_template(
        "segment_form.html",
        segment=segment,
        form=form,
        rules_text=form.get("rules_text")
        or json.dumps(form.get("rules") or EXAMPLE, ensure_ascii=False, indent=2),
        errors=errors,
        preview=preview,
        fields=FIELD_NAMES,
        catalogue=catalogue(s),
    ), 422 if errors else 200


@bp.get("/segments/new")
@roles_required(*STAFF)
def segment_new() -> tuple[str, int]:
    return _editor(None, {"match": "all", "rules": EXAMPLE}, {})


@bp.get("/segments/<int:segment_id>")
@roles_required(*STAFF)
def segment_edit(segment_id: int) -> tuple[str, int]:
    segment = svc.load_segment(db.session(), segment_id)
    form = {"name": segment.name, **segment.definition}
    return _editor(segment, form, {})


@bp.post("/segments/new")
@bp.post("/segments/<int:segment_id>")
@roles_required(*STAFF)
def segment_save(segment_id: int | None = None) -> Response | tuple[str, int]:
    s = db.session()
    segment = svc.load_segment(s, segment_id) if segment_id else None
    form = {"name": request.form.get("name", ""), "match": request.form.get("match", "all")}
    try:
        data = _definition_from_form()
        form["rules"] = data["rules"]
        if segment is None:
            segment = svc.create_segment(s, require_user(), data)
        else:
            svc.update_segment(s, segment, data)
    except ValidationError as exc:
        s.rollback()
        form["rules_text"] = request.form.get("rules", "")
        return _editor(None if segment_id is None else segment, form, exc.as_dict())
    s.commit()
    flash(_("Segment %(name)s saved.", name=segment.name), "success")
    return redirect(url_for("campaigns.segment_edit", segment_id=segment.id))


@bp.post("/segments/preview")
@roles_required(*STAFF)
def segment_preview() -> Response | tuple[Response, int]:
    """The live count and sample the editor shows as rules are typed (JSON for its script)."""
    s = db.session()
    try:
        data = _definition_from_form()
        definition = {"match": data["match"], "rules": data["rules"]}
        total = svc.count(s, definition)
        members = svc.sample(s, definition)
    except ValidationError as exc:
        return jsonify({"errors": exc.as_list()}), 422
    return jsonify(
        {
            "count": total,
            "sample": [
                {"name": c.name, "customer": cu.name, "class": cu.customer_class, "region": cu.region}
                for c, cu in members
            ],
        }
    )


# The template and campaign pages hang on the same blueprint.
