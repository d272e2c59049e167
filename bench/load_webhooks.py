"""Sustained load on the provider webhooks from a second process: signed Twilio SMS status
callbacks, signed SendGrid event batches and inbound calls (voice webhook, screen pop), from
several threads for a fixed time, as the providers would send them.

    python bench/load_webhooks.py --url http://127.0.0.1:5000 --instance instance \\
        [--seconds 60] [--threads 8] [--numbers +8613800000001,...]

The signing keys come from the hub's instance folder (the simulator's credentials), so run it
against a hub on the embedded defaults (`hub up`, or the load test's own). Prints one JSON object:
requests sent and answered per kind, requests per second, p50/p99 latency in ms, and errors,
with the ids of everything sent so a caller can check that nothing was lost.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub.channels.credentials import load_or_create  # noqa: E402
from hub.simulator.sendgrid_api import sign_events  # noqa: E402

EVENTS_PER_BATCH = 10


class Load:
    def __init__(self, url: str, instance: Path, numbers: list[str], seed: int) -> None:
        self.url = url.rstrip("/")
        self.creds = load_or_create(instance)
        self.key = self.creds.private_key()
        self.validator = RequestValidator(self.creds.auth_token)
        self.numbers = numbers or ["+8613800000001"]
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {"sms-status": [], "sendgrid": [], "voice": []}
        self.errors: list[str] = []
        self.sent = {"sms_status_keys": [], "sendgrid_event_ids": [], "call_sids": []}

    def _post(self, kind: str, path: str, body: bytes, headers: dict[str, str]) -> None:
        start = time.perf_counter()
        try:
            response = requests.post(
                self.url + path,
                data=body,
                headers={**headers, "Connection": "close"},
                proxies={"http": None, "https": None},
                timeout=15,
            )
            status = response.status_code
        except requests.RequestException as exc:
            status, response = 0, None
            reason = f"{kind}: {type(exc).__name__}: {exc}"
        elapsed = time.perf_counter() - start
        with self.lock:
            if 200 <= status < 300:
                self.latency[kind].append(elapsed)
            else:
                text = response.text[:200] if response is not None else reason
                self.errors.append(f"{kind}: HTTP {status}: {text}")

    def _twilio(self, kind: str, path: str, params: dict[str, str]) -> None:
        signature = self.validator.compute_signature(self.url + path, params)
        headers = {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        self._post(kind, path, urlencode(params).encode(), headers)

    def sms_status(self) -> None:
        sid = "SM" + secrets.token_hex(16)
        status = self.rng.choice(("sent", "delivered", "undelivered"))
        with self.lock:
            self.sent["sms_status_keys"].append(f"twilio:{sid}:{status}")
        self._twilio("sms-status", "/webhooks/twilio/sms-status",
                     {"MessageSid": sid, "MessageStatus": status,
                      "AccountSid": self.creds.account_sid})

    def sendgrid(self) -> None:
        events = []
        for _ in range(EVENTS_PER_BATCH):
            event_id = secrets.token_urlsafe(16)
            events.append({"event": self.rng.choice(("delivered", "open", "processed")),
                           "email": f"c{self.rng.randrange(10**6)}@load.example",
                           "timestamp": int(time.time()), "sg_event_id": event_id})
            with self.lock:
                self.sent["sendgrid_event_ids"].append(event_id)
        body = json.dumps(events).encode()
        headers = {"Content-Type": "application/json", **sign_events(self.key, body)}
        self._post("sendgrid", "/webhooks/sendgrid/events", body, headers)

    def voice(self) -> None:
        sid = "CA" + secrets.token_hex(16)
        with self.lock:
            self.sent["call_sids"].append(sid)
        self._twilio("voice", "/webhooks/twilio/voice",
                     {"CallSid": sid, "From": self.rng.choice(self.numbers),
                      "To": self.creds.from_number, "CallStatus": "ringing",
                      "Direction": "inbound", "AccountSid": self.creds.account_sid})

    def worker(self, deadline: float) -> None:
        while time.perf_counter() < deadline:
            roll = self.rng.random()
            if roll < 0.7:
                self.sms_status()
            elif roll < 0.9:
                self.sendgrid()
            else:
                self.voice()


def _ms(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000, 2)


def run(url: str, instance: Path, seconds: float, threads: int, numbers: list[str],
        seed: int = 1) -> dict[str, Any]:
    load = Load(url, instance, numbers, seed)
    started = time.perf_counter()
    deadline = started + seconds
    pool = [threading.Thread(target=load.worker, args=(deadline,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    answered = sum(len(v) for v in load.latency.values())
    return {
        "seconds": round(elapsed, 2),
        "threads": threads,
        "requests": answered + len(load.errors),
        "answered_2xx": answered,
        "requests_per_second": round(answered / elapsed, 1),
        "errors": load.errors[:20],
        "error_count": len(load.errors),
        "kinds": {
            kind: {
                "count": len(values),
                "p50_ms": _ms(values, 0.5),
                "p99_ms": _ms(values, 0.99),
                "mean_ms": round(statistics.mean(values) * 1000, 2) if values else None,
            }
            for kind, values in load.latency.items()
        },
        "sent": load.sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--instance", required=True, type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--numbers", default="", help="Callers' numbers, comma-separated")
    parser.add_argument("--summary-only", action="store_true", help="Leave out the sent ids")
    args = parser.parse_args()
    numbers = [n for n in args.numbers.split(",") if n]
    result = run(args.url, args.instance, args.seconds, args.threads, numbers)
    if args.summary_only:
        result.pop("sent")
    print(json.dumps(result, indent=None if not args.summary_only else 2))


if __name__ == "__main__":
    main()
