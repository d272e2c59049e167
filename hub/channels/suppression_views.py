"""The suppression list page: browse and search the addresses that are not sent to; admins add
one by hand or lift one (each change audited)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from hub.channels import suppressions
from hub.channels import suppressions_bp as bp
from hub.channels.models import Suppression
from hub.channels.suppressions import REASON_LABELS
from hub.core import db
from hub.core.auth import Role, User, require_user, roles_required
from hub.core.formatting import date_text
from hub.core.normalize import halfwidth, normalize_email, normalize_phone, phone_search_key
from hub.core.pagination import Page, page_arg, paginate
from hub.core.refusals import FieldError, NotFound, ValidationError
from hub.core.validation import Field, parse
from hub.crm.customers import audit

CHANNELS = ("sms", "email")
CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("Email")}
ADD_FIELDS = (
    Field("channel", "choice", label=_l("Channel"), required=True, choices=CHANNELS),
    Field("address", "str", label=_l("Phone number or email"), required=True, max_length=254),
)


# --- service functions --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListFilters:
    q: str = ""
    channel: str | None = None
    reason: str | None = None


def read_filters(args: dict[str, str]) -> tuple[ListFilters, dict[str, str]]:
    """The list's filters from query arguments; an unknown choice is dropped and named."""
    errors: dict[str, str] = {}
    chosen: dict[str, str | None] = {}
    for name, allowed in (("channel", CHANNELS), ("reason", suppressions.REASONS)):
        value = (args.get(name) or "").strip()
        if value and value not in allowed:
            errors[name] = _("Choose one of: %(choices)s.", choices=", ".join(allowed))
            value = ""
        chosen[name] = value or None
    q = (args.get("q") or "").strip()[:254]
    return ListFilters(q=q, channel=chosen["channel"], reason=chosen["reason"]), errors


def search_condition(q: str, region: str) -> sa.ColumnElement[bool] | None:
    """Match an address typed any way: a whole phone number in any format by equality (the
    E.164 it stands for), else a fragment; emails are stored lower-cased, so the fragment is
    lowered rather than the column."""
    text = halfwidth(q).strip()
    if not text:
        return None
    e164 = phone_search_key(text, region)
    if e164:
        return Suppression.address == e164
    conditions = [Suppression.address.contains(text.lower(), autoescape=True)]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 4 and not re.search(r"[^\d\s()+.-]", text):
        # "0013 8000" is a fragment of +8613800138000 only once the spaces are gone.
        conditions.append(Suppression.address.contains(digits, autoescape=True))
    return sa.or_(*conditions)


def list_suppressions(
    session: Session, filters: ListFilters, region: str, page: int = 1, per_page: int = 25
) -> Page:
    """One page of the list, newest first."""
    stmt = sa.select(Suppression).order_by(Suppression.created_at.desc(), Suppression.id.desc())
    condition = search_condition(filters.q, region)
    if condition is not None:
        stmt = stmt.where(condition)
    if filters.channel:
        stmt = stmt.where(Suppression.channel == filters.channel)
    if filters.reason:
        stmt = stmt.where(Suppression.reason == filters.reason)
    return paginate(session, stmt, page, per_page)


def creators(session: Session, rows: list[Suppression]) -> dict[int, User]:
    """The users who added the rows of one page, in one query."""
    ids = {r.created_by for r in rows if r.created_by is not None}
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(ids)))}


def add_manual(session: Session, actor: User, data: dict[str, Any], region: str) -> Suppression:
    """Suppress an address by hand; ValidationError names the field at fault."""
    clean = parse(ADD_FIELDS, data)
    channel, raw = clean["channel"], clean["address"]
    try:
        address = normalize_phone(raw, region) if channel == "sms" else normalize_email(raw)
    except FieldError as exc:
        raise ValidationError([FieldError("address", exc.message)]) from None
    existing = suppressions.find(session, channel, address)
    if existing is not None:
        raise ValidationError(
            [
                FieldError(
                    "address",
                    _(
                        "%(address)s is already on the list (%(reason)s, since %(when)s).",
                        address=existing.address,
                        reason=reason_label(existing.reason),
                        when=date_text(existing.created_at),
                    ),
                )
            ]
        )
    # The source is stored data, read by everyone in their own language: kept untranslated,
    # like the providers' "SendGrid bounce".
    row = suppressions.suppress(
        session, channel, address, "manual", source=f"added by {actor.display_name}", actor=actor
    )
    audit.record(
        session,
        actor,
        "suppression",
        row.id,
        "create",
        {"channel": [None, channel], "address": [None, row.address], "reason": [None, "manual"]},
    )
    return row


def load(session: Session, suppression_id: int) -> Suppression:
    row = session.get(Suppression, suppression_id)
    if row is None:
        raise NotFound(_("This address is no longer on the suppression list."))
    return row


def remove(session: Session, actor: User, suppression_id: int) -> Suppression:
    """Lift one entry; the audit trail keeps who lifted what, since the row itself is gone."""
    row = load(session, suppression_id)
    audit.record(
        session,
        actor,
        "suppression",
        row.id,
        "delete",
        {
            "channel": [row.channel, None],
            "address": [row.address, None],
            "reason": [row.reason, None],
            "source": [row.source, None],
        },
    )
    suppressions.lift(session, row.channel, row.address)
    return row


def reason_label(reason: str) -> str:
    return str(REASON_LABELS.get(reason, reason))


# --- pages --------------------------------------------------------------------------------------


def _region() -> str:
    return str(current_app.config["SETTINGS"].default_region)


def _render_list(form: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    user = require_user()
    s = db.session()
    filters, filter_errors = read_filters(request.args.to_dict())
    page = list_suppressions(s, filters, _region(), page_arg())
    body = render_template(
        "suppressions.html",
        page=page,
        filters=filters,
        creators=creators(s, page.items),
        channels=CHANNELS,
        channel_labels=CHANNEL_LABELS,
        reasons=suppressions.REASONS,
        reason_labels=REASON_LABELS,
        can_change=user.role == Role.ADMIN,
        form=form,
        errors=errors,
        filter_errors=filter_errors,
    )
    return body, status


@bp.get("/admin/suppressions")
@roles_required(Role.DIRECTOR)
def index() -> Any:
    return _render_list({}, {})


@bp.post("/admin/suppressions")
@roles_required()
def add() -> Any:
    form = {k: request.form.get(k, "") for k in ("channel", "address")}
    s = db.session()
    try:
        row = add_manual(s, require_user(), form, _region())
    except ValidationError as exc:
        s.rollback()
        return _render_list(form, exc.as_dict(), 422)
    s.commit()
    flash(
        _(
            "%(address)s was added to the suppression list; nothing more is sent to it.",
            address=row.address,
        ),
        "success",
    )
    return redirect(url_for(".index"))


@bp.get("/admin/suppressions/<int:suppression_id>/remove")
@roles_required()
def confirm_remove(suppression_id: int) -> str:
    row = load(db.session(), suppression_id)
    return render_template(
        "suppressions_remove.html",
        row=row,
        channel_labels=CHANNEL_LABELS,
        reason_label=reason_label(row.reason),
    )


@bp.post("/admin/suppressions/<int:suppression_id>/remove")
@roles_required()
def remove_entry(suppression_id: int) -> Response:
    if request.form.get("confirm") != "yes":
        # Lifting lets messages reach the address again: only the confirmation's button does it.
        return redirect(url_for(".confirm_remove", suppression_id=suppression_id))
    s = db.session()
    row = remove(s, require_user(), suppression_id)
    s.commit()
    flash(
        _(
            "%(address)s was removed from the suppression list; it can be sent to again.",
            address=row.address,
        ),
        "success",
    )
    return redirect(url_for(".index"))
