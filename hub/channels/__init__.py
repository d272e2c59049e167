"""Channel adapters (SMS, email, voice), provider webhooks and the provider simulator."""

from flask import Blueprint

channels_api_bp = Blueprint("channels_api", __name__, url_prefix="/api/v1")
suppressions_bp = Blueprint("suppressions", __name__)
unsubscribe_bp = Blueprint("unsubscribe", __name__, url_prefix="/unsubscribe")
channels_bp = Blueprint("channels", __name__)
webhooks_bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
