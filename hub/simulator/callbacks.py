"""Delivers the simulator's callbacks to the hub: in order per message, retried with backoff.

A message's callbacks form a chain (sending -> sent -> delivered): the next link waits until the
previous one was delivered or given up, so order is only ever changed on purpose (the
reorder fault). Chains of different messages go out in parallel from a few worker threads.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # what Twilio allows a webhook to connect
READ_TIMEOUT = 15.0  # Twilio's whole budget for one webhook


def post_once(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    """POST on a connection of its own, closed afterwards.

    Not kept alive on purpose: a server that writes its answer in two pieces without TCP_NODELAY
    (http.server, werkzeug's threaded server) stalls each kept-alive answer ~40 ms on Nagle
    meeting delayed ACKs, while a new loopback connection costs under 1 ms; and a pooled
    connection the hub closed in between would fail the next callback.
    """
    with requests.Session() as session:
        # The hub listens on this machine or its network: a proxy set for the internet
        # (HTTP_PROXY without a NO_PROXY for loopback) must not swallow the callbacks.
        session.trust_env = False
        return session.post(
            url,
            data=body,
            headers={**headers, "Connection": "close"},
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
        )


@dataclass
class Callback:
    """One HTTP POST to make. `signer` (if any) adds headers at each attempt from the body, for
    signatures that include the time of sending (SendGrid's)."""

    kind: str
    url: str
    body: bytes
    headers: dict[str, str]
    signer: Callable[[bytes], dict[str, str]] | None = None
    retry_on_4xx: bool = False  # SendGrid retries any non-2xx; Twilio only 5xx and no answer


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    chain: list[Callback] = field(compare=False)
    gap: float = field(compare=False, default=0.0)
    index: int = field(compare=False, default=0)
    attempt: int = field(compare=False, default=1)


class Dispatcher:
    def __init__(self, workers: int = 4, attempts: int = 4, backoff: float = 0.2) -> None:
        self.workers = workers
        self.attempts = attempts
        self.backoff = backoff
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._outcomes: deque[dict[str, Any]] = deque(maxlen=10_000)

    def start(self) -> None:
        with self._cond:
            self._stopping = False
        for n in range(self.workers):
            t = threading.Thread(target=self._work, name=f"sim-callbacks-{n}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            pending = sum(len(job.chain) - job.index for job in self._heap)
            self._heap.clear()
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=READ_TIMEOUT + CONNECT_TIMEOUT)
        self._threads.clear()
        if pending:
            log.warning("simulator stopped with %d callback(s) not yet delivered", pending)

    def schedule(self, chain: list[Callback], gap: float) -> None:
        """Deliver `chain` in order, waiting `gap` seconds before each callback."""
        if not chain:
            return
        with self._cond:
            heapq.heappush(self._heap, _Job(time.monotonic() + gap, next(self._seq), chain, gap))
            self._cond.notify()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._heap and self._busy == 0, timeout)

    def outcomes(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._outcomes)

    def clear_outcomes(self) -> None:
        with self._cond:
            self._outcomes.clear()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    if self._heap and self._heap[0].due <= now:
                        break
                    self._cond.wait(self._heap[0].due - now if self._heap else None)
                if self._stopping:
                    return
                job = heapq.heappop(self._heap)
                self._busy += 1
            following = None
            try:
                following = self._run(job)
            finally:
                # Re-queue and mark idle in one step, so wait_idle never sees a gap.
                with self._cond:
                    if following is not None and not self._stopping:
                        heapq.heappush(self._heap, following)
                    self._busy -= 1
                    self._cond.notify_all()

    def _run(self, job: _Job) -> _Job | None:
        callback = job.chain[job.index]
        retry, reason = self._deliver(callback, job.attempt)
        if retry and job.attempt < self.attempts:
            delay = self.backoff * 2 ** (job.attempt - 1)
            log.warning(
                "%s callback to %s failed (%s), attempt %d of %d; retrying in %.1fs",
                callback.kind,
                callback.url,
                reason,
                job.attempt,
                self.attempts,
                delay,
            )
            job.attempt += 1
            job.due = time.monotonic() + delay
            return job
        if reason:
            log.error(
                "%s callback to %s given up after %d attempt(s): %s",
                callback.kind,
                callback.url,
                job.attempt,
                reason,
            )
        if job.index + 1 >= len(job.chain):
            return None
        job.index += 1
        job.attempt = 1
        job.due = time.monotonic() + job.gap
        return job

    def _deliver(self, callback: Callback, attempt: int) -> tuple[bool, str]:
        """(worth retrying, why it failed); (False, '') when delivered."""
        headers = dict(callback.headers)
        outcome: dict[str, Any] = {
            "kind": callback.kind,
            "url": callback.url,
            "attempt": attempt,
            "time": time.time(),
        }
        try:
            if callback.signer is not None:
                headers.update(callback.signer(callback.body))
            response = post_once(callback.url, callback.body, headers)
        except requests.RequestException as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            self._note(outcome)
            return True, outcome["error"]
        except Exception as exc:  # a bug of ours: report it, keep the worker alive
            log.exception("%s callback to %s could not be sent", callback.kind, callback.url)
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            self._note(outcome)
            return False, outcome["error"]
        outcome["status"] = response.status_code
        self._note(outcome)
        if 200 <= response.status_code < 300:
            return False, ""
        reason = f"HTTP {response.status_code}: {response.text[:200]!r}"
        if response.status_code >= 500 or response.status_code == 429:
            return True, reason
        return callback.retry_on_4xx, reason

    def note(self, outcome: dict[str, Any]) -> None:
        """Keep the outcome of a callback sent outside the chains (a call's webhooks)."""
        self._note(outcome)

    def _note(self, outcome: dict[str, Any]) -> None:
        with self._cond:
            self._outcomes.append(outcome)
