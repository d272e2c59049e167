"""Customers and their contacts: records, custom fields, A/B/C classification, owners and lifecycle,
the audit trail, likely duplicates and merges."""

from flask import Blueprint

crm_api_bp = Blueprint("crm_api", __name__, url_prefix="/api/v1")
classification_bp = Blueprint("classification", __name__)
crm_admin_bp = Blueprint("crm_admin", __name__, url_prefix="/admin")
crm_actions_bp = Blueprint("crm_actions", __name__)
duplicates_bp = Blueprint("duplicates", __name__)
merge_api_bp = Blueprint("merge_api", __name__, url_prefix="/api/v1")
people_api_bp = Blueprint("people_api", __name__, url_prefix="/api/v1")
crm_bp = Blueprint("crm", __name__)
