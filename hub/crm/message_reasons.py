"""Why a message was not sent, in the reader's language."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# Why a message was not sent, as the sender and recovery store it (English, the same for every
# reader); a provider's own words inside them stay as the provider wrote them.
MESSAGE_REASONS = {
    "on the suppression list": _l("on the suppression list"),
    "consent refused for this channel": _l("consent refused for this channel"),
    "the contact was deleted": _l("the contact was deleted"),
    "outcome unknown: the worker stopped during the provider request and the provider could not "
    "say whether it went; not sent again, so that it cannot arrive twice": _l(
        "outcome unknown: the worker stopped during the provider request and the provider could "
        "not say whether it went; not sent again, so that it cannot arrive twice"
    ),
    "outcome unknown: the provider did not answer the request and cannot say whether it took it; "
    "not sent again, so that it cannot arrive twice": _l(
        "outcome unknown: the provider did not answer the request and cannot say whether it took "
        "it; not sent again, so that it cannot arrive twice"
    ),
}
_GAVE_UP = re.compile(r"gave up after (\d+) tries: (.*)", re.S)
_WITH_DETAIL = re.compile(r"(.*?) \((.*)\)", re.S)


def message_reason(text: str | None) -> str:
    """A message's stored error in the reader's language, the provider's part as it came."""
    if not text:
        return ""
    if text in MESSAGE_REASONS:
        return str(MESSAGE_REASONS[text])
    if m := _GAVE_UP.fullmatch(text):
        return _(
            "gave up after %(tries)s tries: %(reason)s",
            tries=m.group(1),
            reason=message_reason(m.group(2)),
        )
    if (m := _WITH_DETAIL.fullmatch(text)) and m.group(1) in MESSAGE_REASONS:
        return f"{MESSAGE_REASONS[m.group(1)]} ({m.group(2)})"
    if text.endswith(" (gave up after retries)"):
        return _(
            "%(reason)s (gave up after retries)",
            reason=text.removesuffix(" (gave up after retries)"),
        )
    return text
