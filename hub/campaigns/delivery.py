"""Handing a claimed batch to the provider: SendGrid in one request, Twilio SMS concurrently under
a rate limit shared by every worker through Redis. Each request is marked in flight in Redis before
it goes and its answer kept there until the database has it, so a worker killed mid-batch leaves
enough behind for recovery to know what went. A request whose answer never came (a timeout, a
dead worker, Redis restarted) is never simply tried again: recovery asks the provider first."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from hub.channels.base import (
    Channel,
    ChannelError,
    ChannelMisconfigured,
    OutboundMessage,
    RecipientRefused,
    RetryLater,
    SendResult,
    Unconfirmed,
)

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0, 4.0)  # seconds between tries of one request, before jitter
SMS_THREADS = 8
KEEP_SECONDS = 7 * 86400  # how long Redis keeps in-flight marks and answers for recovery


def inflight_key(campaign_id: int) -> str:
    return f"hub:campaign:{campaign_id}:inflight"


def results_key(campaign_id: int) -> str:
    return f"hub:campaign:{campaign_id}:results"


def claim_tag(campaign_id: int, claimed_at: datetime) -> str:
    """Names one claim (its messages share the claim time): the key of its Redis marker and the
    tag its email request carries, so both survive in the database's own columns."""
    return f"c{campaign_id}-{round(claimed_at.timestamp() * 1_000_000)}"


@dataclass(frozen=True)
class Outcome:
    """What became of one message: sent (provider id), refused, or still to retry later."""

    message_id: int
    provider_id: str | None = None
    error: ChannelError | None = None

    def to_json(self) -> str:
        if self.error is None:
            return json.dumps({"p": self.provider_id})
        suppress = isinstance(self.error, RecipientRefused) and self.error.suppress
        return json.dumps({"e": self.error.reason, "c": self.error.code, "s": suppress})

    @classmethod
    def from_json(cls, message_id: int, raw: str | bytes) -> Outcome:
        data = json.loads(raw)
        if "p" in data:
            return cls(message_id, provider_id=data["p"])
        return cls(message_id, error=RecipientRefused(data["e"], data.get("c"), bool(data.get("s"))))


class Ledger:
    """The Redis side of at-most-once: marks before a request, answers after it."""

    def __init__(self, conn: Redis, campaign_id: int):
        self.conn = conn
        self.inflight = inflight_key(campaign_id)
        self.results = results_key(campaign_id)

    def claimed(self, tag: str) -> None:
        """Marks a claim: while this marker lives, Redis has every in-flight mark of the claim, and
        a message with neither mark nor answer never went. (Redis may lose it all in a restart.)"""
        self.conn.set(f"{self.inflight}:claim:{tag}", "1", ex=KEEP_SECONDS)

    def remembered(self, tags: Sequence[str]) -> set[str]:
        tags = list(dict.fromkeys(tags))
        found = self.conn.mget([f"{self.inflight}:claim:{t}" for t in tags]) if tags else []
        return {t for t, v in zip(tags, found, strict=True) if v is not None}

    def marks(self, ids: Sequence[int]) -> list[bytes | None]:
        return self.conn.hmget(self.inflight, [str(i) for i in ids])

    def answers(self, ids: Sequence[int]) -> list[bytes | None]:
        return self.conn.hmget(self.results, [str(i) for i in ids])

    def going(self, ids: Sequence[int]) -> None:
        pipe = self.conn.pipeline()
        pipe.hset(self.inflight, mapping={str(i): "1" for i in ids})
        pipe.expire(self.inflight, KEEP_SECONDS)
        pipe.execute()

    def answered(self, outcomes: Sequence[Outcome]) -> None:
        final = {str(o.message_id): o.to_json() for o in outcomes if not isinstance(o.error, RetryLater)}
        retry = [str(o.message_id) for o in outcomes if isinstance(o.error, RetryLater)]
        pipe = self.conn.pipeline()
        if final:
            pipe.hset(self.results, mapping=final)
            pipe.expire(self.results, KEEP_SECONDS)
        if retry:
            pipe.hdel(self.inflight, *retry)  # it did not go: a later try may send it
        pipe.execute()

    def forget(self, ids: Sequence[int]) -> None:
        if ids:
            keys = [str(i) for i in ids]
            pipe = self.conn.pipeline()
            pipe.hdel(self.inflight, *keys)
            pipe.hdel(self.results, *keys)
            pipe.execute()


def _pause(attempt: int) -> None:
    delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
    time.sleep(delay * (0.5 + random.random()))  # jitter: workers do not retry in step


def send_email(
    channel: Channel,
    batch: Sequence[OutboundMessage],
    ledger: Ledger,
    stopped: Callable[[], bool] = lambda: False,
) -> list[Outcome]:
    """One SendGrid request for the batch, retried with backoff on 429/5xx or no connection.

    No attempt starts once `stopped()` (the campaign paused, or the claim's lease running out: a
    request still going after the sweep took the batch back could send it twice)."""
    ids = [m.message_id for m in batch]
    last: RetryLater | None = None
    for attempt in range(len(RETRY_DELAYS) + 1):
        if attempt:
            _pause(attempt - 1)
        if stopped():
            # Not tried again: a retry later (or, before any try, simply pending again).
            return [Outcome(i, error=last) for i in ids] if last is not None else []
        ledger.going(ids)
        try:
            results = channel.send(batch)
        except Unconfirmed as exc:
            # It may have gone: the marks stay, and recovery asks SendGrid before anything else.
            return [Outcome(i, error=exc) for i in ids]
        except RetryLater as exc:
            last = exc
            ledger.answered([Outcome(i, error=exc) for i in ids])
            continue
        except ChannelMisconfigured:
            ledger.answered([Outcome(i, error=RetryLater("misconfigured")) for i in ids])
            raise
        outcomes = [Outcome(r.message_id, r.provider_id, r.error) for r in results]
        ledger.answered(outcomes)
        return outcomes
    assert last is not None
    return [Outcome(i, error=last) for i in ids]


class RateLimit:
    """At most `rate` acquisitions a second for one key, across every worker (a Redis counter
    per second)."""

    def __init__(self, conn: Redis, key: str, rate: int):
        self.conn, self.key, self.rate = conn, key, max(1, rate)

    def acquire(self) -> None:
        while True:
            now = time.time()
            second = int(now)
            key = f"hub:rate:{self.key}:{second}"
            pipe = self.conn.pipeline()
            pipe.incr(key)
            pipe.expire(key, 5)
            count, _ = pipe.execute()
            if count <= self.rate:
                return
            time.sleep(max(0.0, second + 1 - time.time()) + random.random() * 0.01)


def send_sms(
    channel_for_thread: Callable[[], Channel],
    batch: Sequence[OutboundMessage],
    ledger: Ledger,
    limit: RateLimit,
    stopped: Callable[[], bool],
) -> list[Outcome]:
    """Concurrent Twilio requests, one a message, each retried with backoff on 429/5xx.

    Messages not yet tried when `stopped()` turns true come back without an outcome."""
    local = threading.local()

    def one(msg: OutboundMessage) -> Outcome | None:
        if not hasattr(local, "channel"):
            local.channel = channel_for_thread()
        result: SendResult | None = None
        for attempt in range(len(RETRY_DELAYS) + 1):
            if stopped():
                return None
            if attempt:
                _pause(attempt - 1)
            limit.acquire()
            ledger.going([msg.message_id])
            [result] = local.channel.send([msg])
            outcome = Outcome(msg.message_id, result.provider_id, result.error)
            if isinstance(result.error, Unconfirmed):
                return outcome  # the mark stays: recovery asks Twilio before sending it again
            ledger.answered([outcome])
            if not isinstance(result.error, RetryLater):
                return outcome
        assert result is not None
        return Outcome(msg.message_id, error=result.error)

    with ThreadPoolExecutor(SMS_THREADS, thread_name_prefix="sms") as pool:
        return [o for o in pool.map(one, batch) if o is not None]
