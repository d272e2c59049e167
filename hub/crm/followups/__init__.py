"""The follow-up record every interaction writes, the timeline, reminders and the due list."""

from flask import Blueprint

worklist_api_bp = Blueprint("worklist_api", __name__, url_prefix="/api/v1")
worklist_bp = Blueprint("worklist", __name__)
