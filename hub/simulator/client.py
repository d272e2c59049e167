"""The provider simulator's own API, as the developer page and `hub simulator call` use it:
what it accepted and called back, its faults, and simulated customers texting, writing or calling."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from flask_babel import gettext as _

from hub.channels.base import ChannelMisconfigured
from hub.channels.providers import simulator_url
from hub.core.config import Settings

RECENT = 50
TIMEOUT = (3.0, 10.0)  # connect, read
# A simulated reply waits for the hub's own answer, which the simulator allows 15 s.
INBOUND_TIMEOUT = (3.0, 20.0)
NO_PROXIES: dict[str, Any] = {"http": None, "https": None}



class SimulatorError(Exception):
    """The simulator did not answer, or answered something unusable; `reason` says which."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class SimRequest:
    provider: str
    kind: str
    to: str
    status: int | None
    time: datetime | None
    detail: str


@dataclass(frozen=True)
class SimCallback:
    kind: str
    url: str
    attempt: int
    status: int | None
    error: str
    time: datetime | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Reply:
    """The simulator's answer to a simulated customer message: the hub's status and body."""

    status: int
    text: str
    data: dict[str, Any] = field(default_factory=dict)  # the simulator's own JSON answer

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def simulated_channels(settings: Settings) -> dict[str, bool]:
    """Which channels the simulator stands in for: those without real credentials."""
    return {
        "sms": not (settings.twilio_account_sid and settings.twilio_auth_token),
        "email": not settings.sendgrid_api_key,
    }


def running_simulator(settings: Settings) -> str | None:
    """The address `hub up` or `hub simulator` wrote down, or None when none is running."""
    try:
        return simulator_url(settings)
    except ChannelMisconfigured:
        return None


def _is_loopback(base: str) -> bool:
    host = urlsplit(base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _call(
    method: str,
    base: str,
    path: str,
    payload: dict[str, Any] | None = None,
    timeout: tuple[float, float] = TIMEOUT,
) -> requests.Response:
    # A proxy set for the internet must not swallow a loopback call; elsewhere the environment
    # (with its NO_PROXY) decides.
    proxies: Any = NO_PROXIES if _is_loopback(base) else None
    try:
        return requests.request(
            method, base.rstrip("/") + path, json=payload, timeout=timeout, proxies=proxies
        )
    except requests.RequestException as exc:
        raise SimulatorError(base, f"{type(exc).__name__}: {exc}") from None


def _json(base: str, response: requests.Response) -> Any:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not response.ok:
        error = data.get("error") if isinstance(data, dict) else None
        raise SimulatorError(base, f"HTTP {response.status_code}: {error or response.text[:200]}")
    if data is None:
        raise SimulatorError(base, _("the answer is not JSON"))
    return data


def _when(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else None


def _recipient(record: dict[str, Any]) -> tuple[str, str]:
    """Who a logged request went to, and what else is worth a glance."""
    raw = record.get("body")
    body: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if record.get("provider") == "customer":
        return str(body.get("to") or _("the hub")), _("from %(sender)s", sender=body.get("from"))
    if record.get("provider") == "sendgrid":
        emails = [
            str(a.get("email"))
            for p in body.get("personalizations") or []
            if isinstance(p, dict)
            for a in p.get("to") or []
            if isinstance(a, dict)
        ]
        failures = record.get("failures") or {}
        detail = _("%(count)d failed", count=len(failures)) if failures else ""
        more = f" (+{len(emails) - 1})" if len(emails) > 1 else ""
        return (emails[0] + more if emails else ""), detail
    detail = " ".join(str(v) for v in (record.get("final_status"), record.get("error_code")) if v)
    return str(body.get("To") or ""), detail


def recent_requests(base: str, limit: int = RECENT) -> list[SimRequest]:
    """The last `limit` requests the simulator accepted, newest first."""
    records = _json(base, _call("GET", base, "/sim/requests"))
    if not isinstance(records, list):
        raise SimulatorError(base, _("the request log is not a list"))
    out = []
    for record in reversed(records[-limit:]):
        if not isinstance(record, dict):
            continue
        to, detail = _recipient(record)
        status = record.get("status", record.get("hub_status"))
        out.append(
            SimRequest(
                provider=str(record.get("provider", "")),
                kind=str(record.get("kind", "")),
                to=to,
                status=status if isinstance(status, int) else None,
                time=_when(record.get("time")),
                detail=detail,
            )
        )
    return out


def recent_callbacks(base: str, limit: int = RECENT) -> list[SimCallback]:
    """The last `limit` callback attempts the simulator made to the hub, newest first."""
    outcomes = _json(base, _call("GET", base, "/sim/callbacks"))
    if not isinstance(outcomes, list):
        raise SimulatorError(base, _("the callback log is not a list"))
    return [
        SimCallback(
            kind=str(o.get("kind", "")),
            url=str(o.get("url", "")),
            attempt=int(o.get("attempt") or 1),
            status=o.get("status") if isinstance(o.get("status"), int) else None,
            error=str(o.get("error") or ""),
            time=_when(o.get("time")),
        )
        for o in reversed(outcomes[-limit:])
        if isinstance(o, dict)
    ]


def current_faults(base: str) -> dict[str, Any]:
    faults = _json(base, _call("GET", base, "/sim/faults"))
    if not isinstance(faults, dict):
        raise SimulatorError(base, _("the faults are not an object"))
    return faults


def set_faults(base: str, shares: dict[str, float]) -> dict[str, Any]:
    """Change these shares and keep the simulator's other fault settings (seed, delays)."""
    faults = {**current_faults(base), **shares}
    return dict(_json(base, _call("POST", base, "/sim/faults", faults)))


def _reply(response: requests.Response) -> Reply:
    # The hub's own error pages are HTML written for a browser: only their status is worth a flash.
    html = response.headers.get("Content-Type", "").startswith("text/html")
    text = "" if html else response.text.strip()
    data: dict[str, Any] = {}
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        data = answer
        text = str(answer["error"]) if answer.get("error") else text
    return Reply(response.status_code, text[:300], data)


def customer_sms(base: str, sender: str, to: str | None, body: str) -> Reply:
    """A simulated customer texts the hub; the answer carries the hub's status."""
    payload = {"from": sender, "body": body, **({"to": to} if to else {})}
    return _reply(_call("POST", base, "/sim/inbound/sms", payload, INBOUND_TIMEOUT))


def customer_email(base: str, sender: str, to: str | None, subject: str | None, text: str) -> Reply:
    """A simulated customer emails the hub (an Inbound Parse post); the hub's status comes back."""
    payload = {"from": sender, "subject": subject or "", "text": text, **({"to": to} if to else {})}
    return _reply(_call("POST", base, "/sim/inbound/email", payload, INBOUND_TIMEOUT))


def customer_call(
    base: str, sender: str, answer: bool, talk_seconds: int, voicemail_seconds: int
) -> Reply:
    """A simulated customer calls the company's number; the hub's answer to the voice webhook
    comes back at once, the rest of the call plays out in the simulator."""
    payload = {
        "from": sender,
        "answer": answer,
        "talk_seconds": talk_seconds,
        "voicemail_seconds": voicemail_seconds,
    }
    return _reply(_call("POST", base, "/sim/inbound/call", payload, INBOUND_TIMEOUT))
