"""The live event stream: a real threaded server holds it open and still answers other requests."""

import threading
import time
import uuid

import requests

from hub.core import services
from hub.web.events import user_channel
from tests.conftest import CSRF_RE, PASSWORD


def _signed_in_session(base, user):
    s = requests.Session()
    token = CSRF_RE.search(s.get(base + "/login").text).group(1)
    r = s.post(
        base + "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert r.status_code == 302
    return s


def test_events_reach_only_their_user_while_the_server_keeps_serving(
    live_server, make_user, redis_conn
):
    me, other = make_user("agent"), make_user("agent")
    s = _signed_in_session(live_server, me)
    with s.get(live_server + "/events", stream=True, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")

        arrived = threading.Event()

        def publish():
            # Publish until the stream has it: a subscriber count cannot tell, since a stream of
            # an earlier test (ids start at 1 again) may still be listening on the same channel
            # until its keepalive finds its client gone. The other user's event must not arrive.
            for _ in range(400):  # up to 20 s: a loaded machine subscribes late
                if arrived.is_set():
                    return
                services.publish_event(
                    user_channel(other.id), {"type": "pop", "who": "secret"}, redis_conn
                )
                services.publish_event(
                    user_channel(me.id), {"type": "pop", "who": "郑州华信"}, redis_conn
                )
                time.sleep(0.05)

        threading.Thread(target=publish, daemon=True).start()
        # Never hang the suite: a stream that got nothing in 30 s is closed, failing the test.
        watchdog = threading.Timer(30, stream.close)
        watchdog.start()
        # Another request is answered while the stream is held open.
        assert requests.get(live_server + "/healthz", timeout=5).status_code == 200
        lines = []
        try:
            for line in stream.iter_lines(decode_unicode=True):
                lines.append(line)
                if line.startswith("data:"):
                    arrived.set()
                    break
        finally:
            watchdog.cancel()
    assert "event: pop" in lines
    assert lines[-1] == 'data: {"type": "pop", "who": "郑州华信"}'
    assert "secret" not in "".join(lines)


def test_events_need_a_session(live_server):
    r = requests.get(live_server + "/events", allow_redirects=False, timeout=5)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_two_hubs_on_one_redis_server_do_not_hear_each_others_events(app, redis_conn):
    """Redis pub/sub ignores the database number: a hub on another database of the same server
    (staging beside production; the two CI runs) has a user 1 too, and must not get its pops."""
    where = redis_conn.connection_pool.connection_kwargs
    neighbour = redis_conn.__class__(
        host=where["host"], port=where["port"], db=(where.get("db", 0) + 1) % 16
    )
    channel = f"user:{uuid.uuid4().int % 10**9}"  # heard by nothing else running at the time
    mine = services.subscribe_events(channel, redis_conn, timeout=0.2)
    next(mine)  # subscribed, nothing yet
    try:
        assert services.publish_event(channel, {"type": "call"}, neighbour) == 0
        assert services.publish_event(channel, {"type": "call", "n": 2}, redis_conn) == 1
        assert next(mine) == {"type": "call", "n": 2}
    finally:
        mine.close()
        neighbour.close()
