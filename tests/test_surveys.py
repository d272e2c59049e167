"""Surveys: an SMS reply "9" is an NPS answer on the right contact and campaign; the signed email
link's page takes a CSAT answer without a login; a low score asks the owner to call back."""

import re

import requests
import sqlalchemy as sa

from hub.campaigns import surveys
from hub.campaigns.models import Campaign, MessageTemplate, Segment, SurveyResponse
from hub.campaigns.recovery import start_work
from hub.crm.followups import FollowUp
from hub.crm.models import Customer
from hub.db import session_scope
from tests.campaign_helpers import add_customer
from tests.conftest import csrf_token, work
from tests.test_inbound import NO_PROXY


def _survey_campaign(app, channel, kind, body):
    with session_scope(app) as s:
        seg = Segment(name=f"s {kind}", definition={"rules": [{"field": "class", "op": "in", "value": ["A", "B", "C"]}]})
        tpl = MessageTemplate(name=f"t {kind}", channel=channel, body=body,
                              subject="How did we do?" if channel == "email" else None)
        s.add_all([seg, tpl])
        s.flush()
        campaign = Campaign(name=f"{kind} survey", channel=channel, segment_id=seg.id,
                            template_id=tpl.id, survey=kind, state="running", quiet_start=0, quiet_end=0)
        s.add(campaign)
        s.flush()
        return campaign.id


def test_an_sms_reply_of_nine_is_an_nps_answer_for_the_right_contact(live_hub, make_user, db):
    app, sim, creds, _ = live_hub
    owner = make_user("agent")
    add_customer(db, "Other", contacts=[{"name": "Zhao", "phone": "+8613800000002"}])
    customer = add_customer(db, "Asked", owner_id=owner.id, contacts=[{"name": "Li", "phone": "+8613800000001"}])
    db.commit()
    cid = _survey_campaign(app, "sms", "nps", "{{ contact.name }}, 0-10: would you recommend us? Reply with a number.")
    start_work(app, cid)
    work(app)
    for sender, body in (("+8613800000001", "９"), ("+8613800000002", "maybe later")):
        r = requests.post(f"{sim.url}/sim/inbound/sms", json={"from": sender, "to": creds.from_number, "body": body},
                          proxies=NO_PROXY, timeout=10)
        assert r.status_code == 200, r.text
    work(app)
    [answer] = db.scalars(sa.select(SurveyResponse)).all()
    assert (answer.kind, answer.score, answer.channel, answer.campaign_id) == ("nps", 9, "sms", cid)
    assert answer.contact_id == customer.contacts[0].id
    note = db.scalar(sa.select(FollowUp).where(FollowUp.channel == "survey"))
    assert note.customer_id == customer.id and "NPS answer 9" in note.summary
    with session_scope(app) as s:
        assert surveys.distribution(s, cid)[9] == 1


def test_email_link_answers_without_login_and_a_low_score_is_due_today(live_hub, make_user, db):
    app, sim, creds, url = live_hub
    owner = make_user("agent")
    customer = add_customer(db, "Unhappy", owner_id=owner.id, contacts=[{"name": "Wu", "email": "wu@example.com"}])
    db.commit()
    cid = _survey_campaign(app, "email", "csat", "Rate us 1-5: {{ survey_url }}")
    start_work(app, cid)
    work(app)
    [mail] = [r for r in sim.requests() if r["provider"] == "sendgrid"]
    text = mail["body"]["content"][0]["value"]
    if text.startswith("-hub-"):
        text = mail["body"]["personalizations"][0]["substitutions"]["-hub-body-"]
    link = re.search(r"/s/[\w.-]+", text).group(0)
    visitor = app.test_client()
    page = visitor.get(link)
    assert page.status_code == 200 and "How satisfied" in page.get_data(as_text=True)
    token = csrf_token(visitor, link)
    assert visitor.post(link, data={"csrf_token": token, "score": "9"}).status_code == 422  # CSAT is 1-5
    assert visitor.post(link, data={"csrf_token": token, "score": "2"}).status_code == 200
    assert visitor.get(link[:-3] + "xyz").status_code == 404  # a forged token reaches nothing
    [answer] = db.scalars(sa.select(SurveyResponse)).all()
    assert (answer.kind, answer.score, answer.channel) == ("csat", 2, "email")
    db.expire_all()
    due = db.get(Customer, customer.id).next_contact_on
    assert due is not None and due == db.scalar(sa.select(FollowUp.occurred_at).where(FollowUp.channel == "survey")).date()


def test_campaign_page_shows_the_score_distribution(app, client, signed_in, db):
    customer = add_customer(db, "S", contacts=[{"name": "A", "phone": "+8613800000001"}])
    db.commit()
    cid = _survey_campaign(app, "sms", "nps", "0-10?")
    from hub.channels.models import Message

    with session_scope(app) as s:
        campaign = s.get(Campaign, cid)
        for score in (10, 9, 3):
            m = Message(channel="sms", campaign_id=None, customer_id=customer.id, contact_id=customer.contacts[0].id,
                        to_address="+8613800000001", status="sent")
            s.add(m)
            s.flush()
            surveys.record_answer(s, m, campaign, score, "sms")
    signed_in("specialist")
    fragment = client.get(f"/campaigns/{cid}/progress").get_data(as_text=True)
    assert "<title>9: 1</title>" in fragment and "<title>3: 1</title>" in fragment
    assert "NPS: 33." in fragment  # 2 promoters, 1 detractor of 3
