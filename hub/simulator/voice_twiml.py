"""How the simulator lives a call's TwiML, one verb after another: the call's state, signed posts
to the hub, <Dial> (each party's status callbacks, then the dial's `action`), <Record> (a
voicemail, its recording callback and action), <Redirect>, <Hangup>."""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import requests

from hub.simulator.callbacks import post_once
from hub.simulator.twilio_api import API_VERSION, new_sid, signed_form

if TYPE_CHECKING:
    from hub.simulator.server import ProviderSimulator

log = logging.getLogger(__name__)

EVENT_STATUS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}
MAX_STEPS = 20  # a TwiML loop (a Redirect to itself) must end


@dataclass
class CallPlan:
    """How the simulated people on a call behave."""

    answer: bool = True  # the agent (inbound) or the customer (outbound) picks up
    talk_seconds: int = 42
    voicemail_seconds: int = 12  # 0: the caller hangs up without leaving a message
    pace: float = 0.05


@dataclass
class Call:
    sid: str
    params: dict[str, str]  # what every webhook of this call carries
    plan: CallPlan
    seconds: int = 0
    trace: list[str] = field(default_factory=list)


def post_signed(
    sim: ProviderSimulator, kind: str, url: str, params: dict[str, str]
) -> requests.Response | None:
    """A signed form POST to the hub, retried once on no answer or 5xx as Twilio does."""
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


def parse_twiml(xml: str) -> list[ET.Element]:
    try:
        root = ET.fromstring(xml)  # noqa: S314 - the hub's own TwiML, on the simulator
    except ET.ParseError as exc:
        log.warning("TwiML not understood (%s): %r", exc, xml[:200])
        return []
    return list(root) if root.tag == "Response" else []


def fetch_twiml(
    sim: ProviderSimulator, call: Call, url: str, extra: dict[str, str]
) -> list[ET.Element]:
    response = post_signed(sim, "twilio-voice-url", url, {**call.params, **extra})
    if response is None or response.status_code != 200:
        call.trace.append(f"application error fetching {url}")
        return []
    return parse_twiml(response.text)


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
        post_signed(sim, "twilio-call-status", url, body)


def _dial(sim: ProviderSimulator, call: Call, verb: ET.Element) -> list[ET.Element] | None:
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
    return fetch_twiml(sim, call, action, extra)


def _record(sim: ProviderSimulator, call: Call, verb: ET.Element) -> list[ET.Element] | None:
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
        post_signed(
            sim,
            "twilio-recording-status",
            callback,
            {"AccountSid": call.params["AccountSid"], "CallSid": call.sid, **recording},
        )
    action = verb.get("action")
    if not action:
        return None
    return fetch_twiml(sim, call, action, {**recording, "Digits": "hangup"})


def play(sim: ProviderSimulator, call: Call, verbs: list[ET.Element]) -> None:
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
            following = fetch_twiml(sim, call, (verb.text or "").strip(), {})
        else:  # Say, Play, Pause, Gather...: heard, then on to the next verb
            call.trace.append(verb.tag.lower())
            following = None
        if following is not None:
            verbs = following
