"""Importing customers: encodings, headers, mapping, dry run, row report, refused rows, merging on
exact matches, re-importing, XLSX, and the background job with its progress."""

import csv
import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from hub.core import db as hubdb
from hub.core.auth import User
from hub.crm.customers.models import AuditEntry, Contact, Customer
from hub.crm.intake.import_files import detect_encoding, find_header, guess_mapping, iter_rows
from hub.crm.intake.import_jobs import enqueue_import, read_progress
from hub.crm.intake.import_models import ImportRun
from hub.crm.intake.import_run_files import read_report, refused_path
from hub.crm.intake.imports import begin, execute_import, set_mapping, start_import

HEADERS = ["客户名称", "联系人", "手机", "座机", "邮箱", "城市", "行业", "备注"]


def csv_bytes(rows, encoding="utf-8", headers=HEADERS):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def instance(app) -> Path:
    return Path(app.config["INSTANCE_DIR"])


def upload(app, user, data: bytes, filename="customers.csv", stage="lead"):
    with hubdb.session_scope(app) as s:
        actor = s.get(User, user.id)
        run = start_import(s, actor, filename, io.BytesIO(data), instance(app))
        set_mapping(s, actor, run, run.mapping, stage)
        return run.id


def downloaded_refused(app, run_id, lang="en"):
    """The refused rows as a download gives them, worded in `lang`."""
    from flask_babel import force_locale

    from hub.crm.intake.import_run_files import refused_csv

    with app.test_request_context(), force_locale(lang):
        text = "".join(refused_csv(instance(app), run_id))
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def run_now(app, run_id, dry_run=False):
    with app.extensions["hub.core.db"]() as s:
        return execute_import(s, run_id, dry_run, instance(app), "CN")


ROWS = [
    [
        "深圳华强电子有限公司",
        "张三",
        "１３８ ００１３ ８０００",
        "0755-8888 6666",
        "zs@huaqiang.cn",
        "深圳",
        "电子",
        "老客户",
    ],
    ["上海申通物流有限责任公司", "李四", "13900139000", "", "", "上海", "物流", ""],
    # the same company as row 2 (its mobile written another way): merged, not created
    ["深圳华强电子股份有限公司", "", "+86 138-0013-8000", "", "", "", "", ""],
    ["", "", "13700137000", "", "", "", "", ""],  # no name at all: refused
    ["北京某某科技", "王五", "12345", "", "", "北京", "", ""],  # bad phone: refused
    ["杭州某某贸易", "赵六", "", "", "zhao@", "杭州", "", ""],  # bad email: refused
    ["", "", "", "", "", "", "", ""],  # blank line: skipped, not refused
    ["广州白云商行", "", "", "", "INFO@BaiYun.cn", "广州", "", ""],
    ["广州白云商行 分店", "", "", "", "info@baiyun.cn", "", "", ""],  # email without case: merged
]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
    ],
)
def test_encodings_are_detected_and_the_rows_read_back(tmp_path, encoding, expected):
    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes(ROWS[:2], encoding))
    assert detect_encoding(path) == expected
    rows = list(iter_rows(path, "csv", detect_encoding(path)))
    assert rows[0] == HEADERS
    assert rows[1][0] == "深圳华强电子有限公司"
    assert rows[1][2] == "138 0013 8000"  # full-width digits and spaces made plain


def test_utf8_with_a_bad_byte_late_in_the_file_is_read_as_gb18030(tmp_path):
    path = tmp_path / "x.csv"
    big = csv_bytes([[f"公司{i}", "", "13800138000"] + [""] * 5 for i in range(20000)])
    path.write_bytes(big + "最后一行".encode("gb18030"))
    assert detect_encoding(path) == "gb18030"


def test_header_found_under_a_title_line_and_mapped_from_chinese_and_english():
    rows = [
        ["客户名单 2026年3月"],
        [],
        ["序号", "公司名称", "联系人", "手机号码(必填)", "E-mail", "地址", "备注"],
    ]
    assert find_header(rows) == 2
    assert guess_mapping(rows[2]) == [
        "",
        "name",
        "contact_name",
        "phone",
        "email",
        "address",
        "notes",
    ]
    assert guess_mapping(["Company", "Contact Person", "Mobile", "Landline", "Email", "City"]) == [
        "name",
        "contact_name",
        "phone",
        "phone",
        "email",
        "city",
    ]
    # a field that may appear once goes to its first column only; phones may repeat
    assert guess_mapping(["公司", "客户名称", "电话", "手机"]) == ["name", "", "phone", "phone"]


def test_dry_run_counts_what_would_happen_and_stores_nothing(app, db, make_user):
    user = make_user("agent")
    run_id = upload(app, user, csv_bytes(ROWS, "gb18030"))
    counts = run_now(app, run_id, dry_run=True)
    assert counts == {
        "created": 3,
        "updated": 0,
        "merged": 2,
        "unchanged": 0,
        "refused": 3,
        "queued": 0,
    }
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0
    run = db.get(ImportRun, run_id)
    assert run.status == "checked" and run.dry_run_counts == counts and run.counts is None
    # the report is there after a dry run too
    assert [r[0] for r in read_report(instance(app), run_id)] == ["5", "6", "7"]


def test_import_creates_merges_reports_and_refuses_rows_whole(app, db, make_user):
    user = make_user("agent")
    run_id = upload(app, user, csv_bytes(ROWS, "gb18030"))
    counts = run_now(app, run_id)
    assert (counts["created"], counts["merged"], counts["refused"]) == (3, 2, 3)

    customers = {c.name: c for c in db.scalars(sa.select(Customer))}
    assert set(customers) == {"深圳华强电子有限公司", "上海申通物流有限责任公司", "广州白云商行"}
    hq = customers["深圳华强电子有限公司"]
    assert hq.phone == "+8675588886666"  # the company's landline on the customer
    assert hq.owner_id == user.id and hq.stage == "lead" and hq.lead_source == "import"
    assert hq.city == "深圳" and hq.industry == "电子"
    (zhang,) = hq.contacts
    assert (zhang.name, zhang.phone, zhang.email) == ("张三", "+8613800138000", "zs@huaqiang.cn")
    # the merged row's other spelling of the name is kept, not lost
    assert "深圳华强电子股份有限公司" in hq.notes and "老客户" in hq.notes
    by = customers["广州白云商行"]
    assert by.email == "INFO@baiyun.cn"
    assert "广州白云商行 分店" in by.notes
    # nothing of the refused rows is stored: not the phone of the row without a name either
    assert db.scalar(sa.select(Contact).where(Contact.phone == "+8613700137000")) is None

    report = read_report(instance(app), run_id)
    assert report == [
        ["5", "客户名称", "No customer name and no contact person: the row has no name at all."],
        ["6", "手机", "12345 is not a valid phone number."],
        ["7", "邮箱", "zhao@ is not a valid email address."],
    ]
    refused = downloaded_refused(app, run_id)
    assert refused[0] == HEADERS + ["Error"]
    assert refused[2][:3] == ["北京某某科技", "王五", "12345"]  # as typed
    assert refused[2][-1] == "手机: 12345 is not a valid phone number."
    # every created or merged row is in the audit trail with its row number
    rows = sorted(e.changes["row"] for e in db.scalars(sa.select(AuditEntry)))
    assert rows == [2, 3, 4, 9, 10]


def test_importing_the_same_file_again_changes_nothing(app, db, make_user):
    user = make_user("agent")
    data = csv_bytes(ROWS, "gb18030")
    run_now(app, upload(app, user, data))
    before = _snapshot(db)
    counts = run_now(app, upload(app, user, data))
    assert counts["created"] == counts["updated"] == counts["merged"] == 0
    assert counts["unchanged"] == 5 and counts["refused"] == 3
    db.expire_all()
    assert _snapshot(db) == before


def test_new_details_for_a_known_customer_update_it_without_overwriting(app, db, make_user):
    user = make_user("agent")
    run_now(app, upload(app, user, csv_bytes(ROWS[:1])))
    again = [
        ["深圳华强电子有限公司", "张三", "13800138000", "", "", "广州", "", ""],
        ["深圳华强电子有限公司", "", "13800138000 / 13500135000", "", "", "", "", ""],
    ]
    counts = run_now(app, upload(app, user, csv_bytes(again)))
    assert (counts["updated"], counts["unchanged"]) == (2, 0)
    hq = db.scalar(sa.select(Customer))
    assert hq.city == "深圳"  # stored value kept
    assert "广州" in hq.notes  # the other value noted
    assert sorted(c.phone for c in hq.contacts) == ["+8613500135000", "+8613800138000"]


def test_xlsx_import(app, db, make_user, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Company", "Contact", "Mobile", "Email"])
    ws.append(["Acme Co., Ltd.", "Li Ming", 13800138000, "li@acme.com"])  # a numeric cell
    ws.append(["@SUM(1+1)*cmd", "", "bad", ""])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    user = make_user("director")
    run_id = upload(app, user, path.read_bytes(), "c.xlsx")
    counts = run_now(app, run_id)
    assert (counts["created"], counts["refused"]) == (1, 1)
    (contact,) = db.scalars(sa.select(Contact))
    assert contact.phone == "+8613800138000"
    with refused_path(instance(app), run_id).open(encoding="utf-8-sig") as f:
        assert "'@SUM(1+1)*cmd" in f.read()  # the refused file cannot run what it carries
    # nor can the error column of the download, which quotes the value back
    (_header, row) = downloaded_refused(app, run_id)
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_unreadable_uploads_are_refused_with_the_reason(app, make_user):
    user = make_user("agent")
    from hub.core.refusals import ValidationError

    with hubdb.session_scope(app) as s, pytest.raises(ValidationError) as err:
        start_import(s, s.get(User, user.id), "old.xls", io.BytesIO(b"x"), instance(app))
    assert "xlsx" in err.value.as_dict()["file"]
    with hubdb.session_scope(app) as s, pytest.raises(ValidationError) as err:
        start_import(s, s.get(User, user.id), "x.xlsx", io.BytesIO(b"not a zip"), instance(app))
    assert err.value.as_dict()["file"] == "The file is not a readable .xlsx workbook."
    with hubdb.session_scope(app) as s, pytest.raises(ValidationError) as err:
        start_import(s, s.get(User, user.id), "x.csv", io.BytesIO(b"\n\n"), instance(app))
    assert err.value.as_dict()["file"] == "The file is empty."


def test_mapping_must_name_who_and_cannot_repeat_single_fields(app, make_user):
    from hub.core.refusals import ValidationError

    user = make_user("agent")
    run_id = upload(app, user, csv_bytes(ROWS[:1]))
    with hubdb.session_scope(app) as s:
        run, actor = s.get(ImportRun, run_id), s.get(User, user.id)
        with pytest.raises(ValidationError) as err:
            set_mapping(
                s, actor, run, ["", "", "phone", "phone", "email", "city", "city", ""], "lead"
            )
        assert set(err.value.as_dict()) == {"mapping", "mapping.6"}
        with pytest.raises(ValidationError) as err:
            set_mapping(s, actor, run, run.mapping, "lead", owner_id=actor.id + 1)
        assert "owner_id" in err.value.as_dict()


def test_the_import_runs_in_a_background_job_with_progress(
    app, db, make_user, run_jobs, redis_conn
):
    user = make_user("agent")
    run_id = upload(app, user, csv_bytes(ROWS * 120))  # 960 rows and 120 blank: two chunks
    with hubdb.session_scope(app) as s:
        begin(s, s.get(ImportRun, run_id), dry_run=False)
    with app.app_context():
        enqueue_import(run_id, dry_run=False, connection=redis_conn)
    run_jobs()
    with app.app_context():
        assert read_progress(run_id, redis_conn) == (960, 960)
    run = db.get(ImportRun, run_id)
    assert run.status == "done", run.error
    assert run.counts["created"] == 3 and run.counts["refused"] == 3 * 120
    assert run.counts["merged"] == 2 + 5 * 119


def _snapshot(db):
    customers = db.execute(sa.select(Customer.__table__)).all()
    contacts = db.execute(sa.select(Contact.__table__)).all()
    return customers, contacts


def test_a_number_with_an_extension_lands_on_a_contact_with_its_extension(app, db, make_user):
    user = make_user("agent")
    rows = [
        ["北京远洋贸易有限公司", "刘洋", "13800138000", "010-6552 9988 转 123", "", "北京", "", ""],
        ["Pacific Traders", "", "", "+1 415 555 0100 ext. 45", "", "", "", ""],
    ]
    data = csv_bytes(rows)
    counts = run_now(app, upload(app, user, data))
    assert (counts["created"], counts["refused"]) == (2, 0)
    contacts = sorted(
        (c.customer.name, c.name, c.phone, c.phone_ext) for c in db.scalars(sa.select(Contact))
    )
    # the mobile is the person's; the extension line is theirs too, on a contact of its own
    assert contacts == [
        ("Pacific Traders", "Pacific Traders", "+14155550100", "45"),
        ("北京远洋贸易有限公司", "刘洋", "+861065529988", "123"),
        ("北京远洋贸易有限公司", "刘洋", "+8613800138000", None),
    ]
    before = _snapshot(db)
    again = run_now(app, upload(app, user, data))
    assert again["unchanged"] == 2
    db.expire_all()
    assert _snapshot(db) == before
