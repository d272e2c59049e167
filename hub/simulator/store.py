"""What the provider simulator keeps on disk: the accepted requests and the opted-out numbers."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import phonenumbers

log = logging.getLogger(__name__)


def read_request_log(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a requests.jsonl (a line cut short by a crash is reported, skipped)."""
    records: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return records
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            log.warning("%s line %d is not JSON (%s); skipped", path, number, exc)
    return records


def _ends_with_newline(path: Path) -> bool:
    """True for a missing or empty file too: nothing to repair."""
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
    except FileNotFoundError:
        return True


class RequestLog:
    """Accepted requests in memory, each also appended as one JSON line to `requests.jsonl`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "requests.jsonl"
        self._lock = threading.Lock()
        self._records = read_request_log(self.path)
        self._next_id = max((int(r.get("id", 0)) for r in self._records), default=0) + 1
        self._fh: TextIO | None = None
        if not _ends_with_newline(self.path):
            # A crash cut the last line short: start ours on a line of its own.
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("\n")

    def add(
        self, provider: str, kind: str, path: str, body: Any, ids: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        with self._lock:
            record = {
                "id": self._next_id,
                "provider": provider,
                "kind": kind,
                "path": path,
                "time": time.time(),
                "body": body,
                "ids": ids,
                **extra,
            }
            self._next_id += 1
            self._records.append(record)
            if self._fh is None:
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept for appends
            self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._fh.flush()
            return record

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            if self._fh is not None:
                self._fh.close()
                self._fh = None
            self.path.write_text("", encoding="utf-8")

    def close(self) -> None:
        """Close the file; the next add() opens it again."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def number_key(number: str) -> str:
    """One spelling per phone number, so '+1 202-555-0143' and '+12025550143' match."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(number, None), phonenumbers.PhoneNumberFormat.E164
        )
    except phonenumbers.NumberParseException:
        return number.strip()


class OptOuts:
    """Numbers that texted STOP (or were added by hand), kept in `opt_outs.json` like Twilio keeps
    them across sessions."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "opt_outs.json"
        self._lock = threading.Lock()
        try:
            self._numbers: set[str] = set(json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            self._numbers = set()

    def __contains__(self, number: str) -> bool:
        with self._lock:
            return number_key(number) in self._numbers

    def add(self, number: str) -> None:
        self._change(lambda s: s.add(number_key(number)))

    def remove(self, number: str) -> None:
        self._change(lambda s: s.discard(number_key(number)))

    def clear(self) -> None:
        self._change(lambda s: s.clear())

    def all(self) -> list[str]:
        with self._lock:
            return sorted(self._numbers)

    def _change(self, change: Any) -> None:
        with self._lock:
            change(self._numbers)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(sorted(self._numbers)), encoding="utf-8")
            os.replace(tmp, self.path)
