"""Voice through Twilio: the TwiML the hub answers with, and calls placed with the official SDK."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import Dial, VoiceResponse

from hub.channels.base import RetryLater
from hub.channels.sms import classify

# Twilio renders a Python list literally: events go as one space-separated string.
CALL_EVENTS = "initiated ringing answered completed"
RING_SECONDS = 20
MAX_VOICEMAIL_SECONDS = 120


@dataclass(frozen=True)
class VoiceUrls:
    """The hub's voice webhooks for one call, under the public base Twilio signs over."""

    base: str
    call_id: int

    def _url(self, path: str, **params: str) -> str:
        query = urlencode({"call": self.call_id, **params})
        return f"{self.base}/webhooks/twilio/{path}?{query}"

    def status(self, leg: str) -> str:
        return self._url("voice-status", leg=leg)

    @property
    def bridge(self) -> str:
        return self._url("voice/bridge")

    @property
    def dial_done(self) -> str:
        return self._url("voice/dial-done")

    @property
    def recording(self) -> str:
        return self._url("voice/recording")

    @property
    def recorded(self) -> str:
        return self._url("voice/recorded")


def _ring(dial: Dial, target: str, status_url: str) -> None:
    """Add one party to a <Dial>: a phone number, or a browser client."""
    kwargs = {
        "status_callback": status_url,
        "status_callback_event": CALL_EVENTS,
        "status_callback_method": "POST",
    }
    if target.startswith("client:"):
        dial.client(target.removeprefix("client:"), **kwargs)
    else:
        dial.number(target, **kwargs)


def ring_agents_twiml(urls: VoiceUrls, targets: Sequence[str], caller_id: str) -> str:
    """Ring every target at once (the first to answer takes the call); on no answer the
    dial-done webhook answers with the voicemail."""
    response = VoiceResponse()
    dial = response.dial(
        action=urls.dial_done,
        method="POST",
        timeout=RING_SECONDS,
        answer_on_bridge=True,
        caller_id=caller_id or None,
    )
    for target in targets:
        _ring(dial, target, urls.status("agent"))
    return str(response)


def voicemail_twiml(urls: VoiceUrls, greeting: str) -> str:
    response = VoiceResponse()
    response.say(greeting)
    response.record(
        action=urls.recorded,
        method="POST",
        max_length=MAX_VOICEMAIL_SECONDS,
        play_beep=True,
        recording_status_callback=urls.recording,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    response.hangup()
    return str(response)


def bridge_twiml(urls: VoiceUrls, customer_number: str, caller_id: str) -> str:
    """Once the agent answered: dial the customer with the company's number as caller id;
    `answerOnBridge` keeps the agent hearing ringing until the customer picks up."""
    response = VoiceResponse()
    dial = response.dial(
        action=urls.dial_done,
        method="POST",
        timeout=30,
        answer_on_bridge=True,
        caller_id=caller_id,
    )
    _ring(dial, customer_number, urls.status("customer"))
    return str(response)


def say_twiml(text: str) -> str:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return str(response)


def hangup_twiml() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


class TwilioVoice:
    """Places calls through Twilio's Calls API."""

    def __init__(self, client: Client, from_number: str):
        self.client = client
        self.from_number = from_number

    def ring_agent_then_bridge(self, agent_target: str, urls: VoiceUrls) -> str:
        """Ring the agent; when they answer, Twilio fetches the bridge TwiML. Returns the CallSid."""
        try:
            call = self.client.calls.create(
                to=agent_target,
                from_=self.from_number,
                url=urls.bridge,
                method="POST",
                status_callback=urls.status("agent"),
                status_callback_event=CALL_EVENTS.split(),
                status_callback_method="POST",
                timeout=RING_SECONDS,
            )
        except TwilioRestException as exc:
            raise classify(exc) from exc
        except RequestException as exc:
            raise RetryLater(f"Twilio could not be reached: {exc}") from exc
        return str(call.sid)
