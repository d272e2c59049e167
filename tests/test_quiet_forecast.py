"""Quiet hours said out loud: before Launch, how many recipients are inside them now and when
they get the message; after, the held messages with their local send time and the wait. At a
frozen instant, with contacts in London, Shanghai (also by fallback) and New York."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from hub.campaigns import campaigns as svc
from hub.campaigns import quiet_forecast
from hub.campaigns.models import Campaign
from hub.campaigns.planner import plan_campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.models import Suppression
from hub.core.db import session_scope
from tests.campaign_helpers import add_customer
from tests.conftest import login
from tests.crm_helpers import token_for

# 22:10 in London (winter, UTC+0): quiet until 08:00 London = 08:00 UTC, 9 h 50 min away.
# 06:10 in Shanghai: quiet until 08:00 Shanghai = 00:00 UTC, 1 h 50 min away.
# 17:10 in New York: not quiet.
NIGHT = datetime(2026, 12, 4, 22, 10, tzinfo=UTC)
SHANGHAI_OPENS = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)
LONDON_OPENS = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
MIXED = ("5 of 7 recipients are in quiet hours now (21:00–08:00 their time); they will get it "
         "from 08:00 their time, the first in about 1 h 50 min, the last in about 9 h 50 min.")


def _world(db) -> None:
    """Seven recipients: 3 in London, 2 in Shanghai (one by an unknown zone's fallback), 2 in New
    York; plus a suppressed and a consent-refusing Londoner, who get nothing at all."""
    people = [
        ("UK", "Europe/London", 3), ("CN", None, 1), ("CN", "Mars/Olympus", 1), ("US", "America/New_York", 2),
    ]
    n = 0
    for region, zone, count in people:
        for _i in range(count):
            n += 1
            add_customer(db, f"Co {n}", region=region, customer_class="B",
                         contacts=[{"name": f"P{n}", "email": f"p{n}@example.com", "timezone": zone}])
    add_customer(db, "Gone Co", region="UK", customer_class="B",
                 contacts=[{"name": "Gone", "email": "GONE@example.com", "timezone": "Europe/London"}])
    db.add(Suppression(channel="email", address="gone@example.com", reason="unsubscribe"))
    add_customer(db, "No Co", region="UK", customer_class="B",
                 contacts=[{"name": "No", "email": "no@example.com", "timezone": "Europe/London",
                            "consent": {"email": False}}])
    db.commit()


def _campaign(app, region: str | None = None, **extra) -> int:
    rules = [{"field": "class", "op": "in", "value": ["B"]}]
    if region:
        rules.append({"field": "region", "op": "eq", "value": region})
    with session_scope(app) as s:
        segment = Segment(name=f"seg {region}", definition={"match": "all", "rules": rules})
        template = MessageTemplate(name=f"tpl {region}", channel="email", subject="Hi", body="Hi {{ contact.name }}")
        s.add_all([segment, template])
        s.flush()
        campaign = Campaign(name=f"Night {region}", channel="email", segment_id=segment.id,
                            template_id=template.id, **extra)
        s.add(campaign)
        s.flush()
        return campaign.id


def _launch_and_plan(app, campaign_id: int) -> None:
    with session_scope(app) as s:
        assert svc.launch(s, s.get(Campaign, campaign_id)) is True
    plan_campaign(app, campaign_id)


def test_preview_counts_who_is_in_quiet_hours_now_by_their_zone(app, db):
    _world(db)
    mixed, london = _campaign(app), _campaign(app, "UK")
    with time_machine.travel(NIGHT, tick=False), app.test_request_context():
        p = quiet_forecast.preview(db, db.get(Campaign, mixed))
        assert (p.total, p.hold.count) == (7, 5)
        assert (p.hold.first, p.hold.last, p.hold.local_times) == (SHANGHAI_OPENS, LONDON_OPENS, {"08:00"})
        assert quiet_forecast.preview_sentence(p) == MIXED
        only_london = quiet_forecast.preview(db, db.get(Campaign, london))
        assert quiet_forecast.preview_sentence(only_london) == (
            "3 of 3 recipients are in quiet hours now (21:00–08:00 their time); they will get it from "
            "08:00 their time, in about 9 h 50 min.")
    # At noon in London nobody there waits.
    with time_machine.travel(datetime(2026, 12, 4, 12, 0, tzinfo=UTC), tick=False), app.test_request_context():
        assert quiet_forecast.preview_sentence(quiet_forecast.preview(db, db.get(Campaign, london))) == (
            "None of the 3 recipients is in quiet hours (21:00–08:00 their time) now; all get it on launch.")


def test_a_later_start_is_previewed_at_that_start(app, db):
    _world(db)
    # Starting at 12:00 UTC: 20:00 in Shanghai, noon in London, 07:00 in New York (quiet until 08:00).
    cid = _campaign(app, send_at=datetime(2026, 12, 5, 12, 0, tzinfo=UTC))
    with time_machine.travel(NIGHT, tick=False), app.test_request_context():
        p = quiet_forecast.preview(db, db.get(Campaign, cid))
        assert p.scheduled and (p.total, p.hold.count) == (7, 2)
        assert quiet_forecast.preview_sentence(p) == (
            "2 of 7 recipients will be in quiet hours at the start (21:00–08:00 their time); they will "
            "get it from 08:00 their time, in about 14 h 50 min.")


def test_held_messages_are_counted_with_when_they_go_out(app, db):
    _world(db)
    cid = _campaign(app)
    with time_machine.travel(NIGHT, tick=False):
        _launch_and_plan(app, cid)
        with app.test_request_context():
            quiet, retry = quiet_forecast.held(db, cid)
            assert (quiet.count, quiet.first, quiet.last) == (5, SHANGHAI_OPENS, LONDON_OPENS)
            assert retry.count == 0
            assert quiet_forecast.held_sentence(quiet) == (
                "5 held until 08:00 their time (the first in about 1 h 50 min, the last in about 9 h 50 min).")
    # Past 08:00 in Shanghai the two there are due (no longer held); London still waits.
    with time_machine.travel(datetime(2026, 12, 5, 3, 10, tzinfo=UTC), tick=False), app.test_request_context():
        quiet, _retry = quiet_forecast.held(db, cid)
        assert quiet_forecast.held_sentence(quiet) == "3 held until 08:00 their time (about 4 h 50 min)."


@pytest.mark.parametrize("wait, text", [
    (timedelta(seconds=20), "less than a minute"), (timedelta(minutes=7), "7 min"),
    (timedelta(hours=4, minutes=50), "4 h 50 min"), (timedelta(days=2, hours=3, minutes=1), "2 d 3 h"),
])
def test_waits_read_as_people_say_them(app, wait, text):
    with app.test_request_context():
        assert quiet_forecast.wait_text(wait) == text


def test_launch_form_and_progress_page_say_it_in_english_and_chinese(app, db, make_user):
    _world(db)
    cid = _campaign(app)
    user = make_user("specialist")
    client = app.test_client()
    with time_machine.travel(NIGHT, tick=False):
        login(client, user.email)
        page = client.get(f"/campaigns/{cid}", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert MIXED in page
        assert "Not launched yet: nothing planned." in page
        assert "Every recipient so far got the message." not in page
        zh = client.get(f"/campaigns/{cid}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert ("7 位收件人中有 5 位目前处于免打扰时段（当地时间 21:00–08:00）；他们将在当地时间 08:00 起收到，"
                "最早约 1 小时 50 分钟后，最晚约 9 小时 50 分钟后。") in zh
        assert "尚未启动：还没有安排任何发送。" in zh
        _launch_and_plan(app, cid)
        fragment = client.get(f"/campaigns/{cid}/progress", headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "5 held until 08:00 their time (the first in about 1 h 50 min, the last in about 9 h 50 min)." in fragment
        zh = client.get(f"/campaigns/{cid}/progress", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
        assert "5 条暂缓至当地时间 08:00 发送（最早约 1 小时 50 分钟后，最晚约 9 小时 50 分钟后）。" in zh
        launched = client.get(f"/campaigns/{cid}").get_data(as_text=True)
        assert "recipients are in quiet hours now" not in launched  # said before Launch only
        answer = client.get(f"/api/v1/campaigns/{cid}",
                            headers={"Authorization": f"Bearer {token_for(app, user)}"}).get_json()
    assert answer["held"]["quiet_hours"] == {
        "count": 5, "first": "2026-12-05T00:00:00+00:00", "last": "2026-12-05T08:00:00+00:00",
        "local_times": ["08:00"], "first_in_seconds": 110 * 60, "last_in_seconds": 590 * 60,
    }
    assert answer["held"]["retry"]["count"] == 0
