"""Email through SendGrid's v3 mail/send, with the official SDK: up to 1000 recipients a request."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from python_http_client import exceptions as http_errors
from sendgrid import SendGridAPIClient

from hub.channels.base import (
    ChannelMisconfigured,
    Found,
    LookupUnavailable,
    OutboundMessage,
    RecipientRefused,
    RetryLater,
    SendResult,
    Unconfirmed,
)

MAX_PERSONALIZATIONS = 1000
MESSAGE_ID_ARG = "hub_message_id"  # comes back as a top-level key of every event
SEND_TAG_ARG = "hub_send"  # one claim's tag: what a lookup after a lost answer searches for
BODY_KEY, HTML_KEY = "-hub-body-", "-hub-html-"


def request_body(batch: Sequence[OutboundMessage], from_email: str) -> dict[str, Any]:
    """One mail/send body: a personalization per recipient, our id in its custom args.

    A plain dict: the SDK's helper classes build the same JSON six times slower (PROVIDERS.md).
    When the recipients' texts differ, each personalization carries its own through
    substitutions of one shared content block.
    """
    uniform = len({(m.subject, m.body, m.html) for m in batch}) == 1
    personalizations = []
    for msg in batch:
        p: dict[str, Any] = {
            "to": [{"email": msg.to}],
            "custom_args": {MESSAGE_ID_ARG: str(msg.message_id)},
        }
        if msg.send_tag:
            p["custom_args"][SEND_TAG_ARG] = msg.send_tag
        if msg.subject is not None:
            p["subject"] = msg.subject
        if msg.unsubscribe_url:
            p["headers"] = {
                "List-Unsubscribe": f"<{msg.unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        if not uniform:
            p["substitutions"] = {BODY_KEY: msg.body, HTML_KEY: msg.html or ""}
        personalizations.append(p)
    first = batch[0]
    if uniform:
        content = [{"type": "text/plain", "value": first.body}]
        if first.html:
            content.append({"type": "text/html", "value": first.html})
    else:
        content = [{"type": "text/plain", "value": BODY_KEY}]
        if any(m.html for m in batch):
            content.append({"type": "text/html", "value": HTML_KEY})
    return {
        "personalizations": personalizations,
        "from": {"email": from_email},
        "subject": first.subject or "",
        "content": content,
    }


class SendGridEmail:
    name = "email"

    def __init__(
        self, api_key: str, from_email: str, host: str | None = None, timeout: float = 15.0
    ):
        self.client = (
            SendGridAPIClient(api_key, host=host.rstrip("/"))
            if host
            else SendGridAPIClient(api_key)
        )
        self.from_email = from_email
        self.timeout = timeout

    def send(self, batch: Sequence[OutboundMessage]) -> list[SendResult]:
        if not batch:
            return []
        if len(batch) > MAX_PERSONALIZATIONS:
            raise ValueError(f"at most {MAX_PERSONALIZATIONS} recipients a request")
        body = request_body(batch, self.from_email)
        try:
            response = self.client.client.mail.send.post(request_body=body, timeout=self.timeout)
        except (http_errors.UnauthorizedError, http_errors.ForbiddenError) as exc:
            raise ChannelMisconfigured(f"SendGrid {exc.status_code}: {_reason(exc)}") from exc
        except (
            http_errors.TooManyRequestsError,
            http_errors.InternalServerError,
            http_errors.ServiceUnavailableError,
            http_errors.GatewayTimeoutError,
        ) as exc:
            raise RetryLater(f"SendGrid {exc.status_code}: {_reason(exc)}") from exc
        except http_errors.HTTPError as exc:
            refused = RecipientRefused(f"SendGrid {exc.status_code}: {_reason(exc)}")
            return [SendResult(m.message_id, error=refused) for m in batch]
        except urllib.error.URLError as exc:
            # urllib raises URLError only while connecting and writing the request: nothing went.
            raise RetryLater(f"SendGrid unreachable: {exc.reason}") from exc
        except (TimeoutError, ConnectionError) as exc:
            # Written, but no answer: SendGrid may have accepted it.
            raise Unconfirmed(f"no answer from SendGrid: {exc!r}") from exc
        provider_id = response.headers.get("X-Message-Id")
        return [SendResult(m.message_id, provider_id=provider_id) for m in batch]

    def find_sent(
        self, addresses: Sequence[str], since: datetime, tag: str | None = None
    ) -> dict[str, list[Found]]:
        """The recipients of the requests that carried `tag`, from the Email Activity API (an
        add-on on SendGrid's side, rate-limited to a few requests a minute: one request a tag)."""
        if tag is None:
            raise LookupUnavailable("SendGrid can only be searched by a send tag")
        query = f"unique_args['{SEND_TAG_ARG}']=\"{tag}\""
        try:
            response = self.client.client.messages.get(
                query_params={"query": query, "limit": MAX_PERSONALIZATIONS}, timeout=self.timeout
            )
        except (http_errors.UnauthorizedError, http_errors.ForbiddenError, http_errors.NotFoundError) as exc:
            raise LookupUnavailable(f"SendGrid Email Activity {exc.status_code}: {_reason(exc)}") from exc
        except http_errors.HTTPError as exc:
            raise RetryLater(f"SendGrid Email Activity {exc.status_code}: {_reason(exc)}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise RetryLater(f"SendGrid unreachable: {exc}") from exc
        wanted = {a.lower(): a for a in addresses}
        found: dict[str, list[Found]] = {}
        for item in json.loads(response.body or b"{}").get("messages", []):
            address = wanted.get(str(item.get("to_email", "")).lower())
            if address is not None and item.get("msg_id"):
                # Events carry "<X-Message-Id>.<suffix>" as sg_message_id; we record the header.
                provider_id = str(item["msg_id"]).split(".", 1)[0]
                found.setdefault(address, []).append(Found(address, provider_id, subject=item.get("subject")))
        return found


def _reason(exc: http_errors.HTTPError) -> str:
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
    return body[:300]
