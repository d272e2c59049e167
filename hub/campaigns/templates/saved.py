"""Message templates: saved only when every part compiles in the sandbox; previewed per contact."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.campaigns.models import Campaign
from hub.campaigns.templates.models import CHANNELS, MessageTemplate
from hub.campaigns.templates.rendering import (
    CompiledTemplate,
    Rendered,
    RenderError,
    check_source,
    context_for,
    sms_size,
)
from hub.core.auth import User
from hub.core.clock import utcnow
from hub.core.refusals import Conflict, FieldError, NotFound, ValidationError
from hub.core.validation import MAX_ID, Field, parse, unknown_keys
from hub.crm.customers.models import Contact

TEMPLATE_FIELDS = (
    Field("name", "str", label=_l("Name"), required=True, max_length=120),
    Field("channel", "choice", label=_l("Channel"), required=True, choices=CHANNELS),
    Field("subject", "str", label=_l("Subject"), max_length=300),
    Field("body", "text", label=_l("Text"), required=True, max_length=20000),
    Field("html", "text", label=_l("HTML"), max_length=200000),
)
SMS_SOURCE_MAX = 1600


def parse_template(
    data: dict[str, Any], current: MessageTemplate | None = None
) -> dict[str, Any]:
    """Clean values; every part compiled, each error naming its field and line."""
    unknown_keys(TEMPLATE_FIELDS, data)
    clean = parse(TEMPLATE_FIELDS, data, partial=current is not None)
    merged = {
        f.name: clean.get(f.name, getattr(current, f.name, None)) for f in TEMPLATE_FIELDS
    }
    errors: list[FieldError] = []
    if merged["channel"] == "email" and not merged["subject"]:
        errors.append(FieldError("subject", _("An email needs a subject.")))
    if merged["channel"] == "sms":
        if merged["html"]:
            errors.append(FieldError("html", _("An SMS has no HTML part.")))
        if merged["subject"]:
            errors.append(FieldError("subject", _("An SMS has no subject.")))
        if merged["body"] and len(merged["body"]) > SMS_SOURCE_MAX:
            errors.append(FieldError("body", _("At most %(count)d characters.", count=SMS_SOURCE_MAX)))
    for name in ("subject", "body", "html"):
        if merged[name]:
            errors += check_source(name, merged[name], html=name == "html")
    if errors:
        raise ValidationError(errors)
    return clean


def _name_free(db: Session, name: str, template_id: int | None = None) -> None:
    clash = db.scalar(sa.select(MessageTemplate.id).where(MessageTemplate.name == name))
    if clash is not None and clash != template_id:
        raise ValidationError([FieldError("name", _("A template with this name exists already."))])


def create_template(db: Session, actor: User, data: dict[str, Any]) -> MessageTemplate:
    """Save a template whose parts all compile."""
    clean = parse_template(data)
    _name_free(db, clean["name"])
    template = MessageTemplate(**clean, created_by=actor.id)
    db.add(template)
    db.flush()
    return template


def update_template(db: Session, template: MessageTemplate, data: dict[str, Any]) -> MessageTemplate:
    """Change a template; campaigns render with the text they find when they send."""
    clean = parse_template(data, template)
    if "name" in clean:
        _name_free(db, clean["name"], template.id)
    for key, value in clean.items():
        setattr(template, key, value)
    template.updated_at = utcnow()
    return template


def delete_template(db: Session, template: MessageTemplate) -> None:
    used = db.scalar(sa.select(sa.func.count()).where(Campaign.template_id == template.id))
    if used:
        raise Conflict(
            _("%(count)d campaign(s) use this template; it cannot be deleted.", count=used)
        )
    db.delete(template)


def load_template(db: Session, template_id: int) -> MessageTemplate:
    template = db.get(MessageTemplate, template_id) if 0 < template_id <= MAX_ID else None
    if template is None:
        raise NotFound(_("There is no template %(id)s.", id=template_id))
    return template


def list_templates(query: str = "", channel: str | None = None) -> sa.Select[tuple[MessageTemplate]]:
    stmt = sa.select(MessageTemplate)
    if query.strip():
        stmt = stmt.where(MessageTemplate.name.contains(query.strip(), autoescape=True))
    if channel:
        stmt = stmt.where(MessageTemplate.channel == channel)
    return stmt


def compiled(template: MessageTemplate) -> CompiledTemplate:
    return CompiledTemplate(template.subject, template.body, template.html)


def preview(
    db: Session, template: MessageTemplate, contact_id: int, base_url: str = ""
) -> dict[str, Any]:
    """The template rendered for one contact, with the SMS size; a failure comes back as `error`."""
    contact = db.get(Contact, contact_id) if 0 < contact_id <= MAX_ID else None
    if contact is None:
        raise ValidationError([FieldError("contact_id", _("There is no contact %(id)s.", id=contact_id))])
    customer = contact.customer
    context = context_for(
        contact,
        customer,
        customer.owner,
        unsubscribe_url=f"{base_url}/unsubscribe/…" if template.channel == "email" else "",
        survey_url=f"{base_url}/s/…",
    )
    try:
        rendered: Rendered | None = compiled(template).render(context)
        error = None
    except RenderError as exc:
        rendered, error = None, exc.reason
    out: dict[str, Any] = {
        "contact_id": contact.id,
        "subject": rendered.subject if rendered else None,
        "body": rendered.body if rendered else None,
        "html": rendered.html if rendered else None,
        "error": error,
    }
    if template.channel == "sms" and rendered:
        size = sms_size(rendered.body)
        out.update(encoding=size.encoding, segments=size.segments, characters=len(rendered.body))
    return out
