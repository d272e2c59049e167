"""Dashboards and charts: aggregate figures for directors, specialists and agents."""

from flask import Blueprint

insight_bp = Blueprint("insight", __name__, url_prefix="/insight")
