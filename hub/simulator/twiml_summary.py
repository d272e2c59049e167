"""What the hub's TwiML answer means, in one line for a person (`hub simulator call`)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from hub.channels.calls.models import AgentProfile


def agent_names(db: Session) -> dict[str, str]:
    """Each agent's dial target (phone number, `client:<identity>`) to their name."""
    names: dict[str, str] = {}
    for profile in db.scalars(sa.select(AgentProfile)):
        for target in (
            profile.phone,
            profile.client_identity and f"client:{profile.client_identity}",
        ):
            if target:
                names[target] = profile.user.display_name
    return names


def _target(element: ET.Element) -> str:
    """A <Number>'s or <Client>'s dial target, spelled as AgentProfile.dial_target spells it."""
    target = (element.text or "").strip()
    return "client:" + target if element.tag == "Client" else target


def _party(target: str, names: Mapping[str, str]) -> str:
    name = names.get(target)
    return f"{name} ({target})" if name else target


def summarize_twiml(xml: str, names: Mapping[str, str] | None = None) -> str:
    """What the verbs of a <Response> do: "ringing agent Wang Fang (+8613900000001)", "queued
    for the next free agent", "played a message and took a voicemail", ..."""
    names = names or {}
    try:
        verbs = list(ET.fromstring(xml))  # noqa: S314 - our own hub's answer
    except ET.ParseError:
        return "answered with something that is not TwiML"
    if not verbs:
        return "answered with an empty response (the call stays silent and ends)"
    first = verbs[0]
    tags = [v.tag for v in verbs]
    if first.tag == "Dial":
        targets = [_target(p) for p in first if p.tag in ("Number", "Client", "Sip")]
        queue = next((p for p in first if p.tag == "Queue"), None)
        if queue is not None:
            return f"connected to the queue {(queue.text or '').strip()}"
        if not targets:
            return f"dialling {(first.text or '').strip() or 'nobody'}"
        parties = ", ".join(_party(t, names) for t in targets)
        if not any(t in names for t in targets):
            return f"ringing {parties}"
        return f"ringing {'agent' if len(targets) == 1 else 'agents'} {parties}"
    if first.tag == "Enqueue":
        return "queued for the next free agent"
    if "Record" in tags:
        return "played a message and took a voicemail" if "Say" in tags else "took a voicemail"
    if tags[0] in ("Say", "Play") and tags[-1] == "Hangup":
        return "played a message and hung up"
    if tags == ["Hangup"]:
        return "hung up"
    if tags == ["Reject"]:
        return "rejected the call"
    return "answered with " + ", ".join(f"<{t}>" for t in tags)
