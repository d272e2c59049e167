"""Surveys: an SMS reply "9" is an NPS answer on the right contact and campaign; the signed email
link's page takes a CSAT answer without a login; a low score asks the owner to call back."""

import re

import requests
import sqlalchemy as sa

from hub.campaigns.launch import start_work
from hub.campaigns.models import Campaign
from hub.campaigns.segments.models import Segment
from hub.campaigns.surveys import answers as surveys
from hub.campaigns.surveys.models import SurveyResponse
from hub.campaigns.templates.models import MessageTemplate
from hub.core.clock import business_date_of
from hub.core.db import session_scope
from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from tests.campaign_helpers import add_customer
from tests.conftest import PATIENCE, csrf_token, work
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
                          proxies=NO_PROXY, timeout=PATIENCE)
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
    answered_at = db.scalar(sa.select(FollowUp.occurred_at).where(FollowUp.channel == "survey"))
    with app.app_context():  # due on the business day it was answered, not the UTC one
        assert due is not None and due == business_date_of(answered_at)


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
            surveys.record_answer(s, m, surveys.Asked.of_campaign(campaign), score, "sms")
    signed_in("specialist")
    fragment = client.get(f"/campaigns/{cid}/progress").get_data(as_text=True)
    assert "<title>9: 1</title>" in fragment and "<title>3: 1</title>" in fragment
    assert "NPS: 33." in fragment  # 2 promoters, 1 detractor of 3


def _complaint_survey(db, channel, body):
    from hub.campaigns.care.models import CareRule

    tpl = MessageTemplate(name=f"after complaint {channel}", channel=channel, body=body,
                          subject="Are we good now?" if channel == "email" else None)
    db.add(tpl)
    db.flush()
    rule = CareRule(name="After a complaint", occasion="complaint_resolved", days=2, channel=channel,
                    template_id=tpl.id, survey="csat")
    db.add(rule)
    db.flush()
    return rule


def _resolved_complaint(db, customer, owner):
    from datetime import UTC, datetime

    from hub.crm.service.models import Complaint

    complaint = Complaint(customer_id=customer.id, owner_id=owner.id, channel="call", content="broken lid",
                          step="resolved", resolved_at=datetime(2026, 5, 18, 3, tzinfo=UTC))
    db.add(complaint)
    db.flush()
    return complaint


def test_a_low_sms_score_to_a_complaint_survey_reopens_the_complaint(live_hub, make_user, db):
    from datetime import date

    from hub.campaigns.care.occasions import run_care_rules
    from hub.crm.customers.models import AuditEntry
    from hub.crm.service.models import Complaint

    app, sim, creds, _ = live_hub
    owner = make_user("agent")
    unhappy = add_customer(db, "Lid Co", owner_id=owner.id, contacts=[{"name": "Qian", "phone": "+8613800000007"}])
    happy = add_customer(db, "Cup Co", owner_id=owner.id, contacts=[{"name": "Sun", "phone": "+8613800000008"}])
    rule = _complaint_survey(db, "sms", "{{ contact.name }}, is it solved? Reply 1 (not at all) to 5 (fully).")
    bad = _resolved_complaint(db, unhappy, owner)
    good = _resolved_complaint(db, happy, owner)
    db.commit()
    with app.app_context():
        assert run_care_rules(app, date(2026, 5, 20)) == 2
    work(app)
    for sender, body in (("+8613800000007", "2"), ("+8613800000008", "5")):
        r = requests.post(f"{sim.url}/sim/inbound/sms", json={"from": sender, "to": creds.from_number, "body": body},
                          proxies=NO_PROXY, timeout=PATIENCE)
        assert r.status_code == 200, r.text
    work(app)
    answers = {a.customer_id: a for a in db.scalars(sa.select(SurveyResponse))}
    assert (answers[unhappy.id].kind, answers[unhappy.id].score, answers[unhappy.id].care_rule_id) == ("csat", 2, rule.id)
    assert answers[unhappy.id].campaign_id is None and answers[happy.id].score == 5
    db.expire_all()
    reopened, kept = db.get(Complaint, bad.id), db.get(Complaint, good.id)
    assert (reopened.step, reopened.resolved_at) == ("negotiated", None) and reopened.step_due_at is not None
    assert kept.step == "resolved"  # 5 of 5: nothing to reopen
    timeline = [f.summary for f in db.scalars(sa.select(FollowUp).where(FollowUp.customer_id == unhappy.id))]
    assert any(f"Complaint {bad.id} reopened" in t and "scored its resolution 2" in t for t in timeline)
    assert any("CSAT answer 2 to After a complaint" in t for t in timeline)
    audit = db.scalar(sa.select(AuditEntry).where(AuditEntry.entity == "complaint", AuditEntry.action == "reopen"))
    assert audit.entity_id == bad.id and audit.changes == {"step": ["resolved", "negotiated"]}


def test_a_complaint_survey_by_email_links_to_its_page_and_a_low_answer_reopens(live_hub, make_user, db):
    from datetime import date

    from hub.campaigns.care.occasions import run_care_rules
    from hub.crm.service.models import Complaint

    app, sim, creds, url = live_hub
    owner = make_user("agent")
    customer = add_customer(db, "Lid Co", owner_id=owner.id, contacts=[{"name": "Qian", "email": "qian@example.com"}])
    _complaint_survey(db, "email", "Is it solved? {{ survey_url }}")
    complaint = _resolved_complaint(db, customer, owner)
    db.commit()
    with app.app_context():
        assert run_care_rules(app, date(2026, 5, 20)) == 1
    work(app)
    [mail] = [r for r in sim.requests() if r["provider"] == "sendgrid"]
    link = re.search(r"/s/[\w.-]+", mail["body"]["content"][0]["value"]).group(0)
    visitor = app.test_client()
    page = visitor.get(link)
    assert page.status_code == 200 and "How satisfied" in page.get_data(as_text=True)
    assert visitor.post(link, data={"csrf_token": csrf_token(visitor, link), "score": "1"}).status_code == 200
    db.expire_all()
    assert db.get(Complaint, complaint.id).step == "negotiated"
    [answer] = db.scalars(sa.select(SurveyResponse)).all()
    assert (answer.kind, answer.score, answer.channel, answer.campaign_id) == ("csat", 1, "email", None)
