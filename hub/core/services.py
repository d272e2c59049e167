"""Redis: the embedded server, the connection, the RQ queues and the pub/sub handle for live events."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

QUEUE_NAMES = ("high", "default", "bulk")
EVENTS_PREFIX = "hub:events:"


class RedisNotConfigured(RuntimeError):
    """No HUB_REDIS_URL and no embedded server running for this instance folder."""


def embedded_url_file(instance_dir: Path) -> Path:
    return instance_dir / "embedded-redis.json"


def resolve_redis_url(redis_url: str | None, instance_dir: Path) -> str:
    """The configured URL, or the one the running embedded server of this instance wrote down."""
    if redis_url:
        return redis_url
    path = embedded_url_file(instance_dir)
    try:
        info = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        info = None
    if not info or not _pid_alive(int(info.get("pid", 0))):
        raise RedisNotConfigured(
            f"HUB_REDIS_URL is not set and no embedded server runs for {instance_dir}: "
            "start `hub up` (or `hub redis`) there, or set HUB_REDIS_URL"
        )
    return str(info["url"])


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A process killed whose parent died too may stay a zombie until init reaps it (some never
    # do): it answers signal 0 but runs nothing, and must not keep a restarted hub out.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (not Linux): signal 0 is all there is


def connect(url: str) -> Redis:
    # Timeouts keep /healthz and page loads answering when Redis is down.
    return Redis.from_url(
        url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30
    )


def init_app(app: Flask) -> None:
    app.extensions["hub.redis"] = None


def redis(app: Flask | None = None) -> Redis:
    """The app's Redis connection (a pool shared by its threads), opened on first use."""
    app = app or current_app
    conn = app.extensions.get("hub.redis")
    if conn is None:
        url = resolve_redis_url(app.config.get("REDIS_URL"), Path(app.config["INSTANCE_DIR"]))
        conn = app.extensions["hub.redis"] = connect(url)
    return conn


def queue(name: str = "default", connection: Redis | None = None) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}; the queues are {', '.join(QUEUE_NAMES)}")
    return Queue(name, connection=connection or redis(), serializer=JSONSerializer)


def queues(connection: Redis | None = None) -> list[Queue]:
    """All queues in priority order, as a worker listens to them."""
    return [queue(n, connection) for n in QUEUE_NAMES]


def events_channel(channel: str, connection: Redis) -> str:
    """The pub/sub channel of a hub's live events on this connection's database.

    Redis pub/sub ignores the database number: two hubs on one Redis server (each on a database
    of its own, as staging beside production, or two test runs) would hear each other's events,
    and their user ids collide. The database number in the name keeps them apart."""
    database = connection.connection_pool.connection_kwargs.get("db", 0)
    return f"{EVENTS_PREFIX}{database}:{channel}"


def publish_event(channel: str, event: dict[str, Any], connection: Redis | None = None) -> int:
    """Publish a live event (a screen pop, a progress tick); returns how many listeners got it."""
    conn = connection or redis()
    return conn.publish(events_channel(channel, conn), json.dumps(event))


def subscribe_events(
    channel: str, connection: Redis | None = None, timeout: float = 15.0
) -> Iterator[dict[str, Any] | None]:
    """Yield events published on a channel; yields None after `timeout` seconds of silence."""
    conn = connection or redis()
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events_channel(channel, conn))
    try:
        while True:
            message = pubsub.get_message(timeout=timeout)
            yield None if message is None else json.loads(message["data"])
    finally:
        pubsub.close()
