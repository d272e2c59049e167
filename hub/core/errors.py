"""Error answers: pages for people, application/problem+json for the API."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, json, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError

from hub.core.refusals import Conflict, Forbidden, NotFound, ValidationError

PROBLEM_MIMETYPE = "application/problem+json"


def is_api_request() -> bool:
    return request.path == "/api/v1" or request.path.startswith("/api/v1/")


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem document; `errors` lists field-level details as {field, message}."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE, headers=headers)


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Sign-in required"),
        403: _("Not allowed"),
        404: _("Page not found"),
        405: _("Method not allowed"),
        409: _("Conflict"),
        413: _("Upload too large"),
        422: _("Some fields are not right"),
        429: _("Too many attempts"),
        500: _("Something went wrong"),
        503: _("Temporarily unavailable"),
    }


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Sign in to continue."),
        403: _("Your role does not give access to this page. Ask an administrator if you need it."),
        404: _("There is nothing at this address. Check the link, or go back to the start page."),
        405: _("This address does not accept that kind of request."),
        409: _("This clashes with what is already stored."),
        413: _("The upload is larger than the hub accepts."),
        429: _("Too many attempts in a short time. Wait a few minutes and try again."),
        500: _(
            "The hub hit an unexpected error. It has been logged; try again, and tell an "
            "administrator if it keeps happening."
        ),
        503: _("A part the hub needs is not answering. Try again in a moment."),
    }


def render_error(status: int, detail: str | None = None) -> tuple[str | Response, int]:
    title = _titles().get(status, _("Error"))
    if is_api_request():
        return problem(status, title, detail), status
    message = detail or _messages().get(status, "")
    return render_template("error.html", status=status, title=title, message=message), status


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    # Werkzeug's stock descriptions are English boilerplate; only a description we set is shown.
    detail = exc.description if getattr(exc, "hub_detail", False) else None
    body, status = render_error(status, detail)
    if isinstance(body, Response):
        return body
    return body, status, exc.get_headers() if status == 405 else {}


def _csrf_error(exc: CSRFError) -> Any:
    return render_error(
        400,
        _(
            "The form was missing its security token or it has expired. "
            "Reload the page and send it again."
        ),
    )


def _unexpected(exc: InternalServerError) -> Any:
    try:
        return render_error(500)
    except Exception:  # the error page itself failed (a broken template): still answer plainly
        current_app.logger.exception("the error page failed to render")
        return Response(
            "500 Internal Server Error: the hub hit an unexpected error.\n",
            status=500,
            mimetype="text/plain",
        )


def _unavailable(exc: Exception) -> Any:
    """The database or Redis is not answering: 503 with Retry-After, which providers retry (a
    webhook is delivered again once it is back) and people can act on."""
    current_app.logger.error("%s not answering: %s", _part(exc), exc)
    try:
        body, status = render_error(503)
    except (sa_exc.SQLAlchemyError, RedisError):  # the page itself needed the missing part
        body, status = "503 Service Unavailable: a part the hub needs is not answering.\n", 503
    response = (
        body
        if isinstance(body, Response)
        else Response(
            body,
            status=status,
            mimetype=("text/html" if body.lstrip().startswith("<") else "text/plain"),
        )
    )
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response


def _part(exc: Exception) -> str:
    return "Redis" if isinstance(exc, RedisError) else "the database"


def _domain_error(exc: Exception) -> Any:
    """Service exceptions become answers: the message is written for the person reading it."""
    if isinstance(exc, ValidationError):
        title = _("Some fields are not right")
        if is_api_request():
            return problem(422, title, errors=exc.as_list())
        detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return render_template("error.html", status=422, title=title, message=detail), 422
    status = next(
        code
        for cls, code in ((NotFound, 404), (Forbidden, 403), (Conflict, 409))
        if isinstance(exc, cls)
    )
    return render_error(status, str(exc) or None)


def init_app(app: Flask) -> None:
    for exc_class in (ValidationError, NotFound, Forbidden, Conflict):
        app.register_error_handler(exc_class, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    for unavailable in (
        sa_exc.OperationalError,
        sa_exc.TimeoutError,
        RedisConnectionError,
        RedisTimeoutError,
    ):
        app.register_error_handler(unavailable, _unavailable)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(HTTPException, _http_error)
