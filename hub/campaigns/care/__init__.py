"""Care messages: daily rules for birthdays, after-sale check-ins and payment reminders."""

from flask import Blueprint

collection_reminders_bp = Blueprint("collection_reminders", __name__)
