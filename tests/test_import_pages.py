"""The import pages and `hub import customers`: upload, mapping, dry run, import, report, files."""

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from hub.crm.customers.models import Customer
from tests.conftest import csrf_token

HEADERS = ["公司名称", "联系人", "手机号码", "邮箱", "城市"]
ROWS = [
    ["深圳华强电子有限公司", "张三", "13800138000", "zs@huaqiang.cn", "深圳"],
    ["深圳华强电子股份有限公司", "", "138-0013-8000", "", ""],
    ["<script>alert(1)</script>", "", "12345", "", ""],
    ["杭州贸易", "", "", "", "杭州"],
]


def gb18030_csv(rows=ROWS, headers=HEADERS):
    out = io.StringIO(newline="")
    w = csv.writer(out)
    w.writerow(["客户导出 2026-03"])  # a title line above the headings
    w.writerow(headers)
    w.writerows(rows)
    return out.getvalue().encode("gb18030")


def _upload(client, data, name="客户.csv"):
    token = csrf_token(client, "/imports")
    return client.post(
        "/imports",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _confirm(client, run_url, action, mapping):
    form = {"csrf_token": csrf_token(client, run_url), "action": action, "stage": "lead"}
    form.update({f"column.{i}": t for i, t in enumerate(mapping)})
    return client.post(run_url, data=form)


def test_upload_map_dry_run_then_import_from_the_page(client, signed_in, run_jobs, db):
    user = signed_in("agent")
    response = _upload(client, gb18030_csv())
    assert response.status_code == 302
    run_url = response.headers["Location"]
    page = client.get(run_url).get_data(as_text=True)
    assert "Headings read from row 2" in page
    # the columns are recognised and pre-selected
    for i, target in enumerate(["name", "contact_name", "phone", "email", "city"]):
        assert f'name="column.{i}"' in page
        assert f'<option value="{target}" selected>' in page
    assert "13800138000" in page  # an example under its column
    assert "&lt;script&gt;" in page and "<script>alert" not in page

    mapping = ["name", "contact_name", "phone", "email", "city"]
    assert _confirm(client, run_url, "dry_run", mapping).status_code == 302
    page = client.get(run_url).get_data(as_text=True)
    assert 'http-equiv="refresh"' in page  # live progress while it runs
    run_jobs()
    page = client.get(run_url).get_data(as_text=True)
    assert "Dry run: what the import would do" in page
    assert '<td data-outcome="created">2</td>' in page
    assert '<td data-outcome="merged">1</td>' in page
    assert '<td data-outcome="refused">1</td>' in page
    assert "12345 is not a valid phone number." in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0

    assert _confirm(client, run_url, "import", mapping).status_code == 302
    run_jobs()
    page = client.get(run_url).get_data(as_text=True)
    assert "Import result" in page
    names = set(db.scalars(sa.select(Customer.name)))
    assert names == {"深圳华强电子有限公司", "杭州贸易"}
    assert all(c.owner_id == user.id for c in db.scalars(sa.select(Customer)))

    refused = client.get(run_url + "/refused.csv")
    assert refused.status_code == 200
    assert "attachment" in refused.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(refused.get_data().decode("utf-8-sig"))))
    assert rows[0] == HEADERS + ["Error"]
    assert rows[1][0] == "<script>alert(1)</script>" and rows[1][-1].startswith("手机号码: 12345")
    report = client.get(run_url + "/report.csv").get_data().decode("utf-8-sig")
    assert "5,手机号码,12345 is not a valid phone number." in report

    # once imported, the mapping is closed: importing again takes a new upload
    assert _confirm(client, run_url, "import", mapping).status_code == 422
    listing = client.get("/imports").get_data(as_text=True)
    assert "客户.csv" in listing and "imported" in listing


def test_page_errors_name_the_problem(client, signed_in):
    signed_in("agent")
    response = _upload(client, b"x", "list.xls")
    assert response.status_code == 422
    assert "save the file as .xlsx or CSV" in response.get_data(as_text=True)
    run_url = _upload(client, gb18030_csv())
    run_url = run_url.headers["Location"]
    response = _confirm(client, run_url, "dry_run", ["", "", "phone", "email", "city"])
    assert response.status_code == 422
    assert "Choose the column with the customer&#39;s or contact&#39;s name." in response.get_data(
        as_text=True
    )


def test_imports_are_their_starters_and_specialists_import_nothing(client, signed_in, app):
    signed_in("agent")
    run_url = _upload(client, gb18030_csv()).headers["Location"]
    client.post("/logout", data={"csrf_token": csrf_token(client, "/imports")})
    signed_in("agent")
    assert client.get(run_url).status_code == 403
    assert client.get(run_url + "/refused.csv").status_code == 403
    assert client.get("/imports/99999").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/imports")})
    signed_in("specialist")
    assert "Upload a spreadsheet" not in client.get("/imports").get_data(as_text=True)
    assert _upload(client, gb18030_csv()).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/imports")})
    signed_in("director")
    assert client.get(run_url).status_code == 200


def test_the_page_speaks_chinese(client, signed_in):
    signed_in("agent", locale="zh_Hans")
    run_url = _upload(client, gb18030_csv()).headers["Location"]
    page = client.get(run_url).get_data(as_text=True)
    assert "导入为" in page and "试运行" in page


def test_hub_import_customers_with_a_progress_bar(app, env_for_subprocess, make_user, tmp_path, db):
    make_user("agent", email="rep@example.com")
    path = tmp_path / "客户.csv"
    path.write_bytes(gb18030_csv())
    args = [
        sys.executable,
        "-m",
        "hub",
        "import",
        "customers",
        str(path),
        "--user",
        "rep@example.com",
    ]
    dry = subprocess.run(
        args + ["--dry-run"], env=env_for_subprocess, capture_output=True, text=True, timeout=120
    )
    assert dry.returncode == 0, dry.stderr
    assert "手机号码 -> Phone" in dry.stdout
    assert "created: 2" in dry.stdout and "refused: 1" in dry.stdout
    assert "dry run" in dry.stdout  # the progress bar's label
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    done = subprocess.run(args, env=env_for_subprocess, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "refused rows: " in done.stdout
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 2
    again = subprocess.run(
        args, env=env_for_subprocess, capture_output=True, text=True, timeout=120
    )
    assert "created: 0" in again.stdout and "unchanged: 3" in again.stdout

    bad = subprocess.run(
        args[:-1] + ["nobody@example.com"],
        env=env_for_subprocess,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode != 0 and "no active user nobody@example.com" in bad.stderr


def test_files_older_than_the_setting_are_deleted_by_the_scheduled_job(
    app, client, signed_in, run_jobs, db, redis_conn
):
    from datetime import timedelta

    from hub.core.clock import utcnow
    from hub.crm.intake.import_models import ImportRun
    from hub.crm.intake.import_run_files import refused_path, report_path, source_path
    from hub.runtime.schedule import PERIODIC, enqueue_due

    signed_in("agent")
    old_url = _upload(client, gb18030_csv()).headers["Location"]
    mapping = ["name", "contact_name", "phone", "email", "city"]
    _confirm(client, old_url, "import", mapping)
    run_jobs()
    new_url = _upload(client, gb18030_csv()).headers["Location"]
    old_id, new_id = (int(u.rsplit("/", 1)[1]) for u in (old_url, new_url))
    instance = Path(app.config["INSTANCE_DIR"])
    # the first was uploaded 31 days ago, the second today; the default keeps files 30 days
    db.get(ImportRun, old_id).created_at = utcnow() - timedelta(days=31)
    db.commit()
    old = db.get(ImportRun, old_id)
    assert source_path(instance, old).exists() and refused_path(instance, old_id).exists()

    job = tuple(p for p in PERIODIC if p.name == "import-files")
    assert enqueue_due(redis_conn, now=utcnow().replace(hour=4).timestamp(), periodic=job) == [
        "import-files"
    ]
    run_jobs()
    db.expire_all()
    old, new = db.get(ImportRun, old_id), db.get(ImportRun, new_id)
    assert old.files_deleted_at is not None and new.files_deleted_at is None
    assert not source_path(instance, old).exists() and not refused_path(instance, old_id).exists()
    assert report_path(instance, old_id).exists()  # the report of problems stays
    assert source_path(instance, new).exists()

    page = client.get(old_url).get_data(as_text=True)
    assert "The uploaded file and its refused rows were deleted on" in page
    assert "(they are kept 30 days)" in page
    assert "Download the refused rows" not in page
    assert '<td data-outcome="created">2</td>' in page  # the counts stay
    response = client.get(old_url + "/refused.csv")
    assert response.status_code == 404
    assert "The refused rows have expired." in response.get_data(as_text=True)
    # the run cannot run again; the fresh one still can
    db.get(ImportRun, old_id).counts = None
    db.commit()
    page = client.get(old_url).get_data(as_text=True)
    assert 'name="column.0"' not in page  # no mapping to change without the file
    response = _confirm(client, old_url, "dry_run", mapping)
    assert response.status_code == 422
    assert "The uploaded file has expired; upload it again." in response.get_data(as_text=True)
    assert 'name="column.0"' in client.get(new_url).get_data(as_text=True)


def test_the_report_has_every_row_created_merged_unchanged_refused(client, signed_in, run_jobs, db):
    user = signed_in("agent")
    known = Customer(
        name="上海申通物流有限公司", phone="+8613900139000", city="上海", owner_id=user.id
    )
    db.add(known)
    db.commit()
    rows = [
        ["杭州新客户", "", "", "", "杭州"],  # row 3: created
        ["申通物流", "", "139 0013 9000", "", ""],  # row 4: the known customer's number
        ["上海申通物流有限公司", "", "13900139000", "", "上海"],  # row 5: nothing new
        ["坏行", "", "12345", "", ""],  # row 6: refused
    ]
    run_url = _upload(client, gb18030_csv(rows)).headers["Location"]
    assert _confirm(client, run_url, "import", HEADER_TARGETS).status_code == 302
    run_jobs()
    page = client.get(run_url).get_data(as_text=True)
    for outcome, count in (("created", 1), ("updated", 0), ("merged", 1), ("unchanged", 1),
                           ("refused", 1)):  # fmt: skip
        assert f'<td data-outcome="{outcome}">{count}</td>' in page
    created = db.scalar(sa.select(Customer).where(Customer.name == "杭州新客户"))
    table = {
        int(m[0]): m[1] for m in re.findall(r'<tr data-row="(\d+)" data-outcome="(\w+)">', page)
    }
    assert table == {3: "created", 4: "merged", 5: "unchanged", 6: "refused"}
    merged_row = page.split('<tr data-row="4"')[1].split("</tr>")[0]
    assert f'<a href="/customers/{known.id}">上海申通物流有限公司</a>' in merged_row
    assert "12345 is not a valid phone number." in page.split('<tr data-row="6"')[1]

    # filtered to one outcome; an unknown outcome says what it may be
    merged = client.get(run_url + "?outcome=merged").get_data(as_text=True)
    assert re.findall(r'data-row="(\d+)"', merged) == ["4"]
    wrong = client.get(run_url + "?outcome=moved").get_data(as_text=True)
    assert "Choose one of: created, updated, merged, unchanged, refused." in wrong

    response = client.get(run_url + "/rows.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert lines == [
        ["Row", "Outcome", "Customer id", "Customer", "Link", "Reason"],
        ["3", "created", str(created.id), "杭州新客户", f"http://localhost/customers/{created.id}", ""],
        ["4", "merged into an existing customer", str(known.id), "上海申通物流有限公司",
         f"http://localhost/customers/{known.id}", ""],
        ["5", "already there, unchanged", str(known.id), "上海申通物流有限公司",
         f"http://localhost/customers/{known.id}", ""],
        ["6", "refused", "", "", "", "手机号码: 12345 is not a valid phone number."],
    ]  # fmt: skip
    # the refused rows, to correct and import again, are still there
    refused = client.get(run_url + "/refused.csv").get_data().decode("utf-8-sig")
    assert refused.splitlines()[1].startswith("坏行,,12345")


HEADER_TARGETS = ["name", "contact_name", "phone", "email", "city"]
