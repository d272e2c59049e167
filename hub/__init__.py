"""Contact Hub: one customer database joined to phone, SMS and email.

The app is built by `hub.web.app.create_app`. `hub:create_app()` (what deployments made before the
packages were regrouped give gunicorn) still finds it, loaded only when asked for, so importing any
part of the hub does not build the web app's imports.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from hub.web.app import create_app

        return create_app
    raise AttributeError(f"module 'hub' has no attribute {name!r}")
