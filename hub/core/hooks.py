"""Hooks: where a lower capability lets a higher one take part without importing it.

The customer page shows calls (channels) and money (sales); an inbound SMS may answer a survey
(campaigns). The lower side names a hook and calls whatever joined it; the app joins the higher
side's functions to it when it is built (`hub.web.app`). A hook nobody joined gives nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

# Each hook: its name, and what its functions take and give.
INBOUND_MESSAGE = "inbound_message"  # (db, message): an inbound SMS or email was stored
TIMELINE_CALLS = "timeline_calls"  # (db, follow_up_ids) -> {follow_up_id: call}
CUSTOMER_MONEY = "customer_money"  # (db, user, customer, errors, values) -> the money card
CUSTOMER_SECTIONS = "customer_sections"  # (db, user, customer) -> [Markup]

_KEY = "hub.hooks"


def join(app: Flask, hook: str, function: Callable[..., Any]) -> None:
    """Have `function` called whenever `hook` is, in the order joined."""
    app.extensions.setdefault(_KEY, {}).setdefault(hook, []).append(function)


def joined(hook: str) -> list[Callable[..., Any]]:
    """The functions joined to `hook` in the current app."""
    return list(current_app.extensions.get(_KEY, {}).get(hook, ()))


def call(hook: str, *args: Any) -> list[Any]:
    """Call every function joined to `hook`; their answers in order."""
    return [function(*args) for function in joined(hook)]
