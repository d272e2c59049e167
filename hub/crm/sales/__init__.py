"""Selling and getting paid: opportunities and the pipeline, orders, receivables, credit control and
collection."""

from flask import Blueprint

credit_api_bp = Blueprint("credit_api", __name__, url_prefix="/api/v1")
credit_bp = Blueprint("credit", __name__)
sales_api_bp = Blueprint("sales_api", __name__, url_prefix="/api/v1")
receivable_api_bp = Blueprint("receivable_api", __name__, url_prefix="/api/v1")
receivables_bp = Blueprint("receivables", __name__)
sales_bp = Blueprint("sales", __name__)
