"""Agents' call settings: where they take calls, whether they can now, and who a call rings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from hub.channels.calls.models import AgentProfile, Availability
from hub.core.auth import User
from hub.core.normalize import normalize_phone
from hub.core.refusals import FieldError, ValidationError
from hub.crm.customers.models import Customer

IDENTITY_RE = re.compile(r"[A-Za-z0-9_.-]{1,60}")


def profile_of(db: Session, user_id: int) -> AgentProfile:
    """The user's call settings; a user who never set them is away with no phone."""
    profile = db.get(AgentProfile, user_id)
    if profile is None:
        profile = AgentProfile(user_id=user_id, availability=Availability.AWAY.value)
    return profile


def update_profile(
    db: Session, user: User, data: Mapping[str, Any], region: str = "CN"
) -> AgentProfile:
    """Set availability, phone number and browser identity from form or JSON values."""
    profile = profile_of(db, user.id)
    errors: list[FieldError] = []
    availability = str(data.get("availability", profile.availability) or "").strip()
    if availability not in [a.value for a in Availability]:
        errors.append(
            FieldError(
                "availability",
                _("Choose one of: %(choices)s.", choices=", ".join(a.value for a in Availability)),
            )
        )
    phone = str(data.get("phone", profile.phone or "") or "").strip()
    if phone:
        try:
            phone = normalize_phone(phone, region)
        except FieldError as exc:
            errors.append(FieldError("phone", exc.message))
    identity = str(data.get("client_identity", profile.client_identity or "") or "").strip()
    if identity and not IDENTITY_RE.fullmatch(identity):
        errors.append(
            FieldError(
                "client_identity",
                _("Use up to 60 letters, digits, dots, dashes or underscores."),
            )
        )
    if not errors and availability == Availability.AVAILABLE.value and not (phone or identity):
        errors.append(
            FieldError(
                "availability",
                _("Set a phone number or a browser identity before you make yourself available."),
            )
        )
    if errors:
        raise ValidationError(errors)
    profile.availability = availability
    profile.phone = phone or None
    profile.client_identity = identity or None
    db.add(profile)
    db.flush()
    return profile


def available_agents(db: Session) -> list[AgentProfile]:
    """Active users who are available and can be rung, in a stable order."""
    return list(
        db.scalars(
            sa.select(AgentProfile)
            .join(User, User.id == AgentProfile.user_id)
            .where(
                AgentProfile.availability == Availability.AVAILABLE.value,
                User.active.is_(True),
                sa.or_(AgentProfile.phone.is_not(None), AgentProfile.client_identity.is_not(None)),
            )
            .order_by(AgentProfile.user_id)
        )
    )


def agents_for(db: Session, customer: Customer | None) -> list[AgentProfile]:
    """Who an inbound call rings: the customer's owner when available, else every available agent."""
    available = available_agents(db)
    if customer is not None and customer.owner_id is not None:
        owner = [p for p in available if p.user_id == customer.owner_id]
        if owner:
            return owner
    return available


def agent_by_target(db: Session, target: str) -> AgentProfile | None:
    """The agent whose phone or `client:<identity>` Twilio rang."""
    if target.startswith("client:"):
        condition = AgentProfile.client_identity == target.removeprefix("client:")
    else:
        condition = AgentProfile.phone == target
    return db.scalar(sa.select(AgentProfile).where(condition).order_by(AgentProfile.user_id))
