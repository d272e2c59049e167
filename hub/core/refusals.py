"""What a service function raises when it refuses: a field's error, every error of one input,
not found, forbidden, conflict. Pages and the API turn each into its answer (hub/core/errors.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class FieldError(ValueError):
    """One input refused; `field` names it as the caller sent it (dotted for nested items)."""

    def __init__(
        self,
        field: str,
        message: str,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
    ):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        # Kept where the problem is read later, in another language (hub/core/problems.py).
        self.code = code
        self.params = dict(params) if params else None


class NotFound(LookupError):
    """The thing asked for does not exist (or is not the caller's to know about): 404."""


class Forbidden(PermissionError):
    """The caller may not do this: 403, with the message saying why."""


class Conflict(ValueError):
    """The request clashes with what is stored (a duplicate, a closed record): 409."""


class ValidationError(ValueError):
    """Every field error of one input, reported together."""

    def __init__(self, errors: Sequence[FieldError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = list(errors)

    def as_dict(self) -> dict[str, str]:
        return {e.field: e.message for e in self.errors}

    def as_list(self) -> list[dict[str, str]]:
        return [{"field": e.field, "message": e.message} for e in self.errors]
