"""The admin side of custom fields: define them, rename their labels, delete them with their values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.refusals import FieldError, Forbidden, NotFound, ValidationError
from hub.crm.customers import audit
from hub.crm.customers.models import CustomField, CustomFieldValue

FIELD_KINDS = ("text", "number", "date", "choice")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
KEY_MAX = 40
LABEL_MAX = 80
CHOICE_MAX = 100
MAX_CHOICES = 100


def _admin_only(actor: User) -> None:
    if actor.role != Role.ADMIN:
        raise Forbidden(_("Only an admin defines custom fields."))


def split_choices(raw: Any) -> list[str]:
    """Choices from a form (one per line, or comma-separated) or a JSON list, blanks dropped."""
    if isinstance(raw, list):
        items = raw
    else:
        items = re.split(r"[\n,，]", str(raw or ""))
    return [str(item).strip() for item in items if str(item).strip()]


def _label(raw: Any) -> str:
    label = re.sub(r"\s+", " ", str(raw or "")).strip()
    if not label:
        raise FieldError("label", _("This field is required."))
    if len(label) > LABEL_MAX:
        raise FieldError("label", _("At most %(count)d characters.", count=LABEL_MAX))
    return label


def list_fields(db: Session) -> list[tuple[CustomField, int]]:
    """Every custom field with how many customers hold a value for it."""
    counts = dict(
        db.execute(
            sa.select(CustomFieldValue.field_id, sa.func.count()).group_by(
                CustomFieldValue.field_id
            )
        ).all()
    )
    fields = db.scalars(sa.select(CustomField).order_by(CustomField.label, CustomField.id))
    return [(f, counts.get(f.id, 0)) for f in fields]


def create_field(db: Session, actor: User, data: Mapping[str, Any]) -> CustomField:
    """Define a field; every problem is reported at once, each naming its input."""
    _admin_only(actor)
    errors: list[FieldError] = []
    key = str(data.get("key") or "").strip().lower()
    if not key:
        errors.append(FieldError("key", _("This field is required.")))
    elif len(key) > KEY_MAX:
        errors.append(FieldError("key", _("At most %(count)d characters.", count=KEY_MAX)))
    elif not KEY_RE.match(key):
        errors.append(
            FieldError(
                "key",
                _("Use lower-case letters, digits and _, starting with a letter (credit_grade)."),
            )
        )
    elif db.scalar(sa.select(CustomField.id).where(CustomField.key == key)) is not None:
        errors.append(FieldError("key", _("A field with the key %(key)s exists.", key=key)))
    label = ""
    try:
        label = _label(data.get("label"))
    except FieldError as exc:
        errors.append(exc)
    kind = str(data.get("kind") or "").strip()
    if kind not in FIELD_KINDS:
        errors.append(
            FieldError("kind", _("Choose one of: %(choices)s.", choices=", ".join(FIELD_KINDS)))
        )
    choices = split_choices(data.get("choices"))
    if kind == "choice":
        if not choices:
            errors.append(FieldError("choices", _("A choice field needs at least one choice.")))
        elif len(set(choices)) != len(choices):
            errors.append(FieldError("choices", _("Each choice may appear only once.")))
        elif len(choices) > MAX_CHOICES:
            errors.append(FieldError("choices", _("At most %(count)d choices.", count=MAX_CHOICES)))
        elif any(len(c) > CHOICE_MAX for c in choices):
            errors.append(
                FieldError(
                    "choices", _("A choice has at most %(count)d characters.", count=CHOICE_MAX)
                )
            )
    elif choices and kind in FIELD_KINDS:
        errors.append(FieldError("choices", _("Only a choice field has choices.")))
    if errors:
        raise ValidationError(errors)
    field = CustomField(
        key=key, label=label, kind=kind, choices=choices if kind == "choice" else []
    )
    db.add(field)
    db.flush()
    audit.record(
        db,
        actor,
        "custom_field",
        field.id,
        "create",
        {"key": key, "label": label, "kind": kind, "choices": field.choices},
    )
    return field


def load_field(db: Session, field_id: int) -> CustomField:
    field = db.get(CustomField, field_id)
    if field is None:
        raise NotFound(_("There is no custom field %(id)s.", id=field_id))
    return field


def rename_field(db: Session, actor: User, field_id: int, label: Any) -> CustomField:
    """Change the label people see; the key, which filters and the API use, stays."""
    _admin_only(actor)
    field = load_field(db, field_id)
    try:
        new = _label(label)
    except FieldError as exc:
        raise ValidationError([exc]) from None
    if new != field.label:
        audit.record(db, actor, "custom_field", field.id, "update", {"label": [field.label, new]})
        field.label = new
        db.flush()
    return field


def value_count(db: Session, field_id: int) -> int:
    return db.scalar(sa.select(sa.func.count()).where(CustomFieldValue.field_id == field_id)) or 0


def delete_field(db: Session, actor: User, field_id: int) -> int:
    """Delete a field and every customer's value of it; returns how many values went with it."""
    _admin_only(actor)
    field = load_field(db, field_id)
    # Deleted here rather than left to the foreign key, so the audit can say how many were lost.
    removed = db.execute(
        sa.delete(CustomFieldValue).where(CustomFieldValue.field_id == field.id)
    ).rowcount
    audit.record(
        db,
        actor,
        "custom_field",
        field.id,
        "delete",
        {"key": field.key, "label": field.label, "values_deleted": removed},
    )
    db.delete(field)
    db.flush()
    return removed
