"""The one small interface every channel adapter implements, and the errors it may raise."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class OutboundMessage:
    """One message to one recipient, as the adapter needs it; `message_id` is our row's id."""

    message_id: int
    to: str  # E.164 for SMS, an address for email
    body: str  # the text; for email the plain-text part
    subject: str | None = None
    html: str | None = None
    status_callback: str | None = None  # SMS: where the provider reports delivery
    unsubscribe_url: str | None = None  # email: the List-Unsubscribe target
    send_tag: str | None = None  # email: one claim's tag, what a provider lookup searches for


class ChannelError(Exception):
    """A provider answer that is not success. `code` is the provider's own code, when it gave one."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RecipientRefused(ChannelError):
    """The provider refused this recipient; retrying will not help. `suppress`: never send again."""

    def __init__(self, reason: str, code: str | None = None, suppress: bool = False):
        super().__init__(reason, code)
        self.suppress = suppress


class RetryLater(ChannelError):
    """Rate-limited, a provider fault or a timeout: the same request may succeed later."""


class Unconfirmed(RetryLater):
    """The request may have reached the provider (the answer timed out, or the connection broke
    after the request was written): trying again could send it twice. Only asking the provider
    (`find_sent`) can settle it. A RetryLater, so callers that do not look it up retry as before."""


class LookupUnavailable(ChannelError):
    """The provider cannot say what it received (for SendGrid: no Email Activity access)."""


@dataclass(frozen=True)
class Found:
    """A message the provider has: its id and what it received."""

    to: str
    provider_id: str
    body: str | None = None
    subject: str | None = None


class ChannelMisconfigured(ChannelError):
    """Credentials refused (401/403) or a setting missing: stop and tell the operator."""


@dataclass(frozen=True)
class SendResult:
    message_id: int
    provider_id: str | None = None
    error: ChannelError | None = None


class Channel(Protocol):
    name: str

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        """Send a batch; per-recipient problems come back in the results. Raises
        ChannelMisconfigured, or RetryLater when the whole request failed."""
        ...

    def find_sent(
        self, addresses: Sequence[str], since: datetime, tag: str | None = None
    ) -> dict[str, list[Found]]:
        """What the provider received for these addresses since `since` (and, where the
        provider can search for it, carrying `tag`), oldest first. Raises RetryLater when it
        cannot answer now, LookupUnavailable when it never will."""
        ...
