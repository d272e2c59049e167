"""Customers coming in and going out: spreadsheet imports, cleaning, website lead forms, exports."""

from flask import Blueprint

exports_bp = Blueprint("exports", __name__)
import_api_bp = Blueprint("import_api", __name__, url_prefix="/api/v1")
imports_bp = Blueprint("imports", __name__)
lead_form_api_bp = Blueprint("lead_form_api", __name__, url_prefix="/api/v1")
lead_forms_bp = Blueprint("lead_forms", __name__)
