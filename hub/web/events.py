"""GET /events: a Server-Sent Events stream of the signed-in user's live events (Redis pub/sub)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from flask import Response, current_app

from hub.core import db, services
from hub.core.auth import login_required, require_user
from hub.web import events_bp as bp

KEEPALIVE_SECONDS = 15.0
# A stream ends after this long and the browser opens a new one: a thread of the web server is
# not held forever by a tab left open, and a proxy's idle limits never bite mid-stream.
MAX_STREAM_SECONDS = 30 * 60.0


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


def sse_stream(
    events: Iterator[dict[str, object] | None], max_seconds: float = MAX_STREAM_SECONDS
) -> Iterator[str]:
    """Server-Sent Events lines; a comment on silence keeps proxies from closing the stream."""
    yield "retry: 3000\n\n"  # the browser reconnects by itself after a drop
    deadline = time.monotonic() + max_seconds
    for event in events:
        if time.monotonic() >= deadline:
            return
        if event is None:
            yield ": keepalive\n\n"
            continue
        kind = str(event.get("type", "message"))
        yield f"event: {kind}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@bp.get("/events")
@login_required
def stream() -> Response:
    user = require_user()
    channel = user_channel(user.id)
    conn = services.redis()
    db.session().close()  # the stream may last hours; it must not hold a database connection
    events = services.subscribe_events(
        channel,
        connection=conn,
        timeout=current_app.config.get("EVENTS_KEEPALIVE", KEEPALIVE_SECONDS),
    )
    return Response(
        sse_stream(events, current_app.config.get("EVENTS_MAX_SECONDS", MAX_STREAM_SECONDS)),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
