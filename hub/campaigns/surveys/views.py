"""The one-question survey page an email links to: signed, no login, one answer per message."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_babel import gettext as _

from hub.campaigns.surveys import answers as surveys
from hub.campaigns.surveys import survey_bp as bp
from hub.core import db
from hub.core.auth import public


@bp.route("/<token>", methods=["GET", "POST"])
@public
def answer(token: str) -> tuple[str, int] | str:
    s = db.session()
    found = surveys.message_for_token(s, token)
    if found is None:
        abort(404)
    message, asked = found
    low, high = surveys.SCALES[asked.kind]
    error = None
    if request.method == "POST":
        score = surveys.parse_score(asked.kind, request.form.get("score", ""))
        if score is None:
            error = _("Choose a number from %(low)d to %(high)d.", low=low, high=high)
        else:
            surveys.record_answer(s, message, asked, score, "email")
            s.commit()
            return render_template("survey.html", done=True, kind=asked.kind, scale=[], error=None)
    return render_template(
        "survey.html", done=False, kind=asked.kind, scale=list(range(low, high + 1)), error=error
    ), 422 if error else 200
