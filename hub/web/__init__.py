"""The web application: create_app, the JSON API's shared endpoints, sign-in, the start page, admin
pages, health, the live event stream and the access guard. It may import every capability."""

from flask import Blueprint

admin_bp = Blueprint("admin", __name__)
api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
events_bp = Blueprint("events", __name__)
health_bp = Blueprint("health", __name__)
login_bp = Blueprint("login", __name__)
pages_bp = Blueprint("pages", __name__)
system_bp = Blueprint("system", __name__, url_prefix="/admin/system")
dev_bp = Blueprint("dev", __name__)
