"""Who works with segments, templates, campaigns and care rules, as the pages and the API check it."""

from __future__ import annotations

from hub.core.auth import Role

STAFF = (Role.SPECIALIST, Role.DIRECTOR)
ROLES = "admin, director, specialist"  # as the OpenAPI document says it
TAG = "campaigns"
