"""Calls in the simulator: it places inbound calls to the hub and plays outbound ones, following
the hub's TwiML far enough to live the call (ringing, answered, completed, a voicemail); the TwiML
itself is followed in sim_voice_twiml.

A call's life runs in a thread of its own, one step after another, as Twilio's would: fetch the
TwiML, ring who <Dial> names (their status callbacks), report the dial to its `action`, record a
voicemail for <Record> (its recording callback and action), and end with the call's own status
callback. Seconds spoken are reported, not spent: `pace` is the real pause between steps.
"""

from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING, Any

from hub.simulator.http_parts import Reply
from hub.simulator.twilio_api import API_VERSION, new_sid
from hub.simulator.twilio_validation import customer_number
from hub.simulator.voice_twiml import Call, CallPlan, fetch_twiml, parse_twiml, play, post_signed

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

log = logging.getLogger(__name__)


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
    call = Call(sid, params, plan)
    response = post_signed(sim, "twilio-voice", f"{sim.hub_url}/webhooks/twilio/voice", params)
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
    verbs = parse_twiml(response.text)
    sim.calls.start(_live_inbound, sim, call, verbs)
    return Reply.json(200, {"sid": sid, "hub_status": hub_status, "twiml": response.text})


def _live_inbound(sim: ProviderSimulator, call: Call, verbs: list[ET.Element]) -> None:
    play(sim, call, verbs)
    time.sleep(call.plan.pace)
    # The number's own status callback: the call ended.
    post_signed(
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
    sim.calls.start(_live_outbound, sim, Call(sid, params, plan), form, events)


def _live_outbound(sim: ProviderSimulator, call: Call, form: dict[str, str], events: str) -> None:
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
            post_signed(sim, "twilio-call-status", callback, body)
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
        verbs = parse_twiml(form["Twiml"])
    else:
        verbs = fetch_twiml(sim, call, form["Url"], {"CallStatus": "in-progress"})
    # With nothing to dial, the answered party still spends a moment on the line.
    play(sim, call, verbs)
    time.sleep(call.plan.pace)
    report("completed", "completed")
