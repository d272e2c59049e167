"""The app as the `hub` commands load it: a configuration problem ends the command with its list,
not a traceback."""

from __future__ import annotations

import click
from flask import Flask

from hub.core.config import ConfigError


def load_app() -> Flask:
    from hub.web.app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
