"""Campaign pages: the draft form, actions, the live progress fragment with its chart, the
not-sent list and its CSV export; `hub campaigns send ID` with its progress bar."""

import csv
import io
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa
from click.testing import CliRunner

from hub.campaigns import campaigns as svc
from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.models import Message, Suppression
from hub.core.db import session_scope
from hub.runtime.cli import main
from tests.campaign_helpers import add_customer, bulk_contacts
from tests.conftest import PATIENCE, csrf_token, login, work
from tests.test_campaign_engine import hub_with_sim  # noqa: F401


def _segment_and_template(app, channel="email"):
    with session_scope(app) as s:
        seg = Segment(name="Everyone", definition={"match": "all", "rules": [{"field": "class", "op": "in", "value": ["A", "B", "C"]}]})
        tpl = MessageTemplate(name="Hello", channel=channel, subject="Hi" if channel == "email" else None, body="Hi {{ contact.name }}")
        s.add_all([seg, tpl])
        s.flush()
        return seg.id, tpl.id


def test_draft_launch_progress_and_export(hub_with_sim, make_user, db):  # noqa: F811
    app, sim = hub_with_sim
    add_customer(db, "=HYPERLINK(\"http://x\")", contacts=[{"name": "<b>Evil</b>", "email": "evil@example.com"}])
    add_customer(db, "Fine Co", contacts=[{"name": "Fine", "email": "fine@example.com"}])
    db.add(Suppression(channel="email", address="evil@example.com", reason="unsubscribe"))
    db.commit()
    seg, tpl = _segment_and_template(app)
    client = app.test_client()
    user = make_user("specialist")
    login(client, user.email)
    token = csrf_token(client, "/campaigns/new")
    bad = client.post("/campaigns/new", data={"csrf_token": token, "name": "", "channel": "email", "segment_id": seg, "template_id": tpl, "quiet_start": "9pm"})
    assert bad.status_code == 422 and "21:00" in bad.get_data(as_text=True)
    made = client.post("/campaigns/new", data={"csrf_token": token, "name": "Spring", "channel": "email", "segment_id": seg, "template_id": tpl, "rate": "20", "quiet_start": "00:00", "quiet_end": "00:00"})
    assert made.status_code == 302
    page_url = made.headers["Location"]
    assert "Draft" in client.get(page_url).get_data(as_text=True)
    launched = client.post(page_url + "/launch", data={"csrf_token": token})
    assert launched.status_code == 302
    work(app)
    page = client.get(page_url).get_data(as_text=True)
    assert "Completed" in page and "&lt;b&gt;Evil&lt;/b&gt;" in page and "<b>Evil</b>" not in page
    assert "on the suppression list" in page
    fragment = client.get(page_url + "/progress").get_data(as_text=True)
    assert '<td data-count="sent">1</td>' in fragment and '<td data-count="suppressed">1</td>' in fragment
    assert "<polyline" in fragment
    # Finished, but the message sent still waits for its receipt: the page keeps refreshing for
    # an hour after the end, and stops once every receipt is in.
    assert 'data-live="1"' in fragment
    with session_scope(app) as s:
        campaign = s.scalars(sa.select(Campaign)).one()
        assert svc.counts_may_change(s, campaign, campaign.finished_at + timedelta(minutes=59))
        assert not svc.counts_may_change(s, campaign, campaign.finished_at + timedelta(minutes=61))
        s.execute(sa.update(Message).where(Message.status == "sent").values(status="delivered"))
    assert 'data-live="0"' in client.get(page_url + "/progress").get_data(as_text=True)
    exported = client.get(page_url + "/not-sent.csv")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    exported.close()  # a streamed response keeps its request's session until closed
    assert rows[0][:3] == ["message_id", "contact", "customer"]
    assert rows[1][2] == "'=HYPERLINK(\"http://x\")" and rows[1][4] == "suppressed"
    again = client.post(page_url + "/launch", data={"csrf_token": token}, follow_redirects=True)
    assert "Only a draft can be launched" in again.get_data(as_text=True)


def test_agents_cannot_open_campaign_pages(app, client, signed_in):
    signed_in("agent")
    assert client.get("/campaigns/").status_code == 403


def test_cli_launches_and_shows_a_progress_bar(hub_with_sim, db, env_for_subprocess, monkeypatch):  # noqa: F811
    app, sim = hub_with_sim
    bulk_contacts(db, 300, "email")
    db.commit()
    seg, tpl = _segment_and_template(app)
    with session_scope(app) as s:
        campaign = Campaign(name="CLI", channel="email", segment_id=seg, template_id=tpl, quiet_start=0, quiet_end=0)
        s.add(campaign)
        s.flush()
        cid = campaign.id
    env = {**env_for_subprocess, "HUB_INSTANCE_DIR": app.config["INSTANCE_DIR"],
           "NO_PROXY": "127.0.0.1,localhost"}
    for key, value in env.items():
        if key.startswith("HUB_"):
            monkeypatch.setenv(key, value)
    worker = subprocess.Popen([sys.executable, "-m", "hub", "worker", "--without-scheduler"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        result = CliRunner().invoke(main, ["campaigns", "send", str(cid)])
    finally:
        worker.terminate()
        worker.wait(timeout=PATIENCE)
    assert result.exit_code == 0, result.output
    assert "sending" in result.output  # the bar itself draws only on a terminal
    assert "Completed: planned 300, sent 300" in result.output
    missing = CliRunner().invoke(main, ["campaigns", "send", "999"])
    assert missing.exit_code != 0 and "no campaign 999" in missing.output
    with session_scope(app) as s:
        assert s.scalar(sa.select(Campaign.state).where(Campaign.id == cid)) == "completed"


def test_the_not_sent_box_says_what_happened_so_far(app, db, make_user):
    """A draft planned nothing; planned but none sent yet, or some still to send, is not "every
    recipient got the message"; that is said only once nothing waits."""
    seg, tpl = _segment_and_template(app)
    people = [add_customer(db, f"Co {i}", contacts=[{"name": f"P{i}", "email": f"p{i}@example.com"}])
              for i in range(2)]
    db.commit()
    with session_scope(app) as s:
        campaign = Campaign(name="Paced", channel="email", segment_id=seg, template_id=tpl)
        s.add(campaign)
        s.flush()
        cid = campaign.id
    client = app.test_client()
    login(client, make_user("specialist").email)

    def box():
        page = client.get(f"/campaigns/{cid}").get_data(as_text=True)
        return page.split("<h2>Not sent</h2>", 1)[1].split("</section>", 1)[0]

    assert "Not launched yet: nothing planned." in box()
    with session_scope(app) as s:
        s.get(Campaign, cid).state = "running"
        s.add_all([Message(channel="email", customer_id=c.id, contact_id=c.contacts[0].id, to_address=c.contacts[0].email,
                           body="Hi", campaign_id=cid, status="pending") for c in people])
    assert "Nothing sent yet; none refused or failed so far." in box()
    assert "Every recipient" not in box()
    with session_scope(app) as s:
        s.execute(sa.update(Message).where(Message.id == sa.select(sa.func.min(Message.id)).scalar_subquery())
                  .values(status="delivered"))
    assert "None refused or failed so far; 1 still to send." in box()
    with session_scope(app) as s:
        s.execute(sa.update(Message).values(status="delivered"))
    assert "Every recipient so far got the message." in box()
