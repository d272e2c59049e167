"""/api/v1/campaigns: drafts, launch, pause, resume and cancel, state and counts."""

from datetime import UTC, datetime, timedelta

from hub.campaigns.recovery import sweep
from tests.campaign_helpers import add_customer, bulk_contacts
from tests.conftest import work
from tests.crm_helpers import api, token_for
from tests.test_campaign_engine import hub_with_sim  # noqa: F401


def _setup(http, channel="email"):
    seg = http.post("/segments", json={"name": "All B", "rules": [{"field": "class", "op": "eq", "value": "B"}]}).json
    tpl = http.post("/templates", json={"name": "Hi", "channel": channel, "subject": "Hi" if channel == "email" else None, "body": "Hi {{ contact.name }}"}).json
    return seg["id"], tpl["id"]


def test_create_launch_and_read_counts(hub_with_sim, make_user, db):  # noqa: F811
    app, sim = hub_with_sim
    bulk_contacts(db, 30, "email")
    add_customer(db, "A-class", customer_class="A", contacts=[{"name": "x", "email": "a@example.com"}])
    db.commit()
    http = api(app.test_client(), token_for(app, make_user("specialist")))
    seg, tpl = _setup(http)
    bad = http.post("/campaigns", json={"name": "x", "channel": "sms", "segment_id": seg, "template_id": tpl, "send_at": "yesterday", "quiet_start": "25:00"})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"template_id", "send_at", "quiet_start"}
    defaults = http.post("/campaigns", json={"name": "Defaults", "channel": "email", "segment_id": seg, "template_id": tpl})
    assert (defaults.json["quiet_start"], defaults.json["quiet_end"], defaults.json["rate"]) == ("21:00", "08:00", 10)
    # No quiet hours for the one that sends: the test must not depend on the hour it runs at.
    created = http.post("/campaigns", json={"name": "Spring", "channel": "email", "segment_id": seg, "template_id": tpl, "rate": 50, "quiet_start": "00:00", "quiet_end": "00:00"})
    assert created.status_code == 201, created.json
    cid = created.json["id"]
    assert created.json["state"] == "draft" and created.json["quiet_start"] == "00:00"
    assert http.post(f"/campaigns/{cid}/pause").status_code == 409
    launched = http.post(f"/campaigns/{cid}/launch")
    assert launched.json["state"] == "running"
    work(app)
    done = http.get(f"/campaigns/{cid}").json
    assert done["state"] == "completed"
    assert done["counts"]["planned"] == 30 and done["counts"]["sent"] == 30
    assert http.post(f"/campaigns/{cid}/launch").status_code == 409
    assert http.get("/campaigns?state=completed").json["items"][0]["id"] == cid
    assert http.get("/campaigns?state=nope").status_code == 422


def test_pause_holds_resume_finishes_cancel_stops(hub_with_sim, make_user, db):  # noqa: F811
    app, sim = hub_with_sim
    bulk_contacts(db, 1200, "email")
    db.commit()
    http = api(app.test_client(), token_for(app, make_user("director")))
    seg, tpl = _setup(http)
    cid = http.post("/campaigns", json={"name": "P", "channel": "email", "segment_id": seg, "template_id": tpl, "quiet_start": "00:00", "quiet_end": "00:00"}).json["id"]
    http.post(f"/campaigns/{cid}/launch")
    assert http.post(f"/campaigns/{cid}/pause").json["state"] == "paused"
    work(app)  # the queued jobs find the campaign paused and send nothing
    paused = http.get(f"/campaigns/{cid}").json
    assert paused["counts"]["sent"] == 0 and not [r for r in sim.requests() if r["provider"] == "sendgrid"]
    assert http.post(f"/campaigns/{cid}/resume").json["state"] == "running"
    work(app)
    assert http.get(f"/campaigns/{cid}").json["counts"]["sent"] == 1200

    other = http.post("/campaigns", json={"name": "C", "channel": "email", "segment_id": seg, "template_id": tpl, "quiet_start": "00:00", "quiet_end": "00:00"}).json["id"]
    http.post(f"/campaigns/{other}/launch")
    cancelled = http.post(f"/campaigns/{other}/cancel").json
    work(app)
    assert cancelled["state"] == "cancelled"
    after = http.get(f"/campaigns/{other}").json["counts"]
    assert after["sent"] == 0 and after["cancelled"] == after["planned"]


def test_a_scheduled_campaign_starts_when_its_time_comes(hub_with_sim, make_user, db):  # noqa: F811
    app, sim = hub_with_sim
    bulk_contacts(db, 5, "email")
    db.commit()
    http = api(app.test_client(), token_for(app, make_user("specialist")))
    seg, tpl = _setup(http)
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    cid = http.post("/campaigns", json={"name": "S", "channel": "email", "segment_id": seg, "template_id": tpl, "send_at": later, "quiet_start": "00:00", "quiet_end": "00:00"}).json["id"]
    assert http.post(f"/campaigns/{cid}/launch").json["state"] == "scheduled"
    sweep(app)
    work(app)
    assert http.get(f"/campaigns/{cid}").json["counts"]["planned"] == 0
    sweep(app, datetime.now(UTC) + timedelta(hours=3))
    work(app)
    final = http.get(f"/campaigns/{cid}").json
    assert final["state"] == "completed" and final["counts"]["sent"] == 5
