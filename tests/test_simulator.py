"""The provider simulator through the real SDKs over HTTP: Twilio side, simulated customers,
inspection, persistence, credentials and the CLI. (SendGrid: test_sim_sendgrid.py.)"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import phonenumbers
import pytest
import requests
from sendgrid.helpers.eventwebhook import EventWebhook
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hub.channels.credentials import SimCredentials, credentials_path, load_or_create
from hub.simulator.server import Faults, ProviderSimulator
from tests.conftest import PATIENCE

CUSTOMER = "+8613800138000"


# -- fixtures shared with test_sim_sendgrid.py ---------------------------------------------------


class Receiver:
    """A tiny hub stand-in: records every POST, answers 200 (or 500 for the next `fail_next`)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail_next = 0
        self.answer = (200, "text/xml", b"<Response><Message>Got it</Message></Response>")
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                    status, ctype, answer = (
                        (500, "text/plain", b"boom") if failing else receiver.answer
                    )
                    receiver.posts.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def received(self, prefix: str) -> list[dict[str, Any]]:
        """The successful posts to paths starting with `prefix`, in arrival order."""
        with self.lock:
            return [p for p in self.posts if p["path"].startswith(prefix) and p["status"] == 200]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests and urllib honour HTTP(S)_PROXY: loopback must bypass it.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


# Named fixtures (name=...) so test_sim_sendgrid.py can import them without shadowing.
@pytest.fixture(name="creds", scope="module")
def creds_fixture(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return load_or_create(tmp_path_factory.mktemp("instance"))


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(name="sim")
def sim_fixture(
    tmp_path: Path, creds: SimCredentials, receiver: Receiver
) -> Iterator[ProviderSimulator]:
    s = ProviderSimulator(tmp_path / "sim", creds, receiver.url)
    s.dispatcher.backoff = 0.01  # retries in tests need not wait
    s.start()
    yield s
    s.stop()


@pytest.fixture
def twilio(sim: ProviderSimulator, creds: SimCredentials) -> Client:
    client = Client(creds.account_sid, creds.auth_token)
    client.api.base_url = sim.url  # never region/edge with a loopback URL
    return client


def form(post: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(post["body"].decode(), keep_blank_values=True).items()}


def statuses(
    receiver: Receiver, field: str = "MessageStatus", prefix: str = "/status"
) -> list[str]:
    return [form(p)[field] for p in receiver.received(prefix)]


def send_sms(twilio: Client, receiver: Receiver, to: str = CUSTOMER, **kw: Any) -> Any:
    return twilio.messages.create(
        to=to,
        from_="+12025550143",
        body="Hello",
        status_callback=f"{receiver.url}/status?m=1",
        **kw,
    )


# -- Twilio REST ------------------------------------------------------------------------------


def test_a_message_created_through_the_sdk_is_answered_like_twilio_and_recorded(
    sim: ProviderSimulator, twilio: Client, creds: SimCredentials
) -> None:
    msg = twilio.messages.create(to=CUSTOMER, from_=creds.from_number, body="你好, a reminder")
    assert msg.sid.startswith("SM") and len(msg.sid) == 34
    assert msg.status == "queued" and msg.direction == "outbound-api"
    assert msg.account_sid == creds.account_sid and msg.to == CUSTOMER
    assert msg.num_segments == "1" and msg.error_code is None
    assert msg.date_created is not None  # RFC 2822, parsed by the SDK
    assert msg.uri.endswith(f"/Messages/{msg.sid}.json")
    (record,) = sim.requests()
    assert record["provider"] == "twilio" and record["kind"] == "message"
    assert record["ids"] == {"sid": msg.sid}
    assert record["body"]["Body"] == "你好, a reminder" and record["body"]["To"] == CUSTOMER


def test_segments_are_counted_as_gsm7_or_ucs2(twilio: Client, creds: SimCredentials) -> None:
    def segments(body: str) -> str:
        return twilio.messages.create(to=CUSTOMER, from_=creds.from_number, body=body).num_segments

    assert segments("a" * 160) == "1"
    assert segments("a" * 161) == "2"
    assert segments("好" * 70) == "1"
    assert segments("好" * 71) == "2"


def test_a_messaging_service_without_from_is_accepted(twilio: Client) -> None:
    msg = twilio.messages.create(to=CUSTOMER, messaging_service_sid="MG" + "0" * 32, body="x")
    assert msg.status == "accepted" and msg.messaging_service_sid == "MG" + "0" * 32


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"to": "+86123"}, 400, 21211),
        ({"to": "not a number"}, 400, 21211),
        ({"body": ""}, 400, 21602),
        ({"body": "x" * 1601}, 400, 21617),
        ({"from_": "+1 000"}, 400, 21212),
    ],
)
def test_invalid_messages_raise_what_twilio_raises(
    twilio: Client, sim: ProviderSimulator, kwargs: dict[str, str], status: int, code: int
) -> None:
    args = {"to": CUSTOMER, "from_": "+12025550143", "body": "Hello", **kwargs}
    with pytest.raises(TwilioRestException) as err:
        twilio.messages.create(**args)
    assert (err.value.status, err.value.code) == (status, code)
    assert err.value.msg
    assert sim.requests() == []  # refused requests are not recorded


def test_bad_credentials_are_20003(sim: ProviderSimulator, creds: SimCredentials) -> None:
    for sid, token in [(creds.account_sid, "0" * 32), ("AC" + "0" * 32, creds.auth_token)]:
        client = Client(sid, token)
        client.api.base_url = sim.url
        with pytest.raises(TwilioRestException) as err:
            client.messages.create(to=CUSTOMER, from_="+12025550143", body="x")
        assert (err.value.status, err.value.code) == (401, 20003)


def test_an_opted_out_number_is_21610_until_it_texts_start(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver
) -> None:
    done = requests.post(f"{sim.url}/sim/opt-out", json={"number": "+86 138 0013 8000"}, timeout=PATIENCE)
    assert done.status_code == 200 and CUSTOMER in done.json()["opted_out"]
    with pytest.raises(TwilioRestException) as err:
        send_sms(twilio, receiver)
    assert (err.value.status, err.value.code) == (400, 21610)
    requests.post(f"{sim.url}/sim/inbound/sms", json={"from": CUSTOMER, "body": "start"}, timeout=PATIENCE)
    assert send_sms(twilio, receiver).sid.startswith("SM")


def test_faults_at_share_one_fail_every_request(sim: ProviderSimulator, twilio: Client) -> None:
    for faults, status, code in [
        (Faults(rate_429=1.0), 429, 20429),
        (Faults(rate_500=1.0), 500, 20500),
    ]:
        sim.set_faults(faults)
        for _ in range(5):
            with pytest.raises(TwilioRestException) as err:
                twilio.messages.create(to=CUSTOMER, from_="+12025550143", body="x")
            assert (err.value.status, err.value.code) == (status, code)
    sim.set_faults(Faults(slow=1.0, slow_seconds=0.05))
    assert twilio.messages.create(to=CUSTOMER, from_="+12025550143", body="x").sid
    assert len(sim.requests()) == 1


def test_status_callbacks_are_signed_over_the_exact_url_and_arrive_in_order(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver, creds: SimCredentials
) -> None:
    msg = send_sms(twilio, receiver)
    assert sim.wait_idle(PATIENCE)
    posts = receiver.received("/status")
    assert [form(p)["MessageStatus"] for p in posts] == ["sending", "sent", "delivered"]
    for post in posts:
        params = form(post)
        assert params["MessageSid"] == params["SmsSid"] == msg.sid
        assert params["SmsStatus"] == params["MessageStatus"]
        assert params["AccountSid"] == creds.account_sid and params["To"] == CUSTOMER
        assert params["From"] == "+12025550143" and params["ApiVersion"] == "2010-04-01"
        url = receiver.url + post["path"]
        assert post["path"] == "/status?m=1"  # the query string is kept and signed
        signature = post["headers"]["X-Twilio-Signature"]
        assert RequestValidator(creds.auth_token).validate(url, params, signature)
        assert not RequestValidator("f" * 32).validate(url, params, signature)
        assert not RequestValidator(creds.auth_token).validate(
            url, {**params, "MessageStatus": "read"}, signature
        )


@pytest.mark.parametrize(
    ("faults", "final", "code"),
    [
        (Faults(sms_undelivered=1.0), "undelivered", "30003"),
        (Faults(sms_failed=1.0), "failed", "30005"),
    ],
)
def test_delivery_faults_end_in_undelivered_or_failed_with_the_error_code(
    sim: ProviderSimulator,
    twilio: Client,
    receiver: Receiver,
    faults: Faults,
    final: str,
    code: str,
) -> None:
    sim.set_faults(faults)
    send_sms(twilio, receiver)
    assert sim.wait_idle(PATIENCE)
    posts = receiver.received("/status")
    assert statuses(receiver) == ["sending", "sent", final]
    assert form(posts[-1])["ErrorCode"] == code
    assert "ErrorCode" not in form(posts[0])
    assert sim.requests()[0]["final_status"] == final


def test_duplicated_and_reordered_callbacks_when_asked(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver
) -> None:
    sim.set_faults(Faults(duplicate_callbacks=1.0, reorder_callbacks=1.0, callback_delay_seconds=0))
    send_sms(twilio, receiver)
    assert sim.wait_idle(PATIENCE)
    assert statuses(receiver) == ["delivered", "delivered", "sent", "sent", "sending", "sending"]


def test_the_same_seed_gives_the_same_faults(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver
) -> None:
    def run() -> list[list[str]]:
        sim.set_faults(
            Faults(
                duplicate_callbacks=0.1,
                reorder_callbacks=0.3,
                sms_undelivered=0.3,
                callback_delay_seconds=0,
                seed=7,
            )
        )
        receiver.posts.clear()
        sids = [send_sms(twilio, receiver).sid for _ in range(12)]
        assert sim.wait_idle(PATIENCE)
        by_sid: dict[str, list[str]] = {sid: [] for sid in sids}
        for post in receiver.received("/status"):
            params = form(post)
            by_sid[params["MessageSid"]].append(params["MessageStatus"])
        return [by_sid[sid] for sid in sids]

    first, second = run(), run()
    assert first == second
    assert any(len(seq) > 3 for seq in first)  # some duplicated
    assert any(seq[0] != "sending" for seq in first)  # some reordered
    assert any("undelivered" in seq for seq in first)
    assert any(seq == ["sending", "sent", "delivered"] for seq in first)  # and some untouched


def test_calls_are_created_and_report_the_events_asked_for(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver, creds: SimCredentials
) -> None:
    call = twilio.calls.create(
        to=CUSTOMER,
        from_=creds.from_number,
        url="https://hub.example/voice/answer",
        status_callback=f"{receiver.url}/calls",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
    )
    assert call.sid.startswith("CA") and call.status == "queued"
    plain = twilio.calls.create(
        to=CUSTOMER,
        from_=creds.from_number,
        twiml="<Response><Say>Hi</Say></Response>",
        status_callback=f"{receiver.url}/plain",
    )
    assert sim.wait_idle(PATIENCE)
    assert statuses(receiver, "CallStatus", "/calls") == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert statuses(receiver, "CallStatus", "/plain") == ["completed"]  # Twilio's default
    for post in receiver.received("/calls") + receiver.received("/plain"):
        params = form(post)
        assert params["CallSid"] in (call.sid, plain.sid)
        url = receiver.url + post["path"]
        assert RequestValidator(creds.auth_token).validate(
            url, params, post["headers"]["X-Twilio-Signature"]
        )
    assert [r["kind"] for r in sim.requests()] == ["call", "call"]
    with pytest.raises(TwilioRestException) as err:
        twilio.calls.create(to=CUSTOMER, from_=creds.from_number)
    assert (err.value.status, err.value.code) == (400, 21205)
    with pytest.raises(TwilioRestException) as err:
        twilio.calls.create(to=CUSTOMER, from_=creds.from_number, twiml="x" * 4001)
    assert err.value.code == 32018


def test_a_failing_callback_is_retried_then_given_up_with_the_reason_logged(
    sim: ProviderSimulator,
    twilio: Client,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver.fail_next = 2
    send_sms(twilio, receiver)
    assert sim.wait_idle(PATIENCE)
    assert statuses(receiver) == ["sending", "sent", "delivered"]
    attempts = [c for c in sim.callbacks() if c["kind"] == "twilio-message-status"]
    assert [c.get("status") for c in attempts[:3]] == [500, 500, 200]
    assert "HTTP 500" in caplog.text and "retrying" in caplog.text

    dead = "http://127.0.0.1:9/status"  # discard port: nothing listens
    twilio.messages.create(to=CUSTOMER, from_="+12025550143", body="x", status_callback=dead)
    assert sim.wait_idle(PATIENCE)
    assert "given up after 4 attempt(s)" in caplog.text and "ConnectionError" in caplog.text


# -- simulated customers --------------------------------------------------------------------


def test_an_inbound_sms_reaches_the_hub_signed_and_the_hub_answer_comes_back(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver, creds: SimCredentials
) -> None:
    answer = requests.post(
        f"{sim.url}/sim/inbound/sms", json={"from": CUSTOMER, "body": " Stop "}, timeout=10
    )
    assert answer.status_code == 200
    assert answer.text == "<Response><Message>Got it</Message></Response>"
    assert answer.headers["Content-Type"] == "text/xml"
    (post,) = receiver.received("/webhooks/twilio/sms")
    params = form(post)
    assert params["From"] == CUSTOMER and params["To"] == creds.from_number
    assert params["Body"] == " Stop " and params["NumMedia"] == "0" and params["NumSegments"] == "1"
    assert params["MessageSid"].startswith("SM") and params["AccountSid"] == creds.account_sid
    assert RequestValidator(creds.auth_token).validate(
        receiver.url + post["path"], params, post["headers"]["X-Twilio-Signature"]
    )
    # STOP counts at the carrier whatever the hub answered.
    with pytest.raises(TwilioRestException) as err:
        send_sms(twilio, receiver)
    assert err.value.code == 21610
    assert requests.get(f"{sim.url}/sim/opt-outs", timeout=PATIENCE).json() == [CUSTOMER]

    receiver.answer = (403, "text/plain", b"bad signature")
    refused = requests.post(
        f"{sim.url}/sim/inbound/sms", json={"from": "+8613900139000", "body": "hi"}, timeout=10
    )
    assert (refused.status_code, refused.text) == (403, "bad signature")


def test_an_inbound_email_is_posted_as_inbound_parse_to_the_secret_url(
    sim: ProviderSimulator, receiver: Receiver, creds: SimCredentials
) -> None:
    receiver.answer = (200, "text/plain", b"ok")
    answer = requests.post(
        f"{sim.url}/sim/inbound/email",
        json={
            "from": "Li Lei <li.lei@example.com>",
            "to": creds.from_email,
            "subject": "关于订单",
            "text": "Where is my order?",
            "html": "<p>Where is my order?</p>",
        },
        timeout=PATIENCE,
    )
    assert (answer.status_code, answer.text) == (200, "ok")
    (post,) = receiver.received("/webhooks/sendgrid/inbound/")
    assert post["path"] == f"/webhooks/sendgrid/inbound/{creds.inbound_email_secret}"
    ctype = post["headers"]["Content-Type"]
    assert ctype.startswith("multipart/form-data; boundary=")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + post["body"]
    )
    fields = {
        # Parts carry no charset (the `charsets` field names it), as from SendGrid.
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True).decode(
            "utf-8"
        )
        for part in message.iter_parts()
    }
    assert fields["from"] == "Li Lei <li.lei@example.com>" and fields["to"] == creds.from_email
    assert fields["subject"] == "关于订单" and fields["text"] == "Where is my order?"
    assert fields["html"] == "<p>Where is my order?</p>" and fields["attachments"] == "0"
    assert json.loads(fields["envelope"]) == {
        "to": [creds.from_email],
        "from": "li.lei@example.com",
    }
    assert "Subject: 关于订单" in fields["headers"]
    assert [r["kind"] for r in sim.requests()] == ["inbound_email"]


def test_without_a_hub_url_nothing_is_called_back(tmp_path: Path, creds: SimCredentials) -> None:
    with ProviderSimulator(tmp_path, creds) as sim:
        answer = requests.post(f"{sim.url}/sim/inbound/sms", json={"from": CUSTOMER}, timeout=PATIENCE)
        assert answer.status_code == 409
        from sendgrid import SendGridAPIClient

        sg = SendGridAPIClient(creds.sendgrid_api_key, host=sim.url)
        sg.client.timeout = 10
        mail = {
            "personalizations": [{"to": [{"email": "a@example.com"}]}],
            "from": {"email": creds.from_email},
            "subject": "s",
            "content": [{"type": "text/plain", "value": "x"}],
        }
        assert sg.client.mail.send.post(request_body=mail).status_code == 202
        assert sim.wait_idle(PATIENCE) and sim.callbacks() == []


def test_a_hub_that_does_not_answer_is_a_502_for_the_simulated_customer(
    tmp_path: Path, creds: SimCredentials, caplog: pytest.LogCaptureFixture
) -> None:
    with ProviderSimulator(tmp_path, creds, hub_url="http://127.0.0.1:9") as sim:
        answer = requests.post(f"{sim.url}/sim/inbound/sms", json={"from": CUSTOMER}, timeout=PATIENCE)
        assert answer.status_code == 502 and "did not answer" in answer.json()["error"]
        mail = {"from": "a@example.com", "subject": "hi", "text": "x"}
        answer = requests.post(f"{sim.url}/sim/inbound/email", json=mail, timeout=PATIENCE)
        assert answer.status_code == 502
    assert "twilio-inbound-sms to http://127.0.0.1:9/webhooks/twilio/sms failed" in caplog.text


# -- inspection, persistence ----------------------------------------------------------------


def test_inspection_endpoints(sim: ProviderSimulator, twilio: Client) -> None:
    msg = twilio.messages.create(to=CUSTOMER, from_="+12025550143", body="x")
    listed = requests.get(f"{sim.url}/sim/requests", timeout=PATIENCE).json()
    assert [r["ids"]["sid"] for r in listed] == [msg.sid]
    assert listed[0]["path"].endswith("/Messages.json") and listed[0]["time"] > 0
    assert requests.get(f"{sim.url}/sim/requests?provider=sendgrid", timeout=PATIENCE).json() == []

    faults = {"rate_429": 0.25, "seed": 3}
    assert requests.post(f"{sim.url}/sim/faults", json=faults, timeout=PATIENCE).json()["rate_429"] == 0.25
    assert requests.get(f"{sim.url}/sim/faults", timeout=PATIENCE).json()["seed"] == 3
    assert sim.faults.rate_429 == 0.25
    for bad in ({"rate_429": 2}, {"rate_492": 0.1}, {"seed": "x"}):
        assert requests.post(f"{sim.url}/sim/faults", json=bad, timeout=PATIENCE).status_code == 400
    assert sim.faults.rate_429 == 0.25

    requests.post(f"{sim.url}/sim/opt-out", json={"number": "+8613900139000"}, timeout=PATIENCE)
    assert requests.post(f"{sim.url}/sim/reset", timeout=PATIENCE).status_code == 200
    assert sim.requests() == [] and requests.get(f"{sim.url}/sim/opt-outs", timeout=PATIENCE).json() == []
    assert (sim.data_dir / "requests.jsonl").read_text() == ""


def test_requests_survive_a_stop_and_start_on_the_same_data_dir(
    tmp_path: Path, creds: SimCredentials
) -> None:
    first = ProviderSimulator(tmp_path / "sim", creds)
    first.start()
    client = Client(creds.account_sid, creds.auth_token)
    client.api.base_url = first.url
    sid = client.messages.create(to=CUSTOMER, from_="+12025550143", body="one").sid
    assert json.loads((tmp_path / "sim" / "url.json").read_text())["url"] == first.url
    first.stop()
    assert not (tmp_path / "sim" / "url.json").exists()

    second = ProviderSimulator(tmp_path / "sim", creds)
    assert [r["ids"]["sid"] for r in second.requests()] == [sid]
    second.start()
    client.api.base_url = second.url
    sid2 = client.messages.create(to=CUSTOMER, from_="+12025550143", body="two").sid
    second.stop()
    second.start()  # the same object again
    assert [r["ids"]["sid"] for r in second.requests()] == [sid, sid2]
    assert [r["id"] for r in second.requests()] == [1, 2]
    second.stop()
    lines = (tmp_path / "sim" / "requests.jsonl").read_text().splitlines()
    assert [json.loads(line)["ids"]["sid"] for line in lines] == [sid, sid2]


def test_many_messages_through_one_client(
    sim: ProviderSimulator, twilio: Client, receiver: Receiver
) -> None:
    """A sanity check of throughput: everything is answered and called back; no timing asserts."""
    import time

    started = time.perf_counter()
    sids = {send_sms(twilio, receiver).sid for _ in range(300)}
    elapsed = time.perf_counter() - started
    assert sim.wait_idle(PATIENCE)
    assert len(sids) == 300 and len(sim.requests()) == 300
    assert len(receiver.received("/status")) == 900
    print(f"\n300 SMS through the SDK in {elapsed:.2f}s ({300 / elapsed:.0f}/s)")


# -- credentials ----------------------------------------------------------------------------


def test_credentials_are_created_once_and_kept_private(tmp_path: Path) -> None:
    creds = load_or_create(tmp_path)
    path = credentials_path(tmp_path)
    assert path == tmp_path / "simulator" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(tmp_path) == creds
    assert creds.account_sid.startswith("AC") and len(creds.account_sid) == 34
    int(creds.account_sid[2:], 16), int(creds.auth_token, 16)
    assert len(creds.auth_token) == 32 and creds.sendgrid_api_key.startswith("SG.")
    assert phonenumbers.is_valid_number(phonenumbers.parse(creds.from_number))
    assert creds.from_email == "hub@sim.contact-hub.example"
    assert "-----BEGIN PRIVATE KEY-----" in creds.webhook_private_key_pem
    # The public key is in the form SendGrid's console shows, which the SDK accepts.
    EventWebhook(creds.webhook_public_key)
    assert "\n" not in creds.webhook_public_key and creds.webhook_public_key.startswith("MFkw")
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temp files left


def test_credentials_made_by_processes_starting_together_are_one_set(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from hub.channels.credentials import load_or_create;"
        "print(load_or_create(Path(sys.argv[1])).auth_token)"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    tokens = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert tokens == {load_or_create(tmp_path).auth_token}


def test_damaged_credentials_are_reported_not_replaced(tmp_path: Path) -> None:
    load_or_create(tmp_path)
    path = credentials_path(tmp_path)
    path.write_text(json.dumps({"account_sid": "AC1"}))
    with pytest.raises(ValueError, match="lacks auth_token"):
        load_or_create(tmp_path)


# -- CLI ------------------------------------------------------------------------------------


def _cli_env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_INSTANCE_DIR=str(instance), NO_PROXY="127.0.0.1,localhost")
    return env


def test_hub_simulator_runs_in_the_foreground_and_log_prints_the_requests(
    tmp_path: Path, receiver: Receiver
) -> None:
    env = _cli_env(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "simulator", "--port", "0", "--hub-url", receiver.url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert first.startswith("provider simulator at http://127.0.0.1:"), first
        url = first.split()[3].rstrip(",")
        creds = load_or_create(tmp_path)
        assert json.loads((tmp_path / "simulator" / "url.json").read_text())["url"] == url
        client = Client(creds.account_sid, creds.auth_token)
        client.api.base_url = url
        sid = client.messages.create(to=CUSTOMER, from_=creds.from_number, body="cli").sid
        requests.post(f"{url}/sim/inbound/sms", json={"from": CUSTOMER, "body": "hi"}, timeout=PATIENCE)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "provider simulator stopped" in out
    assert not (tmp_path / "simulator" / "url.json").exists()
    assert receiver.received("/webhooks/twilio/sms")

    done = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "log"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["provider"] for r in records] == ["twilio", "customer"]
    assert records[0]["ids"]["sid"] == sid
    only = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "log", "--provider", "customer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [json.loads(line)["kind"] for line in only.stdout.splitlines()] == ["inbound_sms"]


def test_hub_simulator_refuses_unknown_faults(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hub", "simulator", "--port", "0", "--faults", '{"rate_4299": 1}'],
        env=_cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "unknown fault(s): rate_4299" in done.stderr


def test_twilio_message_list_filters_by_number_sender_and_date(
    sim: ProviderSimulator, creds: SimCredentials, twilio: Client
) -> None:
    """What the hub asks after a lost answer: which messages went to a number since a time."""
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=1)
    first = twilio.messages.create(to="+8613800138000", from_=creds.from_number, body="one")
    twilio.messages.create(to="+8613800138001", from_=creds.from_number, body="other")
    second = twilio.messages.create(to="+8613800138000", from_=creds.from_number, body="two")
    listed = twilio.messages.list(to="+8613800138000", from_=creds.from_number, date_sent_after=before)
    assert [m.sid for m in listed] == [second.sid, first.sid]  # newest first, as Twilio lists
    assert [m.body for m in listed] == ["two", "one"] and listed[0].date_created is not None
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert twilio.messages.list(to="+8613800138000", date_sent_after=later) == []
    assert twilio.messages.list(to="+8613800138000", from_="+15005550006") == []


def test_sendgrid_activity_finds_recipients_by_custom_arg(
    sim: ProviderSimulator, creds: SimCredentials
) -> None:
    from sendgrid import SendGridAPIClient

    sg = SendGridAPIClient(creds.sendgrid_api_key, host=sim.url)
    body = {
        "personalizations": [
            {"to": [{"email": "a@example.com"}], "custom_args": {"hub_send": "c1-1"}},
            {"to": [{"email": "b@example.com"}], "custom_args": {"hub_send": "c1-1"}},
        ],
        "from": {"email": "hub@example.com"}, "subject": "S",
        "content": [{"type": "text/plain", "value": "hi"}],
    }
    sent = sg.client.mail.send.post(request_body=body)
    xid = sent.headers["X-Message-Id"]
    found = sg.client.messages.get(query_params={"query": "unique_args['hub_send']=\"c1-1\"", "limit": 10})
    messages = json.loads(found.body)["messages"]
    assert sorted(m["to_email"] for m in messages) == ["a@example.com", "b@example.com"]
    assert all(m["msg_id"].startswith(xid + ".") and m["subject"] == "S" for m in messages)
    one = sg.client.messages.get(query_params={
        "query": "unique_args['hub_send']=\"c1-1\" AND to_email=\"b@example.com\""})
    assert [m["to_email"] for m in json.loads(one.body)["messages"]] == ["b@example.com"]
    none = sg.client.messages.get(query_params={"query": "unique_args['hub_send']=\"c9-9\""})
    assert json.loads(none.body)["messages"] == []
    with pytest.raises(Exception) as bad:
        sg.client.messages.get(query_params={"query": "to_email LIKE \"a\""})
    assert getattr(bad.value, "status_code", None) == 400 and b"invalid query term" in bad.value.body


def test_lost_answers_fault_takes_the_message_but_answers_too_late(
    sim: ProviderSimulator, creds: SimCredentials
) -> None:
    client = Client(creds.account_sid, creds.auth_token, http_client=TwilioHttpClient(timeout=0.3))
    client.api.base_url = sim.url
    sim.set_faults(Faults(lost_answers=1.0, slow_seconds=1.0))
    with pytest.raises(requests.exceptions.ReadTimeout):
        client.messages.create(to="+8613800138000", from_=creds.from_number, body="late")
    assert [r["body"]["Body"] for r in sim.requests() if r["kind"] == "message"] == ["late"]
