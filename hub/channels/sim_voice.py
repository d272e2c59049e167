"""Calls in the simulator: it places inbound calls to the hub and plays outbound ones, following
the hub's TwiML far enough to live the call (ringing, answered, completed, a voicemail).

A call's life runs in a thread of its own, one step after another, as Twilio's would: fetch the
TwiML, ring who <Dial> names (their status callbacks), report the dial to its `action`, record a
voicemail for <Record> (its recording callback and action), and end with the call's own status
callback. Seconds spoken are reported, not spent: `pace` is the real pause between steps.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests

from hub.channels.sim_callbacks import post_once
from hub.channels.sim_http import Reply

if TYPE_CHECKING:
    from hub.channels.simulator import ProviderSimulator

log = logging.getLogger(__name__)

API_VERSION = "2010-04-01"
EVENT_STATUS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
MAX_STEPS = 20  # a TwiML loop (a Redirect to itself) must end


def _silent_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short silent WAV: what a simulated voicemail recording sounds like."""
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * int(seconds * rate))
    return buffer.getvalue()


SILENT_WAV = _silent_wav()


@dataclass
class CallPlan:
    """How the simulated people on a call behave."""

    answer: bool = True  # the agent (inbound) or the customer (outbound) picks up
    talk_seconds: int = 42
    voicemail_seconds: int = 12  # 0: the caller hangs up without leaving a message
    pace: float = 0.05


@dataclass
class _Call:
    sid: str
    params: dict[str, str]  # what every webhook of this call carries
    plan: CallPlan
    seconds: int = 0
    trace: list[str] = field(default_factory=list)


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _post(
    sim: ProviderSimulator, kind: str, url: str, params: dict[str, str]
) -> requests.Response | None:
    """A signed form POST to the hub, retried once on no answer or 5xx as Twilio does."""
    from hub.channels.sim_twilio import signed_form

    for attempt in (1, 2):
        target, headers = signed_form(sim, url, params)
        outcome: dict[str, Any] = {
            "kind": kind,
            "url": target,
            "attempt": attempt,
            "time": time.time(),
        }
        try:
            response = post_once(target, urlencode(params).encode("utf-8"), headers)
        except requests.RequestException as exc:
            outcome["error"] = f"{type(exc).__name__}: {exc}"
            sim.dispatcher.note(outcome)
            continue
        outcome["status"] = response.status_code
        sim.dispatcher.note(outcome)
        if response.status_code < 500:
            return response
    log.warning("%s to %s failed twice", kind, url)
    return None


def _verbs(xml: str) -> list[ET.Element]:
    try:
        root = ET.fromstring(xml)  # noqa: S314 - the hub's own TwiML, on the simulator
    except ET.ParseError as exc:
        log.warning("TwiML not understood (%s): %r", exc, xml[:200])
        return []
    return list(root) if root.tag == "Response" else []


def _fetch(
    sim: ProviderSimulator, call: _Call, url: str, extra: dict[str, str]
) -> list[ET.Element]:
    response = _post(sim, "twilio-voice-url", url, {**call.params, **extra})
    if response is None or response.status_code != 200:
        call.trace.append(f"application error fetching {url}")
        return []
    return _verbs(response.text)


def _status(
    sim: ProviderSimulator, url: str, events: str, params: dict[str, str], final: str, seconds: int
) -> None:
    """Status callbacks of one leg for the events asked (Twilio's default: completed only)."""
    wanted = events.split() or ["completed"]
    for number, event in enumerate(
        e for e in ("initiated", "ringing", "answered", "completed") if e in wanted
    ):
        if event == "answered" and final != "completed":
            continue
        status = EVENT_STATUS.get(event, final)
        body = {
            **params,
            "CallStatus": status,
            "SequenceNumber": str(number),
            "CallbackSource": "call-progress-events",
        }
        if event == "completed":
            body["CallDuration"] = body["Duration"] = str(seconds)
        _post(sim, "twilio-call-status", url, body)


def _dial(sim: ProviderSimulator, call: _Call, verb: ET.Element) -> list[ET.Element] | None:
    """Ring every party at once; the first answers when the plan says so. Returns the action's
    TwiML when the dial has an action (it replaces the rest of the document)."""
    caller_id = verb.get("callerId") or call.params.get("From", "")
    parties = [p for p in verb if p.tag in ("Number", "Client")] or (
        [verb] if (verb.text or "").strip() else []
    )
    answered_sid, talk = "", 0
    for index, party in enumerate(parties):
        target = (party.text or "").strip()
        if party.tag == "Client":
            target = f"client:{target}"
        sid = new_sid("CA")
        picks_up = call.plan.answer and index == 0
        final = "completed" if picks_up else ("canceled" if call.plan.answer else "no-answer")
        seconds = call.plan.talk_seconds if picks_up else 0
        sim.log.add(
            "twilio",
            "dial",
            "",
            {
                "To": target,
                "CallerId": caller_id,
                "AnswerOnBridge": verb.get("answerOnBridge", "false"),
            },
            {"sid": sid, "parent": call.sid},
            status=200,
            final_status=final,
            duration=seconds,
        )
        time.sleep(call.plan.pace)
        url = party.get("statusCallback")
        if url:
            leg = {
                "CallSid": sid,
                "ParentCallSid": call.sid,
                "AccountSid": call.params["AccountSid"],
                "From": caller_id,
                "To": target,
                "Direction": "outbound-dial",
                "ApiVersion": API_VERSION,
            }
            _status(sim, url, party.get("statusCallbackEvent", ""), leg, final, seconds)
        if picks_up:
            answered_sid, talk = sid, seconds
    call.seconds += talk
    dial_status = "completed" if answered_sid else "no-answer"
    call.trace.append(f"dial {dial_status}")
    action = verb.get("action")
    if not action:
        return None
    extra = {
        "DialCallStatus": dial_status,
        "DialCallSid": answered_sid,
        "DialCallDuration": str(talk),
    }
    return _fetch(sim, call, action, extra)


def _record(sim: ProviderSimulator, call: _Call, verb: ET.Element) -> list[ET.Element] | None:
    seconds = min(call.plan.voicemail_seconds, int(verb.get("maxLength", "3600")))
    if seconds <= 0:
        call.trace.append("caller hung up without a message")
        return []
    rec_sid = new_sid("RE")
    url = f"{sim.url}/sim/recordings/{rec_sid}"
    sim.log.add(
        "twilio",
        "recording",
        "",
        {"CallSid": call.sid},
        {"sid": rec_sid, "url": url},
        status=200,
        duration=seconds,
    )
    call.seconds += seconds
    time.sleep(call.plan.pace)
    recording = {
        "RecordingSid": rec_sid,
        "RecordingUrl": url,
        "RecordingStatus": "completed",
        "RecordingDuration": str(seconds),
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
    }
    callback = verb.get("recordingStatusCallback")
    if callback:
        _post(
            sim,
            "twilio-recording-status",
            callback,
            {"AccountSid": call.params["AccountSid"], "CallSid": call.sid, **recording},
        )
    action = verb.get("action")
    if not action:
        return None
    return _fetch(sim, call, action, {**recording, "Digits": "hangup"})


def _play(sim: ProviderSimulator, call: _Call, verbs: list[ET.Element]) -> None:
    """Follow a TwiML document until it ends, hangs up or runs out of steps."""
    steps = 0
    while verbs and steps < MAX_STEPS:
        verb, verbs = verbs[0], verbs[1:]
        steps += 1
        if verb.tag in ("Hangup", "Reject"):
            call.trace.append(verb.tag.lower())
            return
        if verb.tag == "Dial":
            following = _dial(sim, call, verb)
        elif verb.tag == "Record":
            following = _record(sim, call, verb)
        elif verb.tag == "Redirect" and (verb.text or "").strip():
            following = _fetch(sim, call, (verb.text or "").strip(), {})
        else:  # Say, Play, Pause, Gather...: heard, then on to the next verb
            call.trace.append(verb.tag.lower())
            following = None
        if following is not None:
            verbs = following


class CallLives:
    """The calls being lived now; `wait` lets tests and `wait_idle` see them all finished."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0

    def start(self, target: Any, *args: Any) -> None:
        def run() -> None:
            try:
                target(*args)
            except Exception:  # a bug of ours: report it, keep the simulator serving
                log.exception("a simulated call failed")
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

        with self._cond:
            self._running += 1
        threading.Thread(target=run, name="sim-call", daemon=True).start()

    def wait(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)


def plan_from(data: dict[str, Any]) -> CallPlan:
    """A plan from JSON (`answer`, `talk_seconds`, `voicemail_seconds`, `pace`); checked."""
    plan = CallPlan()
    if "answer" in data:
        if not isinstance(data["answer"], bool):
            raise ValueError("'answer' must be true or false")
        plan.answer = data["answer"]
    for name, top in (("talk_seconds", 14400), ("voicemail_seconds", 3600)):
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                raise ValueError(f"'{name}' must be a whole number from 0 to {top}")
            setattr(plan, name, value)
    if "pace" in data:
        value = data["pace"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 30:
            raise ValueError("'pace' must be from 0 to 30 seconds")
        plan.pace = float(value)
    return plan


def inbound_call(sim: ProviderSimulator, data: dict[str, Any]) -> Reply:
    """A customer calls the company's number: the signed voice webhook now, the rest of the call
    in the background. Answers with the CallSid and the hub's answer to the webhook."""
    sender = str(data.get("from") or "").strip()
    if not sender:
        return Reply.json(400, {"error": "'from' is required"})
    if sim.hub_url is None:
        return Reply.json(409, {"error": "the simulator has no hub_url to deliver to"})
    from hub.channels.sim_twilio_validation import customer_number

    creds = sim.credentials
    try:
        plan = plan_from(data)
        sender = customer_number(sender, "from")
        to = customer_number(str(data.get("to") or creds.from_number), "to")
    except ValueError as exc:
        return Reply.json(400, {"error": str(exc)})
    sid = new_sid("CA")
    params = {
        "CallSid": sid,
        "AccountSid": creds.account_sid,
        "From": sender,
        "Caller": sender,
        "To": to,
        "Called": to,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "ApiVersion": API_VERSION,
    }
    call = _Call(sid, params, plan)
    response = _post(sim, "twilio-voice", f"{sim.hub_url}/webhooks/twilio/voice", params)
    hub_status = response.status_code if response is not None else 502
    sim.log.add(
        "customer", "inbound_call", "/sim/inbound/call", data, {"sid": sid}, hub_status=hub_status
    )
    if response is None or response.status_code != 200:
        return Reply.json(
            502,
            {
                "sid": sid,
                "hub_status": hub_status,
                "error": "the hub did not answer the voice webhook with TwiML",
            },
        )
    verbs = _verbs(response.text)
    sim.calls.start(_live_inbound, sim, call, verbs)
    return Reply.json(200, {"sid": sid, "hub_status": hub_status, "twiml": response.text})


def _live_inbound(sim: ProviderSimulator, call: _Call, verbs: list[ET.Element]) -> None:
    _play(sim, call, verbs)
    time.sleep(call.plan.pace)
    # The number's own status callback: the call ended.
    _post(
        sim,
        "twilio-call-status",
        f"{sim.hub_url}/webhooks/twilio/voice-status",
        {
            **call.params,
            "CallStatus": "completed",
            "CallDuration": str(call.seconds),
            "Duration": str(call.seconds),
            "CallbackSource": "call-progress-events",
        },
    )


def outbound_call(sim: ProviderSimulator, sid: str, form: dict[str, str], events: str) -> None:
    """Play a call created through the API: ring, answer, fetch `Url` (or use `Twiml`), follow it,
    and report the events asked for on `StatusCallback`."""
    creds = sim.credentials
    params = {
        "CallSid": sid,
        "AccountSid": creds.account_sid,
        "From": form["From"],
        "To": form["To"],
        "Direction": "outbound-api",
        "ApiVersion": API_VERSION,
    }
    plan = CallPlan(
        answer=not sim.dice.roll(sim.dice.faults.calls_unanswered),
        talk_seconds=sim.call_talk_seconds,
        pace=sim.call_pace_seconds,
    )
    sim.calls.start(_live_outbound, sim, _Call(sid, params, plan), form, events)


def _live_outbound(sim: ProviderSimulator, call: _Call, form: dict[str, str], events: str) -> None:
    wanted = events.split() or ["completed"]
    callback = form.get("StatusCallback", "")
    sequence = 0

    def report(event: str, status: str) -> None:
        nonlocal sequence
        if callback and event in wanted:
            body = {
                **call.params,
                "CallStatus": status,
                "SequenceNumber": str(sequence),
                "CallbackSource": "call-progress-events",
            }
            if event == "completed":
                body["CallDuration"] = body["Duration"] = str(call.seconds)
            _post(sim, "twilio-call-status", callback, body)
            sequence += 1

    report("initiated", "initiated")
    time.sleep(call.plan.pace)
    report("ringing", "ringing")
    time.sleep(call.plan.pace)
    if not call.plan.answer:
        report("completed", "no-answer")
        return
    report("answered", "in-progress")
    if form.get("Twiml"):
        verbs = _verbs(form["Twiml"])
    else:
        verbs = _fetch(sim, call, form["Url"], {"CallStatus": "in-progress"})
    # With nothing to dial, the answered party still spends a moment on the line.
    _play(sim, call, verbs)
    time.sleep(call.plan.pace)
    report("completed", "completed")
