"""Faults the provider simulator injects, as shares from 0 to 1, and the dice that decide them."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

_SHARES = (
    "rate_429",
    "rate_500",
    "slow",
    "lost_answers",
    "sms_undelivered",
    "sms_failed",
    "email_bounce",
    "email_dropped",
    "duplicate_callbacks",
    "reorder_callbacks",
    "calls_unanswered",
)


@dataclass
class Faults:
    """What goes wrong, and how often.

    rate_429 / rate_500: share of API requests (Twilio Messages and Calls, SendGrid mail/send)
    answered 429 / 500 instead of being accepted. slow: share of API requests answered only after
    `slow_seconds`. lost_answers: share of accepted API requests whose answer is held back for
    `slow_seconds` after the message was taken (a client with a shorter timeout never learns that
    it went). sms_undelivered / sms_failed: share of accepted messages whose last status
    callback is `undelivered` (30003) / `failed` (30005). email_bounce / email_dropped: share of
    recipients whose event is `bounce` / `dropped` instead of `delivered`. duplicate_callbacks:
    share of callbacks (a Twilio status post, a SendGrid event batch) delivered twice.
    reorder_callbacks: share of messages whose status callbacks arrive last-first (for SendGrid:
    the batch's events in reverse order). calls_unanswered: share of calls placed through the API
    that nobody picks up (no-answer). callback_delay_seconds: pause before each callback of a
    message. seed: the same seed and the same sequence of requests give the same faults.
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    lost_answers: float = 0.0
    sms_undelivered: float = 0.0
    sms_failed: float = 0.0
    email_bounce: float = 0.0
    email_dropped: float = 0.0
    duplicate_callbacks: float = 0.0
    reorder_callbacks: float = 0.0
    calls_unanswered: float = 0.0
    callback_delay_seconds: float = 0.05
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in _SHARES:
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a share from 0 to 1, not {value!r}")
            setattr(self, name, value)
        for name in ("slow_seconds", "callback_delay_seconds"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 600.0:
                raise ValueError(f"{name} must be from 0 to 600 seconds, not {value!r}")
            setattr(self, name, value)
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ValueError(f"seed must be a whole number or null, not {self.seed!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        """Faults from JSON; unknown names are refused so a typo does not pass for 'no fault'."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(unknown)}")
        return cls(**data)


class Dice:
    """The simulator's one source of chance: seeded, and shared under a lock, so a given seed and
    the same order of requests roll the same faults."""

    def __init__(self, faults: Faults) -> None:
        self._lock = threading.Lock()
        self.faults = faults
        self._rng = random.Random(faults.seed)

    def reset(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def roll(self, share: float) -> bool:
        if share <= 0.0:
            return False
        if share >= 1.0:
            return True
        with self._lock:
            return self._rng.random() < share

    def pick(self, *shares: float) -> int:
        """Index of the share that one roll falls into (their sum at most 1), or -1 for none."""
        with self._lock:
            x = self._rng.random()
        edge = 0.0
        for i, share in enumerate(shares):
            edge += share
            if x < edge:
                return i
        return -1
