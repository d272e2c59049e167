"""/api/v1 for getting customers in: imports (upload, mapping, dry run, commit, progress, report,
refused rows), the likely-duplicate queue, merges and their undo, and lead forms."""

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.crm.customers.duplicate_models import DuplicateCandidate
from hub.crm.customers.models import Customer
from hub.crm.followups.models import FollowUp
from hub.crm.intake.lead_forms import LeadForm
from tests.crm_helpers import api, token_for
from tests.crm_helpers import likely_pair as _pair
from tests.test_import_pages import gb18030_csv


def _api(app, client, make_user, role):
    user = make_user(role)
    return user, api(client, token_for(app, user))


def _upload(client, token, data, name="客户.csv", **form):
    return client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
        headers={"Authorization": f"Bearer {token}"},
    )


# --- imports -------------------------------------------------------------------------------------


def test_upload_dry_run_commit_report_and_refused_rows(app, client, make_user, db, run_jobs):
    agent = make_user("agent")
    token = token_for(app, agent)
    call = api(client, token)
    response = _upload(client, token, gb18030_csv())
    assert response.status_code == 201, response.get_json()
    run = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/imports/{run['id']}")
    assert run["status"] == "uploaded" and run["header_row"] == 2
    assert run["headers"] == ["公司名称", "联系人", "手机号码", "邮箱", "城市"]
    assert run["mapping"] == ["name", "contact_name", "phone", "email", "city"]

    # a dry run with a changed mapping: the city column skipped
    mapping = ["name", "contact_name", "phone", "email", ""]
    response = call.post(f"/imports/{run['id']}/dry-run", json={"mapping": mapping})
    assert response.status_code == 202
    assert response.get_json()["status"] == "checking"
    run_jobs()
    run = call.get(f"/imports/{run['id']}").get_json()
    assert run["status"] == "checked" and run["mapping"] == mapping
    assert run["dry_run_counts"]["created"] == 2
    assert run["dry_run_counts"]["merged"] == 1
    assert run["dry_run_counts"]["refused"] == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0

    response = call.post(f"/imports/{run['id']}/commit", json={})
    assert response.status_code == 202
    run_jobs()
    run = call.get(f"/imports/{run['id']}").get_json()
    assert run["status"] == "done" and run["counts"]["created"] == 2
    assert run["progress"]["total"] == 4
    names = set(db.scalars(sa.select(Customer.name)))
    assert names == {"深圳华强电子有限公司", "杭州贸易"}
    assert db.scalar(sa.select(Customer.city).where(Customer.name == "杭州贸易")) is None

    report = call.get(f"/imports/{run['id']}/report").get_json()
    assert report["next"] is None
    assert report["items"] == [
        {"row": 5, "column": "手机号码", "problem": "12345 is not a valid phone number."}
    ]
    response = call.get(f"/imports/{run['id']}/refused.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][-1] == "Error"
    assert rows[1][:3] == ["<script>alert(1)</script>", "", "12345"]
    assert "12345 is not a valid phone number." in rows[1][-1]

    # importing again is refused by name; the list shows the run
    response = call.post(f"/imports/{run['id']}/commit", json={})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["message"] == "This file has been imported."
    listed = call.get("/imports?limit=1").get_json()
    assert [r["id"] for r in listed["items"]] == [run["id"]] and listed["next"] is None


def test_the_report_pages_by_line(app, client, make_user, run_jobs):
    agent = make_user("agent")
    token = token_for(app, agent)
    call = api(client, token)
    rows = [[f"公司{i}", "", "12345", "", ""] for i in range(3)]
    run = _upload(client, token, gb18030_csv(rows)).get_json()
    call.post(f"/imports/{run['id']}/dry-run", json={})
    run_jobs()
    first = call.get(f"/imports/{run['id']}/report?limit=2").get_json()
    assert [i["row"] for i in first["items"]] == [3, 4]
    rest = client.get(first["next"], headers={"Authorization": f"Bearer {token}"}).get_json()
    assert [i["row"] for i in rest["items"]] == [5] and rest["next"] is None


def test_every_rows_outcome_by_outcome_with_its_customer(app, client, make_user, db, run_jobs):
    agent = make_user("agent")
    token = token_for(app, agent)
    call = api(client, token)
    run = _upload(client, token, gb18030_csv()).get_json()
    assert call.get(f"/imports/{run['id']}/rows").status_code == 404  # not run yet
    call.post(f"/imports/{run['id']}/commit", json={})
    run_jobs()
    run = call.get(f"/imports/{run['id']}").get_json()
    bearer = {"Authorization": f"Bearer {token}"}
    first = client.get(run["rows_url"] + "?limit=2", headers=bearer).get_json()
    rest = client.get(first["next"], headers=bearer).get_json()
    assert rest["next"] is None
    rows = first["items"] + rest["items"]
    huaqiang = db.scalar(sa.select(Customer.id).where(Customer.name == "深圳华强电子有限公司"))
    assert [(r["row"], r["outcome"], r["customer_id"]) for r in rows] == [
        (3, "created", huaqiang),
        (4, "merged", huaqiang),
        (5, "refused", None),
        (6, "created", huaqiang + 1),
    ]
    assert rows[1]["customer_url"] == f"http://localhost/customers/{huaqiang}"
    assert rows[2]["problems"] == [
        {"field": "手机号码", "message": "12345 is not a valid phone number."}
    ]
    refused = call.get(f"/imports/{run['id']}/rows?outcome=refused").get_json()
    assert [r["row"] for r in refused["items"]] == [5]
    wrong = call.get(f"/imports/{run['id']}/rows?outcome=moved")
    assert wrong.status_code == 422 and wrong.get_json()["errors"][0]["field"] == "outcome"


def test_upload_options_and_bad_input_are_named(app, client, make_user, db):
    director = make_user("director")
    agent = make_user("agent")
    token = token_for(app, director)
    call = api(client, token)
    response = _upload(
        client,
        token,
        gb18030_csv(),
        mapping=json.dumps(["name", "", "phone", "", ""]),
        stage="customer",
        owner_id=str(agent.id),
    )
    assert response.status_code == 201
    run = response.get_json()
    assert run["mapping"] == ["name", "", "phone", "", ""]
    assert run["stage"] == "customer" and run["owner_id"] == agent.id

    def errors(response):
        assert response.status_code == 422, response.get_data(as_text=True)
        return {e["field"]: e["message"] for e in response.get_json()["errors"]}

    found = errors(_upload(client, token, b"a,b\n1,2\n", name="list.pdf"))
    assert found == {"file": "Upload a CSV or an Excel (.xlsx) file."}
    assert "file" in errors(
        client.post("/api/v1/imports", headers={"Authorization": f"Bearer {token}"})
    )
    assert "mapping" in errors(_upload(client, token, gb18030_csv(), mapping="name,phone"))
    assert "owner_id" in errors(_upload(client, token, gb18030_csv(), owner_id="li"))
    url = f"/imports/{run['id']}/dry-run"
    found = errors(call.post(url, json={"mapping": ["name"], "stage": "vip", "colour": 1}))
    assert set(found) == {"colour", "mapping", "stage"}
    found = errors(call.post(url, json={"mapping": ["name", "name", "", "", "galaxy"]}))
    assert found == {"mapping.1": "Customer name is chosen twice.", "mapping.4": "Unknown field."}
    assert "body" in errors(call.post(url, data="[1]", content_type="application/json"))
    assert call.get("/imports/999999").status_code == 404
    # nothing ran: no report yet
    assert call.get(f"/imports/{run['id']}/report").status_code == 404
    assert call.get(f"/imports/{run['id']}/refused.csv").status_code == 404


def test_agents_see_only_their_imports_and_specialists_may_not_import(app, client, make_user):
    one, other = make_user("agent"), make_user("agent")
    specialist = make_user("specialist")
    run = _upload(client, token_for(app, one), gb18030_csv()).get_json()
    theirs = api(client, token_for(app, other))
    assert theirs.get(f"/imports/{run['id']}").status_code == 403
    assert theirs.post(f"/imports/{run['id']}/dry-run", json={}).status_code == 403
    assert theirs.get("/imports").get_json()["items"] == []
    response = _upload(client, token_for(app, specialist), gb18030_csv())
    assert response.status_code == 403
    assert "may not add customers" in response.get_json()["detail"]


# --- duplicates and merges -----------------------------------------------------------------------


def test_queue_merge_with_chosen_values_and_undo(app, client, make_user, db):
    director, call = _api(app, client, make_user, "director")
    a, b = _pair(app, director)
    queue = call.get("/duplicates").get_json()
    assert len(queue["items"]) == 1
    pair = queue["items"][0]
    assert {pair["first"]["id"], pair["second"]["id"]} == {a, b}
    assert pair["reason"] == "company" and pair["score"] >= 85
    assert call.get("/duplicates?q=西湖").get_json()["items"] == [pair]
    assert call.get("/duplicates?q=nothing").get_json()["items"] == []

    response = call.post(
        "/merges", json={"survivor_id": a, "merged_id": b, "choices": {"email": "merged"}}
    )
    assert response.status_code == 201, response.get_json()
    merge = response.get_json()
    assert merge["survivor_id"] == a and merge["merged_id"] == b
    assert merge["moved"]["contacts"] == 1 and merge["moved"]["follow_ups"] == 1
    db.expire_all()
    kept = db.get(Customer, a)
    assert kept.email == "tea@xihu.cn" and kept.phone is None  # only email was taken
    assert db.get(Customer, b) is None
    assert call.get("/duplicates").get_json()["items"] == []
    assert call.get(f"/merges/{merge['id']}").get_json() == merge
    assert call.get("/merges?q=股份").get_json()["items"] == [merge]

    response = call.post(f"/merges/{merge['id']}/undo")
    assert response.status_code == 200
    assert response.get_json()["undone_at"] is not None
    db.expire_all()
    assert db.get(Customer, b).email == "tea@xihu.cn" and db.get(Customer, a).email is None
    moved_back = db.scalar(sa.select(sa.func.count()).where(FollowUp.customer_id == b))
    assert moved_back == 1
    again = call.post(f"/merges/{merge['id']}/undo")
    assert again.status_code == 409
    assert again.get_json()["detail"] == "This merge has already been undone."


def test_dismiss_and_bad_merges_are_refused_with_reasons(app, client, make_user, db):
    director, call = _api(app, client, make_user, "director")
    a, b = _pair(app, director)
    pair_id = db.scalar(sa.select(DuplicateCandidate.id))
    response = call.post(f"/duplicates/{pair_id}/dismiss")
    assert response.status_code == 200 and response.get_json()["status"] == "dismissed"
    assert call.post(f"/duplicates/{pair_id}/dismiss").status_code == 409
    assert call.post("/duplicates/999999/dismiss").status_code == 404

    def errors(body):
        response = call.post("/merges", json=body)
        assert response.status_code == 422, response.get_data(as_text=True)
        return {e["field"]: e["message"] for e in response.get_json()["errors"]}

    assert errors({"survivor_id": a}) == {"merged_id": "Expected a customer's id."}
    assert set(errors({"survivor_id": "a", "merged_id": b, "extra": 1})) == {"survivor_id", "extra"}
    assert errors({"survivor_id": a, "merged_id": a}) == {
        "merged_id": "A customer cannot merge with itself."
    }
    assert "choice.phone" in errors({"survivor_id": a, "merged_id": b, "choices": {"phone": "x"}})
    assert "choices" in errors({"survivor_id": a, "merged_id": b, "choices": ["phone"]})
    missing = call.post("/merges", json={"survivor_id": a, "merged_id": 999999})
    assert missing.status_code == 404
    assert call.post("/merges/999999/undo").status_code == 404


def test_agents_may_not_use_the_queue_or_merge(app, client, make_user):
    agent, call = _api(app, client, make_user, "agent")
    a, b = _pair(app, agent)
    assert call.get("/duplicates").status_code == 403
    assert call.post("/merges", json={"survivor_id": a, "merged_id": b}).status_code == 403


# --- lead forms ----------------------------------------------------------------------------------


def test_lead_forms_list_create_revoke(app, client, make_user, db):
    admin, call = _api(app, client, make_user, "admin")
    agent = make_user("agent", email="li@example.com")
    response = call.post(
        "/lead-forms",
        json={"name": "官网表单", "owner_ids": [agent.id], "rules": "region: 华南 = li@example.com"},
    )
    assert response.status_code == 201, response.get_json()
    form = response.get_json()
    assert form["active"] and form["owner_ids"] == [agent.id]
    assert form["rules"] == [{"field": "region", "value": "华南", "owner_id": agent.id}]
    assert form["url"].endswith(f"/webhooks/leads/{form['key']}")
    # the key works
    lead = client.post(form["url"], json={"name": "王五", "phone": "13900139000"})
    assert lead.status_code == 201

    call.post("/lead-forms", json={"name": "展会", "owner_ids": [agent.id]})
    assert [f["name"] for f in call.get("/lead-forms").get_json()["items"]] == ["官网表单", "展会"]
    assert [f["name"] for f in call.get("/lead-forms?q=展").get_json()["items"]] == ["展会"]

    response = call.post(f"/lead-forms/{form['id']}/revoke")
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert client.post(form["url"], json={"name": "王五", "phone": "13900139000"}).status_code == 404
    assert call.post("/lead-forms/999999/revoke").status_code == 404

    response = call.post(
        "/lead-forms", json={"name": "", "owner_ids": [999999], "rules": "colour: red = x@y.z"}
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"name", "owner_ids", "rules"}
    response = call.post("/lead-forms", json={"name": "x", "owner_ids": "1", "rules": 3})
    assert {e["field"] for e in response.get_json()["errors"]} == {"owner_ids", "rules"}
    assert db.scalar(sa.select(sa.func.count()).select_from(LeadForm)) == 2


def test_lead_forms_are_for_admins(app, client, make_user):
    _director, call = _api(app, client, make_user, "director")
    assert call.get("/lead-forms").status_code == 403
    assert call.post("/lead-forms", json={"name": "x", "owner_ids": [1]}).status_code == 403


def test_an_expired_run_says_so_and_cannot_run_again(app, client, make_user, db, run_jobs):
    from hub.core.clock import utcnow
    from hub.crm.intake.import_expiry import expire_import_files

    agent = make_user("agent")
    token = token_for(app, agent)
    call = api(client, token)
    run = _upload(client, token, gb18030_csv()).get_json()
    call.post(f"/imports/{run['id']}/dry-run", json={})
    run_jobs()
    with hubdb.session_scope(app) as s:
        assert expire_import_files(s, Path(app.config["INSTANCE_DIR"]), 30) == []
        later = utcnow() + timedelta(days=31)
        assert expire_import_files(s, Path(app.config["INSTANCE_DIR"]), 30, later) == [run["id"]]
    assert call.get(f"/imports/{run['id']}").get_json()["files_expired"] is True
    response = call.post(f"/imports/{run['id']}/commit", json={"stage": "customer"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "file", "message": "The uploaded file has expired; upload it again."}
    ]
    response = call.get(f"/imports/{run['id']}/refused.csv")
    assert response.status_code == 404
    assert response.get_json()["detail"] == "The refused rows have expired."
    assert call.get(f"/imports/{run['id']}/report").status_code == 200  # the report stays
