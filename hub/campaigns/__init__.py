"""Segments, message templates, campaigns, care and survey messages, and their RQ jobs."""

from flask import Blueprint

campaigns_api_bp = Blueprint("campaigns_api", __name__, url_prefix="/api/v1")
campaigns_bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
