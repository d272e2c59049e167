"""Surveys: NPS/CSAT answers by SMS reply or the signed email link's page."""

from flask import Blueprint

survey_bp = Blueprint("survey", __name__, url_prefix="/s")
