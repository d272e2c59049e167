"""Complaints: recorded with their files, worked step by step without skipping, overdue steps,
and who may see which (files included), through pages and the API."""

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from hub.crm.customers.models import Contact, Customer
from hub.crm.followups.models import FollowUp
from hub.crm.rules import update_rules
from hub.crm.sales.models import Order
from hub.crm.service.complaint_changes import create_complaint
from hub.crm.service.complaint_files import MAX_BYTES, sanitize_filename
from hub.crm.service.complaint_steps import advance_step, overdue_complaints, overdue_count
from hub.crm.service.models import Complaint, ComplaintAttachment
from tests.conftest import csrf_token, login
from tests.sales_api_helpers import api_as, changed, created, error_fields, fresh, items

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def _customer(db, owner, name="鼎盛食品有限公司", contacts=()):
    customer = Customer(name=name, owner_id=owner.id if owner else None)
    customer.contacts = [Contact(name=n) for n in contacts]
    db.add(customer)
    db.commit()
    return customer


def _files(app):
    folder = Path(app.config["INSTANCE_DIR"]) / "attachments"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _new(client, customer_id, files=(), **fields):
    data = {
        "channel": "call",
        "content": "The valves leak after two weeks.",
        **fields,
        "csrf_token": csrf_token(client, f"/customers/{customer_id}/complaints/new"),
        "attachments": [(io.BytesIO(body), name) for name, body in files],
    }
    return client.post(
        f"/customers/{customer_id}/complaints/new", data=data, content_type="multipart/form-data"
    )


# --- attachments ---------------------------------------------------------------------------------


def test_a_complaint_with_files_round_trips_and_only_to_those_who_see_the_customer(
    app, client, signed_in, make_user, db
):
    me = signed_in("agent")
    customer = _customer(db, me, contacts=["李娜"])
    before = _files(app)
    r = _new(
        client,
        customer.id,
        files=[("照片: <leak>?.png", PNG), ("report.pdf", PDF)],
        product="不锈钢阀门",
        ask_compensation="1200.50",
        ask_return_quantity="20",
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    complaint = db.scalar(sa.select(Complaint))
    assert complaint.step == "received" and complaint.owner_id == me.id
    rows = complaint.attachments
    assert [(a.filename, a.content_type, a.size) for a in rows] == [
        ("照片_ _leak__.png", "image/png", len(PNG)),
        ("report.pdf", "application/pdf", len(PDF)),
    ]
    assert sorted(set(_files(app)) - set(before)) == sorted(a.storage_key for a in rows)

    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "照片_ _leak__.png" in page and "1200.50" in page
    download = client.get(f"/complaints/attachments/{rows[0].id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.mimetype == "image/png"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert download.headers["X-Content-Type-Options"] == "nosniff"

    stranger = app.test_client()
    login(stranger, make_user("agent").email)
    assert stranger.get(f"/complaints/attachments/{rows[0].id}").status_code == 403
    assert stranger.get(f"/complaints/{complaint.id}").status_code == 403
    boss = app.test_client()
    login(boss, make_user("director").email)
    assert boss.get(f"/complaints/attachments/{rows[1].id}").data == PDF


def test_files_too_big_or_of_a_bad_kind_are_refused_with_a_message(app, client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    before = _files(app)
    cases = [
        ("huge.pdf", b"%PDF-" + b"0" * MAX_BYTES, "huge.pdf is larger than 10 MB."),
        ("page.html", b"<script>alert(1)</script>", "page.html: this kind of file is not accepted"),
        ("fake.png", b"<svg onload=alert(1)>", "fake.png is not really a PNG file."),
        ("empty.txt", b"", "empty.txt is empty."),
    ]
    for name, body, message in cases:
        r = _new(client, customer.id, files=[("fine.png", PNG), (name, body)])
        assert r.status_code == 422, name
        page = r.get_data(as_text=True)
        assert 'id="attachments-error"' in page and message in page, name
        assert "The valves leak" in page  # what was typed is kept
    assert db.scalar(sa.select(sa.func.count()).select_from(Complaint)) == 0
    assert _files(app) == before  # the good file of each try was not kept either


def test_files_added_later_and_removed(app, client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    assert _new(client, customer.id).status_code == 302
    complaint = db.scalar(sa.select(Complaint))
    token = csrf_token(client, f"/complaints/{complaint.id}")
    r = client.post(
        f"/complaints/{complaint.id}/attachments",
        data={"csrf_token": token, "attachments": [(io.BytesIO(b"a,b\n1,2\n"), "counts.csv")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    row = db.scalar(sa.select(ComplaintAttachment))
    assert row.content_type == "text/csv" and row.storage_key in _files(app)
    r = client.post(f"/complaints/attachments/{row.id}/delete", data={"csrf_token": token})
    assert r.status_code == 302
    assert db.scalar(sa.select(sa.func.count()).select_from(ComplaintAttachment)) == 0
    assert row.storage_key not in _files(app)


def test_filenames_are_sanitized():
    assert sanitize_filename("../../etc/passwd") == "passwd"
    assert sanitize_filename('C:\\Users\\li\\照片 "leak"\n.png') == "照片 _leak_.png"
    assert sanitize_filename("a\u202egnp.exe") == "agnp.exe"  # no right-to-left trick
    assert sanitize_filename("  报告;2026?.pdf ") == "报告_2026_.pdf"
    assert sanitize_filename("...") == "attachment"
    assert len(sanitize_filename("x" * 300 + ".pdf")) == 150


# --- steps ---------------------------------------------------------------------------------------


def test_steps_go_one_at_a_time_and_each_is_on_the_timeline(director_api, db):
    client, me = director_api
    update_rules(db, {"complaint_step_days": 3})
    db.commit()
    customer = _customer(db, me)
    c = created(
        client, "/complaints", {"customer_id": customer.id, "channel": "email", "content": "Wrong colour"}
    )
    due = datetime.fromisoformat(c["step_due_at"]) - datetime.fromisoformat(c["received_at"])
    assert due == timedelta(days=3)

    path = f"/complaints/{c['id']}"
    skip = changed(client, path, {"step": "assessed"}, status=409)
    assert skip["detail"] == "A step cannot be skipped: after Received comes Confirmed."
    for step in ("confirmed", "assessed", "negotiated", "resolved"):
        r = changed(client, path, {"step": step, "note": f"{step} ok"})
    assert r["resolved_at"] and r["step"] == "resolved"
    back = changed(client, path, {"step": "negotiated"}, status=409)
    assert "does not go back" in back["detail"]
    done = changed(client, path, {"step": "followed_up"})
    assert done["step_due_at"] is None and done["overdue"] is False
    changed(client, path, {"step": "followed_up"})
    records = db.scalars(
        sa.select(FollowUp).where(FollowUp.complaint_id == c["id"]).order_by(FollowUp.id)
    ).all()
    assert [f.status for f in records] == [
        "received",
        "confirmed",
        "assessed",
        "negotiated",
        "resolved",
        "followed_up",
    ]
    assert records[0].channel == "email" and records[0].direction == "inbound"
    assert "Assessed to Negotiated" in records[3].summary and "negotiated ok" in records[3].summary


def test_the_detail_page_moves_to_the_next_step_and_shows_the_history(client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    assert _new(client, customer.id, channel="web").status_code == 302
    complaint = db.scalar(sa.select(Complaint))
    page = f"/complaints/{complaint.id}"
    r = client.post(
        f"{page}/step",
        data={"csrf_token": csrf_token(client, page), "step": "confirmed", "note": "Called back"},
    )
    assert r.status_code == 302
    skip = client.post(
        f"{page}/step", data={"csrf_token": csrf_token(client, page), "step": "resolved"}
    )
    assert skip.status_code == 409
    assert "A step cannot be skipped" in skip.get_data(as_text=True)
    body = client.get(page).get_data(as_text=True)
    assert "Called back" in body and "Mark as Assessed" in body
    assert body.index("Complaint received") < body.index("Received to Confirmed")


def test_overdue_complaints_for_the_work_list(db, make_user):
    agent, other = make_user("agent"), make_user("agent")
    director = make_user("director")
    mine, theirs = _customer(db, agent, "Mine"), _customer(db, other, "Theirs")
    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    def complaint(customer, due_days_ago, step="received"):
        c = Complaint(
            customer_id=customer.id,
            owner_id=customer.owner_id,
            channel="call",
            content="x",
            step=step,
            step_due_at=None if due_days_ago is None else now - timedelta(days=due_days_ago),
        )
        db.add(c)
        return c

    late = complaint(mine, 2)
    later = complaint(mine, 5, "assessed")
    complaint(mine, -1)  # due tomorrow
    complaint(mine, 9, "followed_up")
    complaint(mine, None, "followed_up")
    their_late = complaint(theirs, 1)
    db.commit()
    assert [c.id for c in overdue_complaints(db, agent, now)] == [later.id, late.id]
    assert [c.id for c in overdue_complaints(db, director, now)] == [
        later.id,
        late.id,
        their_late.id,
    ]
    assert overdue_count(db, agent, now) == 2 and overdue_count(db, director, now) == 3


# --- fields and references -----------------------------------------------------------------------


def test_every_bad_field_is_named_and_references_must_be_the_customers(director_api, db):
    client, me = director_api
    customer = _customer(db, me, contacts=["Amy"])
    other = _customer(db, me, "Other", contacts=["Bob"])
    foreign = Order(customer_id=other.id, contract_number="O-1", order_date=date(2026, 1, 1))
    db.add(foreign)
    db.commit()
    r = client.post(
        "/complaints",
        json={
            "channel": "fax",
            "content": "",
            "ask_discount_percent": 120,
            "ask_compensation": "a lot",
            "ask_return_quantity": -1,
        },
    )
    assert r.status_code == 422
    assert set(error_fields(r)) == {
        "customer_id",
        "channel",
        "content",
        "ask_discount_percent",
        "ask_compensation",
        "ask_return_quantity",
    }
    r = client.post(
        "/complaints",
        json={
            "customer_id": customer.id,
            "channel": "visit",
            "content": "Broken",
            "order_id": foreign.id,
            "contact_id": other.contacts[0].id,
        },
    )
    assert r.status_code == 422
    assert set(error_fields(r)) == {"order_id", "contact_id"}
    own = Order(customer_id=customer.id, contract_number="O-2", order_date=date(2026, 1, 1))
    db.add(own)
    db.commit()
    r = created(
        client,
        "/complaints",
        {
            "customer_id": customer.id,
            "channel": "visit",
            "content": "Broken",
            "order_id": own.id,
            "contact_id": customer.contacts[0].id,
        },
    )
    assert r["order_id"] == own.id
    changed(client, f"/complaints/{r['id']}", {"stp": "x"}, status=422)


def test_list_filters_by_step_overdue_and_owner(client, signed_in, make_user, db):
    me = signed_in("director")
    rep = make_user("agent", name="Rep Zhao")
    a, b = _customer(db, me, "Alpha"), _customer(db, rep, "Beta")
    create_complaint(
        db, db.merge(me), db.get(Customer, a.id), {"channel": "call", "content": "A late"}
    )
    fresh = create_complaint(
        db, db.merge(me), db.get(Customer, b.id), {"channel": "call", "content": "B fresh"}
    )
    advance_step(db, db.merge(me), fresh, "confirmed")
    late = db.scalar(sa.select(Complaint).where(Complaint.content == "A late"))
    late.step_due_at = datetime.now(UTC) - timedelta(hours=1)
    db.commit()
    overdue = client.get("/complaints?overdue=1").get_data(as_text=True)
    assert "Alpha" in overdue and "Beta" not in overdue and "overdue" in overdue
    confirmed = client.get("/complaints?step=confirmed").get_data(as_text=True)
    assert "Beta" in confirmed and "Alpha" not in confirmed
    by_owner = client.get(f"/complaints?owner={rep.id}").get_data(as_text=True)
    assert "Beta" in by_owner and "Alpha" not in by_owner


def test_agents_get_403_on_another_agents_complaints(app, client, signed_in, make_user, db):
    me = signed_in("agent")
    other = make_user("agent")
    theirs = _customer(db, other, "Not yours")
    complaint = create_complaint(
        db, db.merge(other), db.get(Customer, theirs.id), {"channel": "sms", "content": "Late"}
    )
    db.commit()
    assert client.get(f"/complaints/{complaint.id}").status_code == 403
    assert client.get(f"/complaints/{complaint.id}/edit").status_code == 403
    assert client.get(f"/customers/{theirs.id}/complaints/new").status_code == 403
    assert "Not yours" not in client.get("/complaints").get_data(as_text=True)
    mine = api_as(app, me)
    assert mine.get(f"/complaints/{complaint.id}").status_code == 403
    assert mine.patch(f"/complaints/{complaint.id}", json={"step": "confirmed"}).status_code == 403
    assert items(mine, "/complaints") == []
    r = mine.post("/complaints", json={"customer_id": theirs.id, "channel": "call", "content": "x"})
    assert r.status_code == 403
    # A customer specialist records and works complaints on any customer.
    specialist = api_as(app, make_user("specialist"))
    r = created(
        specialist, "/complaints", {"customer_id": theirs.id, "channel": "call", "content": "Noisy"}
    )
    assert r["owner_id"] == other.id
    assert changed(specialist, f"/complaints/{r['id']}", {"step": "confirmed"})["step"] == "confirmed"


def test_the_edit_page_changes_fields_and_names_a_foreign_order(app, client, signed_in, db):
    me = signed_in("agent")
    customer = _customer(db, me)
    elsewhere = _customer(db, me, "Elsewhere")
    foreign = Order(customer_id=elsewhere.id, contract_number="F-1", order_date=date(2026, 1, 1))
    db.add(foreign)
    db.commit()
    assert _new(client, customer.id).status_code == 302
    complaint = db.scalar(sa.select(Complaint))
    page = f"/complaints/{complaint.id}/edit"
    before = _files(app)
    fields = {
        "channel": "call",
        "content": "The valves leak after two weeks.",
        "product": "Valve DN50",
        "order_id": str(foreign.id),
        "csrf_token": csrf_token(client, page),
        "attachments": [(io.BytesIO(PNG), "leak.png")],
    }
    r = client.post(page, data=fields, content_type="multipart/form-data")
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert 'id="order_id-error"' in body and "not an order of this customer" in body
    assert "Nothing was saved; choose the files again." in body
    assert fresh(db, Complaint, complaint.id).product is None and _files(app) == before
    fields.update(order_id="", attachments=[(io.BytesIO(PNG), "leak.png")])
    r = client.post(page, data=fields, content_type="multipart/form-data")
    assert r.status_code == 302
    complaint = fresh(db, Complaint, complaint.id)
    assert complaint.product == "Valve DN50" and len(complaint.attachments) == 1


def test_the_api_document_is_built_from_the_declared_fields(director_api):
    client, _ = director_api
    paths = client.get("/openapi.json").json["paths"]
    patch = paths["/complaints/{id}"]["patch"]
    body = patch["requestBody"]["content"]["application/json"]["schema"]
    assert {"step", "note", "content", "order_id"} <= set(body["properties"])
    assert body["properties"]["step"]["enum"][0] == "received"
    assert "page-only" in patch["summary"]
    order = paths["/orders"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(order["required"]) == {"customer_id", "contract_number", "order_date", "lines"}
    assert "amount" not in order["properties"]  # computed, never sent
    assert set(order["properties"]["lines"]["items"]["properties"]) == {
        "product",
        "quantity",
        "unit_price",
    }
