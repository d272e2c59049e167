"""After-sale service: complaints, their fixed steps and their files."""

from flask import Blueprint

service_bp = Blueprint("service", __name__)
service_api_bp = Blueprint("service_api", __name__, url_prefix="/api/v1")
