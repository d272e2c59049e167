"""SMS through Twilio's Messages API, with the official SDK: one request a message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, RequestException
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from hub.channels.base import (
    ChannelMisconfigured,
    Found,
    OutboundMessage,
    RecipientRefused,
    RetryLater,
    SendResult,
    Unconfirmed,
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


def never_sent(exc: RequestException) -> bool:
    """True when the request cannot have reached Twilio: the connection was never made."""
    if isinstance(exc, ConnectTimeout):
        return True
    if isinstance(exc, RequestsConnectionError) and exc.args:
        # requests wraps urllib3's MaxRetryError, whose reason says how the connection failed.
        return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError | ConnectTimeoutError)
    return False


def unreachable(exc: RequestException) -> RetryLater:
    if never_sent(exc):
        return RetryLater(f"Twilio unreachable: {exc}")
    return Unconfirmed(f"no answer from Twilio: {exc}")


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
                results.append(SendResult(msg.message_id, error=unreachable(exc)))
            else:
                results.append(SendResult(msg.message_id, provider_id=created.sid))
        return results

    def find_sent(
        self, addresses: Sequence[str], since: datetime, tag: str | None = None
    ) -> dict[str, list[Found]]:
        """Messages from our number to each address since `since`: one list request a number
        (Twilio cannot search for a tag)."""
        found: dict[str, list[Found]] = {}
        # DateSent is matched by day on Twilio's side; the creation time narrows it here.
        after = since - timedelta(seconds=60)
        for address in dict.fromkeys(addresses):
            try:
                listed = self.client.messages.list(
                    to=address, from_=self.from_number, date_sent_after=after, limit=50
                )
            except TwilioRestException as exc:
                error = classify(exc)
                if isinstance(error, RecipientRefused):
                    raise RetryLater(error.reason, error.code) from exc
                raise error from exc
            except TwilioException as exc:  # the list's "Unable to fetch page": 429, 5xx
                raise RetryLater(f"Twilio message list: {exc}") from exc
            except RequestException as exc:
                raise RetryLater(f"Twilio unreachable: {exc}") from exc
            mine = [m for m in listed if m.date_created is None or m.date_created >= after]
            mine.sort(key=lambda m: (m.date_created is None, m.date_created))
            found[address] = [Found(address, m.sid, body=m.body) for m in mine]
        return found
