"""Care messages: birthday, N days after an order ships or a complaint is resolved, website lead
welcome, N days without contact; each sent once per occasion through the real SDK, with a
follow-up record; suppressed contacts are skipped with the reason."""

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from hub.campaigns.care.models import CareRule, CareSent
from hub.campaigns.care.occasions import run_care_rules
from hub.campaigns.templates.models import MessageTemplate
from hub.channels.models import Message, Suppression
from hub.core.db import session_scope
from hub.crm.followups.models import FollowUp
from hub.crm.service.models import Complaint
from tests.campaign_helpers import add_customer, add_order
from tests.conftest import work
from tests.test_campaign_engine import hub_with_sim  # noqa: F401

TODAY = date(2026, 5, 20)


def _rule(db, occasion, days=0, body="{{ contact.name }}: thank you from {{ owner.name|default('us', true) }}"):
    template = MessageTemplate(name=f"care {occasion}", channel="sms", body=body)
    db.add(template)
    db.flush()
    rule = CareRule(name=f"Care {occasion}", occasion=occasion, days=days, channel="sms", template_id=template.id)
    db.add(rule)
    db.flush()
    return rule


def test_each_occasion_is_sent_once(hub_with_sim, db):  # noqa: F811
    app, sim = hub_with_sim
    for occasion, days in (("birthday", 0), ("order_shipped", 3), ("complaint_resolved", 7), ("lead_welcome", 1), ("no_contact", 30)):
        _rule(db, occasion, days)
    add_customer(db, "B", contacts=[{"name": "Born today", "phone": "+8613800000001", "birthday": date(1990, 5, 20)}],
                 last_contact_at=datetime(2026, 5, 19, tzinfo=UTC))
    shipped = add_customer(db, "S", contacts=[{"name": "Shipped", "phone": "+8613800000002"}],
                           last_contact_at=datetime(2026, 5, 19, tzinfo=UTC))
    order = add_order(db, shipped, "100", date(2026, 5, 1), status="shipped")
    order.ship_date = TODAY - timedelta(days=3)
    resolved = add_customer(db, "C", contacts=[{"name": "Resolved", "phone": "+8613800000003"}],
                            last_contact_at=datetime(2026, 5, 19, tzinfo=UTC))
    db.add(Complaint(customer_id=resolved.id, channel="call", content="late", step="resolved",
                     resolved_at=datetime(2026, 5, 13, 3, tzinfo=UTC)))
    add_customer(db, "W", lead_source="website", stage="lead", created_at=datetime(2026, 5, 19, 9, tzinfo=UTC),
                 contacts=[{"name": "Web lead", "phone": "+8613800000004"}], last_contact_at=datetime(2026, 5, 19, tzinfo=UTC))
    add_customer(db, "Q", contacts=[{"name": "Quiet one", "phone": "+8613800000005"}],
                 last_contact_at=datetime(2026, 3, 1, tzinfo=UTC))
    add_customer(db, "X", contacts=[{"name": "Stopped", "phone": "+8613800000006", "birthday": date(1980, 5, 20)}],
                 last_contact_at=datetime(2026, 5, 19, tzinfo=UTC))
    db.add(Suppression(channel="sms", address="+8613800000006", reason="stop"))
    db.commit()

    with app.app_context():
        assert run_care_rules(app, TODAY) == 5
        assert run_care_rules(app, TODAY) == 0  # a second run (another scheduler) sends nothing
    work(app)
    sent = Counter(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert sent == Counter({f"+86138000000{i:02d}": 1 for i in range(1, 6)})
    assert "Born today: thank you from us" in [r["body"]["Body"] for r in sim.requests() if r["kind"] == "message"]
    with session_scope(app) as s:
        stopped = s.scalar(sa.select(CareSent).where(CareSent.message_id.is_(None)))
        assert "suppression list" in stopped.outcome
        statuses = set(s.scalars(sa.select(Message.status)))
        assert statuses == {"sent"}
        records = s.scalars(sa.select(FollowUp).where(FollowUp.message_ref.is_not(None))).all()
        assert len(records) == 5 and {r.status for r in records} == {"sent"}
    with session_scope(app) as s:
        s.execute(sa.update(CareRule).where(CareRule.occasion != "birthday").values(active=False))
    with app.app_context():
        assert run_care_rules(app, TODAY + timedelta(days=365)) == 1  # next year's birthday is a new occasion


def test_care_rules_api(app, make_user, client, db):
    from tests.crm_helpers import api, token_for

    http = api(client, token_for(app, make_user("specialist")))
    tpl = http.post("/templates", json={"name": "Bday", "channel": "sms", "body": "Happy birthday {{ contact.name }}"}).json
    wrong = http.post("/care-rules", json={"name": "B", "occasion": "anniversary", "channel": "email", "template_id": tpl["id"]})
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "occasion"
    mismatch = http.post("/care-rules", json={"name": "B", "occasion": "birthday", "channel": "email", "template_id": tpl["id"]})
    assert mismatch.status_code == 422 and mismatch.json["errors"][0]["field"] == "template_id"
    made = http.post("/care-rules", json={"name": "B", "occasion": "birthday", "channel": "sms", "template_id": tpl["id"]})
    assert made.status_code == 201 and made.json["active"] is True
    off = http.patch(f"/care-rules/{made.json['id']}", json={"active": False})
    assert off.json["active"] is False
    assert [r["id"] for r in http.get("/care-rules").json["items"]] == [made.json["id"]]


def test_care_rules_page_lists_adds_and_changes_rules(app, client, signed_in, make_user, db):
    from tests.conftest import csrf_token, login

    sms = MessageTemplate(name="Birthday SMS", channel="sms", body="Happy birthday {{ contact.name }}")
    mail = MessageTemplate(name="Complaint mail", channel="email", subject="Solved?", body="{{ survey_url }}")
    db.add_all([sms, mail])
    db.commit()
    signed_in("specialist")
    page = client.get("/campaigns/care")
    assert page.status_code == 200 and "New care rule" in page.get_data(as_text=True)
    token = csrf_token(client, "/campaigns/care")
    refused = client.post("/campaigns/care", data={
        "csrf_token": token, "name": "", "occasion": "complaint_resolved", "days": "-1", "channel": "sms",
        "template_id": str(mail.id), "survey": "csat", "active": "1"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="name-error"' in text and 'id="days-error"' in text
    assert db.scalar(sa.select(sa.func.count()).select_from(CareRule)) == 0
    mismatch = client.post("/campaigns/care", data={
        "csrf_token": token, "name": "After complaint", "occasion": "complaint_resolved", "days": "3",
        "channel": "sms", "template_id": str(mail.id), "survey": "csat", "active": "1"})
    assert mismatch.status_code == 422 and "This template is for Email, not SMS" in mismatch.get_data(as_text=True)
    made = client.post("/campaigns/care", data={
        "csrf_token": token, "name": "After complaint", "occasion": "complaint_resolved", "days": "3",
        "channel": "email", "template_id": str(mail.id), "survey": "csat", "active": "1"})
    assert made.status_code == 302
    rule = db.scalar(sa.select(CareRule))
    assert (rule.occasion, rule.days, rule.channel, rule.survey, rule.active) == ("complaint_resolved", 3, "email", "csat", True)
    listing = client.get("/campaigns/care").get_data(as_text=True)
    assert "After complaint" in listing and "Complaint mail" in listing and "CSAT (1 to 5)" in listing
    # Switched off, the survey question dropped (the box unticked, the choice blank).
    changed = client.post(f"/campaigns/care/{rule.id}", data={
        "csrf_token": token, "name": "After complaint", "occasion": "complaint_resolved", "days": "3",
        "channel": "email", "template_id": str(mail.id), "survey": ""})
    assert changed.status_code == 302
    db.expire_all()
    rule = db.get(CareRule, rule.id)
    assert (rule.active, rule.survey) == (False, None)
    assert client.get("/campaigns/care/999999").status_code == 404
    agent = app.test_client()
    login(agent, make_user("agent").email)
    assert agent.get("/campaigns/care").status_code == 403


def test_care_rules_api_sets_and_clears_the_survey(app, make_user, client, db):
    from tests.crm_helpers import api, token_for

    http = api(client, token_for(app, make_user("specialist")))
    tpl = http.post("/templates", json={"name": "After", "channel": "sms", "body": "Solved? 1-5"}).json
    made = http.post("/care-rules", json={"name": "After", "occasion": "complaint_resolved", "days": 2,
                                          "channel": "sms", "template_id": tpl["id"], "survey": "csat"})
    assert made.status_code == 201 and made.json["survey"] == "csat"
    bad = http.patch(f"/care-rules/{made.json['id']}", json={"survey": "stars"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "survey"
    cleared = http.patch(f"/care-rules/{made.json['id']}", json={"survey": None, "days": None})
    assert cleared.status_code == 200 and cleared.json["survey"] is None and cleared.json["days"] == 0


def test_a_payment_reminder_goes_days_before_the_due_date_once_with_the_amount(hub_with_sim, db):  # noqa: F811
    """The polite word before the due date: once per open receivable, not for a disputed or a
    settled one, with the amount in the message and the follow-up naming the receivable."""
    from hub.crm.sales.receivable_models import Receivable

    app, sim = hub_with_sim
    _rule(db, "payment_due", days=3,
          body="{{ contact.name }}: {{ receivable.currency }} {{ receivable.outstanding }} falls due on {{ receivable.due_on }}.")
    due = TODAY + timedelta(days=3)
    owing, disputed, settled = (
        add_customer(db, name, contacts=[{"name": name, "phone": f"+861380000001{i}"}])
        for i, name in enumerate(("Owing", "Disputed", "Settled"))
    )
    for customer, extra in ((owing, {"paid": 40}), (disputed, {"disputed": True}), (settled, {"paid": 100, "status": "settled"})):
        db.add(Receivable(customer_id=customer.id, amount=100, raised_on=date(2026, 5, 1), due_on=due, **extra))
    db.add(Receivable(customer_id=owing.id, amount=7, raised_on=date(2026, 5, 1), due_on=due + timedelta(days=1)))
    db.commit()

    with app.app_context():
        assert run_care_rules(app, TODAY) == 1
        assert run_care_rules(app, TODAY) == 0
    work(app)
    bodies = [r["body"]["Body"] for r in sim.requests() if r["kind"] == "message"]
    assert bodies == ["Owing: CNY 60.00 falls due on 2026-05-23."]
    with session_scope(app) as s:
        record = s.scalars(sa.select(FollowUp).where(FollowUp.message_ref.is_not(None))).one()
        assert s.get(Receivable, record.receivable_id).customer_id == owing.id


def test_a_campaign_template_may_name_the_receivable_and_renders_it_blank(app):
    """`receivable` is a known variable (a template for reminders saves), blank elsewhere."""
    from types import SimpleNamespace

    from hub.campaigns.templates.rendering import check_source, context_for
    from hub.campaigns.templates.saved import compiled

    assert check_source("body", "{{ receivable.outstanding }} due {{ receivable.due_on }}") == []
    contact = SimpleNamespace(name="Ann", title=None, email=None, phone="+8613800000001", birthday=None, language=None)
    customer = SimpleNamespace(name="Ann Co", customer_class="B", region="", city=None, industry="")
    with app.test_request_context():
        parts = compiled(MessageTemplate(channel="sms", body="Hi [{{ receivable.outstanding }}]")).render(
            context_for(contact, customer, None))
    assert parts.body == "Hi []"
