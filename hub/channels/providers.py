"""Which provider each channel talks to: the real accounts when configured, else the simulator,
through the same SDKs and code path."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from twilio.rest import Client

from hub.channels.base import ChannelMisconfigured
from hub.channels.calls.voice import TwilioVoice
from hub.channels.email import SendGridEmail
from hub.channels.sms import TwilioSms, twilio_client
from hub.core.config import Settings


def simulator_url_file(instance_dir: Path) -> Path:
    return instance_dir / "simulator" / "url.json"


def simulator_url(settings: Settings) -> str:
    """The running simulator's address, as `hub up` (or `hub simulator`) wrote it down."""
    try:
        return str(json.loads(simulator_url_file(settings.instance_dir).read_text())["url"])
    except (FileNotFoundError, ValueError, KeyError):
        raise ChannelMisconfigured(
            "no provider credentials are set and no simulator is running for "
            f"{settings.instance_dir}: start `hub up`, or set TWILIO_*/SENDGRID_* (docs/providers.md)"
        ) from None


def twilio_account(app: Flask) -> tuple[Client, str]:
    """A Twilio client and the company's number: the real account when configured, else the
    simulator's."""
    settings: Settings = app.config["SETTINGS"]
    if settings.twilio_account_sid and settings.twilio_auth_token:
        if not settings.twilio_from_number:
            raise ChannelMisconfigured(
                "TWILIO_FROM_NUMBER is not set: SMS has no sender number and calls no caller id"
            )
        client = twilio_client(
            settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base_url,
            settings.provider_timeout,
        )
        return client, settings.twilio_from_number
    from hub.channels.credentials import load_or_create

    sim = load_or_create(settings.instance_dir)
    base = settings.twilio_api_base_url or simulator_url(settings)
    return twilio_client(sim.account_sid, sim.auth_token, base, settings.provider_timeout), sim.from_number


def sms_channel(app: Flask) -> TwilioSms:
    return TwilioSms(*twilio_account(app))


def voice_channel(app: Flask) -> TwilioVoice:
    return TwilioVoice(*twilio_account(app))


def company_number(app: Flask) -> str:
    """The number customers see calling them, and call: the account's, or the simulator's."""
    settings: Settings = app.config["SETTINGS"]
    if settings.twilio_from_number:
        return settings.twilio_from_number
    from hub.channels.credentials import load_or_create

    return load_or_create(settings.instance_dir).from_number


def email_channel(app: Flask) -> SendGridEmail:
    settings: Settings = app.config["SETTINGS"]
    if settings.sendgrid_api_key:
        if not settings.sendgrid_from_email:
            raise ChannelMisconfigured("SENDGRID_FROM_EMAIL is not set: email has no sender")
        return SendGridEmail(
            settings.sendgrid_api_key, settings.sendgrid_from_email, settings.sendgrid_api_base_url,
            settings.provider_timeout,
        )
    from hub.channels.credentials import load_or_create

    sim = load_or_create(settings.instance_dir)
    base = settings.sendgrid_api_base_url or simulator_url(settings)
    return SendGridEmail(sim.sendgrid_api_key, sim.from_email, base, settings.provider_timeout)


def twilio_auth_token(app: Flask) -> str:
    """The token Twilio signs webhooks with: the account's, or the simulator's."""
    settings: Settings = app.config["SETTINGS"]
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    from hub.channels.credentials import load_or_create

    return load_or_create(settings.instance_dir).auth_token
