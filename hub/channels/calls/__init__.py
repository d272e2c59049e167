"""Phone calls: inbound calls that ring the right agents and pop on their console, click-to-call,
voice webhooks and the agents' call settings."""

from flask import Blueprint

console_bp = Blueprint("console", __name__)
voice_webhooks_bp = Blueprint("voice_webhooks", __name__, url_prefix="/webhooks/twilio")
