"""SMS through Twilio's Messages API, with the official SDK: one request a message."""

from __future__ import annotations

from collections.abc import Sequence

from requests.exceptions import RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hub.channels.base import (
    ChannelMisconfigured,
    OutboundMessage,
    RecipientRefused,
    RetryLater,
    SendResult,
)

OPTED_OUT = 21610
RATE_LIMITED = 20429


def twilio_client(
    account_sid: str, auth_token: str, base_url: str | None = None, timeout: float = 10.0
) -> Client:
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    if base_url:
        # The supported hook for another API host (the simulator); never region/edge with it.
        client.api.base_url = base_url.rstrip("/")
    return client


def classify(exc: TwilioRestException) -> RecipientRefused | RetryLater | ChannelMisconfigured:
    """What a Twilio error means for us."""
    code = str(exc.code) if exc.code is not None else None
    reason = f"Twilio {exc.status}" + (f" ({exc.code})" if exc.code else "") + f": {exc.msg}"
    if exc.status in (401, 403):
        return ChannelMisconfigured(reason, code)
    if exc.status == 429 or exc.code == RATE_LIMITED or exc.status >= 500:
        return RetryLater(reason, code)
    return RecipientRefused(reason, code, suppress=exc.code == OPTED_OUT)


class TwilioSms:
    name = "sms"

    def __init__(self, client: Client, from_number: str):
        self.client = client
        self.from_number = from_number

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        results = []
        for msg in batch:
            kwargs = {"to": msg.to, "from_": self.from_number, "body": msg.body}
            if msg.status_callback:
                kwargs["status_callback"] = msg.status_callback
            try:
                created = self.client.messages.create(**kwargs)
            except TwilioRestException as exc:
                error = classify(exc)
                if isinstance(error, ChannelMisconfigured):
                    raise error from exc
                results.append(SendResult(msg.message_id, error=error))
            except RequestException as exc:
                results.append(
                    SendResult(msg.message_id, error=RetryLater(f"Twilio unreachable: {exc}"))
                )
            else:
                results.append(SendResult(msg.message_id, provider_id=created.sid))
        return results
