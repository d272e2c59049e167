"""The provider simulator: a real HTTP server standing in for Twilio and SendGrid.

It speaks the wire formats the official SDKs use (Twilio REST 2010-04-01, SendGrid v3 mail/send),
records what it accepted (`<data_dir>/requests.jsonl`, reloaded on start), and calls the hub back
the way the providers do, signed for real: Twilio status callbacks (X-Twilio-Signature), SendGrid
Signed Event Webhook batches (ECDSA), inbound SMS and Inbound Parse email from simulated customers.
Faults (rate limits, errors, slow answers, failed deliveries, duplicated or reordered callbacks)
are injected by share, deterministically with a seed.

Routes: Twilio `POST /2010-04-01/Accounts/{sid}/Messages.json` and `.../Calls.json`; SendGrid
`POST /v3/mail/send`; simulated customers `POST /sim/inbound/sms`, `POST /sim/inbound/email`,
`POST /sim/opt-out`, `POST /sim/inbound/call` (a customer calls; the simulator follows the hub's
TwiML); voicemail audio `GET /sim/recordings/{sid}`; inspection `GET /sim/requests`, `GET|POST /sim/faults`, `POST /sim/reset`,
`GET /sim/opt-outs`, `GET /sim/callbacks`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import requests

from hub.channels.credentials import SimCredentials
from hub.simulator import sendgrid_api, twilio_api, twilio_rest, voice_calls
from hub.simulator.callbacks import Callback, Dispatcher, post_once
from hub.simulator.faults import Dice, Faults
from hub.simulator.http_parts import Incoming, Reply
from hub.simulator.store import OptOuts, RequestLog

__all__ = ["Faults", "ProviderSimulator"]

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 25 * 1024 * 1024  # above SendGrid's own 20 MB, so it answers that itself


class ProviderSimulator:
    """Twilio and SendGrid on one local port. `hub_url` is where the hub listens (SendGrid events
    and simulated customers' messages go to `{hub_url}/webhooks/...`; None: they are not sent).
    Twilio status callbacks go to the `StatusCallback` each request names, as at Twilio."""

    callback_workers = 4
    callback_attempts = 4  # first try and three retries ...
    callback_backoff = 0.2  # ... after 0.2, 0.4 and 0.8 seconds
    call_talk_seconds = 42  # what a call answered through the API reports as spoken
    call_pace_seconds = 0.05  # real pause between the steps of a simulated call

    def __init__(
        self,
        data_dir: Path,
        credentials: SimCredentials,
        hub_url: str | None = None,
        faults: Faults | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.credentials = credentials
        self.hub_url = hub_url.rstrip("/") if hub_url else None
        self.webhook_key = credentials.private_key()
        self.dice = Dice(faults or Faults())
        self.log = RequestLog(self.data_dir)
        self.opt_outs = OptOuts(self.data_dir)
        self.dispatcher = Dispatcher(
            self.callback_workers, self.callback_attempts, self.callback_backoff
        )
        self.calls = voice_calls.CallLives()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; returns the base URL (http://127.0.0.1:54321)."""
        if self._server is not None:
            raise RuntimeError(f"the simulator is already serving at {self._url}")
        server_class = _Server6 if ":" in host else _Server
        self._server = server_class((host, port), _Handler, self)
        bound_port = self._server.server_address[1]
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - only shown
        self._url = (
            f"http://[{shown}]:{bound_port}" if ":" in shown else f"http://{shown}:{bound_port}"
        )
        self.dispatcher.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how soon stop() returns
            name="provider-simulator",
            daemon=True,
        )
        self._thread.start()
        self._write_url_file()
        log.info("provider simulator serving at %s", self._url)
        return self._url

    @property
    def url_file(self) -> Path:
        """`<data_dir>/url.json`: where the hub finds a running simulator of its instance."""
        return self.data_dir / "url.json"

    def _write_url_file(self) -> None:
        tmp = self.url_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"url": self._url, "pid": os.getpid()}), encoding="utf-8")
        os.replace(tmp, self.url_file)

    def _remove_url_file(self) -> None:
        """Remove url.json if it still names this simulator (another may have started since)."""
        try:
            if json.loads(self.url_file.read_text(encoding="utf-8")).get("url") == self._url:
                self.url_file.unlink()
        except FileNotFoundError:
            pass
        except ValueError as exc:
            log.warning("%s is not JSON (%s); left in place", self.url_file, exc)

    def stop(self) -> None:
        """Stop serving: close kept-alive connections, stop the callback workers."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.dispatcher.stop()
        self.log.close()
        self._remove_url_file()
        log.info("provider simulator at %s stopped", self._url)

    def __enter__(self) -> ProviderSimulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the simulator has not been started")
        return self._url

    # -- inspection and control -----------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Every accepted request, oldest first (including those of earlier runs)."""
        return self.log.all()

    def callbacks(self) -> list[dict[str, Any]]:
        """Every callback attempt of this run (url, kind, attempt, status or error)."""
        return self.dispatcher.outcomes()

    @property
    def faults(self) -> Faults:
        return self.dice.faults

    def set_faults(self, faults: Faults) -> None:
        """Use these faults from now on (and restart the dice from their seed)."""
        self.dice.reset(faults)

    def reset(self) -> None:
        """Forget the requests, the opted-out numbers and the callback outcomes."""
        self.log.clear()
        self.opt_outs.clear()
        self.dispatcher.clear_outcomes()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every call played out and every scheduled callback was delivered (or given
        up); False on timeout."""
        deadline = time.monotonic() + timeout
        if not self.calls.wait(timeout):
            return False
        return self.dispatcher.wait_idle(max(0.0, deadline - time.monotonic()))

    # -- used by the providers' modules -------------------------------------------------------

    def api_fault(self) -> int | None:
        """Roll the request faults: maybe wait `slow_seconds`; 429, 500, or None to go on."""
        faults = self.dice.faults
        if self.dice.roll(faults.slow):
            time.sleep(faults.slow_seconds)
        if self.dice.roll(faults.rate_429):
            return 429
        if self.dice.roll(faults.rate_500):
            return 500
        return None

    def schedule(self, chain: list[Callback], reorder: bool = True) -> None:
        """Send `chain` in order (reversed by the reorder fault), each callback maybe twice."""
        faults = self.dice.faults
        if reorder and len(chain) > 1 and self.dice.roll(faults.reorder_callbacks):
            chain = chain[::-1]
        sent: list[Callback] = []
        for callback in chain:
            sent.append(callback)
            if self.dice.roll(faults.duplicate_callbacks):
                sent.append(callback)
        self.dispatcher.schedule(sent, faults.callback_delay_seconds)

    def forward(self, kind: str, url: str, body: bytes, headers: dict[str, str]) -> Reply:
        """POST to the hub now and answer with its status and body (simulated customers)."""
        try:
            response = post_once(url, body, headers)
        except requests.RequestException as exc:
            log.warning("%s to %s failed: %s", kind, url, exc)
            return Reply.json(502, {"error": f"the hub did not answer: {exc}"})
        if response.status_code >= 400:
            log.warning("%s to %s answered HTTP %d", kind, url, response.status_code)
        content_type = response.headers.get("Content-Type", "application/octet-stream")
        return Reply(response.status_code, response.content, {"Content-Type": content_type})

    # -- routing --------------------------------------------------------------------------------

    def route(self, req: Incoming) -> Reply:
        if req.path.startswith("/2010-04-01/"):
            return self._maybe_lose(req, twilio_rest.handle(self, req))
        if req.path.startswith("/v3/"):
            return self._maybe_lose(req, sendgrid_api.handle(self, req))
        if req.path.startswith("/sim/"):
            return self._control(req)
        if req.path == "/" and req.method == "GET":
            return Reply.json(200, {"simulator": "twilio+sendgrid", "doc": __doc__})
        return Reply.json(404, {"error": f"no route for {req.method} {req.path}"})

    def _maybe_lose(self, req: Incoming, reply: Reply) -> Reply:
        """The lost_answers fault: what was accepted stays accepted, the answer comes too late."""
        accepted = req.method == "POST" and 200 <= reply.status < 300
        if accepted and self.dice.roll(self.faults.lost_answers):
            time.sleep(self.faults.slow_seconds)
        return reply

    def _control(self, req: Incoming) -> Reply:
        route = (req.method, req.path.rstrip("/"))
        if route == ("GET", "/sim/requests"):
            wanted = parse_qs(req.query).get("provider")
            records = self.requests()
            if wanted:
                records = [r for r in records if r.get("provider") in wanted]
            return Reply.json(200, records)
        if route == ("GET", "/sim/callbacks"):
            return Reply.json(200, self.callbacks())
        if route == ("GET", "/sim/faults"):
            return Reply.json(200, self.faults.to_dict())
        if route == ("GET", "/sim/opt-outs"):
            return Reply.json(200, self.opt_outs.all())
        if req.method == "GET" and route[1].startswith("/sim/recordings/"):
            return Reply(200, voice_calls.SILENT_WAV, {"Content-Type": "audio/x-wav"})
        if route == ("POST", "/sim/reset"):
            self.reset()
            return Reply.json(200, {"reset": True})
        if req.method != "POST" or route[1] not in (
            "/sim/faults",
            "/sim/opt-out",
            "/sim/inbound/sms",
            "/sim/inbound/email",
            "/sim/inbound/call",
        ):
            return Reply.json(404, {"error": f"no route for {req.method} {req.path}"})
        try:
            data = json.loads(req.body.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Reply.json(400, {"error": f"the body is not JSON: {exc}"})
        if not isinstance(data, dict):
            return Reply.json(400, {"error": "the body must be a JSON object"})
        if route[1] == "/sim/faults":
            try:
                faults = Faults.from_dict(data)
            except (TypeError, ValueError) as exc:
                return Reply.json(400, {"error": str(exc)})
            self.set_faults(faults)
            return Reply.json(200, faults.to_dict())
        if route[1] == "/sim/opt-out":
            number = str(data.get("number") or "").strip()
            if not number:
                return Reply.json(400, {"error": "'number' is required"})
            self.opt_outs.add(number)
            return Reply.json(200, {"opted_out": self.opt_outs.all()})
        if route[1] == "/sim/inbound/sms":
            return twilio_api.inbound_sms(self, data)
        if route[1] == "/sim/inbound/call":
            return voice_calls.inbound_call(self, data)
        return sendgrid_api.inbound_email(self, data)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Twilio SDK's session expects
    # Without it each keep-alive answer stalls ~40 ms on Nagle meeting delayed ACKs.
    disable_nagle_algorithm = True
    timeout = 120  # an idle kept-alive connection is closed after this
    server: _Server
    server_version = "ProviderSimulator/1.0"

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    def _handle(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            self._send(Reply.json(411, {"error": "send a Content-Length"}))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self.close_connection = True  # the body is left unread
            self._send(Reply.json(413, {"error": "request body too large or length invalid"}))
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        req = Incoming(
            self.command, path, query, {k.lower(): v for k, v in self.headers.items()}, body
        )
        try:
            reply = self.server.sim.route(req)
        except Exception as exc:
            log.exception("simulator failed on %s %s", self.command, path)
            reply = Reply.json(500, {"error": f"simulator bug: {type(exc).__name__}: {exc}"})
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            # The client stopped waiting (the lost_answers fault, a timeout): what it asked for
            # stands, as at a real provider.
            self.close_connection = True

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.debug("%s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Kept-alive connections would make server_close() wait for their clients: we close them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type, sim: ProviderSimulator) -> None:
        self.sim = sim
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End the kept-alive connections, so no client is answered after stop()."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError as exc:  # already closed by the client: nothing left to end
                log.debug("closing a connection: %s", exc)


class _Server6(_Server):
    address_family = socket.AF_INET6
