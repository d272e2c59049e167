"""The issue's test: a 10,000-row GB18030 CSV with Chinese headers, full-width digits, mixed phone
formats, 5% invalid rows and 10% duplicates, imported by the background job; a second import of
the same file changes nothing."""

import csv
import io
import random

import sqlalchemy as sa

from hub.core import db as hubdb
from hub.core.auth import User
from hub.crm.customers.duplicate_models import DuplicateCandidate
from hub.crm.customers.models import Contact, Customer
from hub.crm.intake.import_jobs import enqueue_import
from hub.crm.intake.import_models import ImportRun
from hub.crm.intake.import_run_files import read_report
from hub.crm.intake.imports import begin, set_mapping, start_import
from tests.test_imports import instance

HEADERS = ["客户名称", "联系人", "手机", "座机", "邮箱", "城市", "行业", "备注"]
CITIES = {"深圳": "0755-2", "上海": "021-5", "北京": "010-6", "广州": "020-8", "杭州": "0571-8"}
POOL = "安邦宝博昌诚达鼎东丰福富广海瀚浩恒宏华汇佳嘉金锦景骏凯康坤朗利联隆茂美明南鹏奇启乾庆瑞润森盛顺泰天通万伟文祥鑫信星旭雅亚耀业怡益银英永优宇元远悦泽兆振正志中卓"
SUFFIXES = ["有限公司", "股份有限公司", "有限责任公司", "", " Co., Ltd."]
FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def _spell(mobile: str, rnd: random.Random) -> str:
    """One mobile number written one of the ways people write them."""
    style = rnd.randrange(5)
    if style == 0:
        return mobile.translate(FULL)
    if style == 1:
        return f"+86 {mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    if style == 2:
        return f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    if style == 3:
        return "86" + mobile
    return mobile


def make_file(seed: int = 7):
    """The CSV bytes and what a correct import must find in it."""
    rnd = random.Random(seed)
    uniques, rows = [], []
    names = set()
    while len(uniques) < 8500:
        city = rnd.choice(list(CITIES))
        stem = city + "".join(rnd.sample(POOL, 4))
        if stem in names:
            continue
        names.add(stem)
        n = len(uniques)
        mobile = f"13{n % 10}{(n * 7919) % 10**8:08d}"
        landline = f"{CITIES[city]}{n % 10}{n:06d}" if rnd.random() < 0.3 else ""
        email = f"buyer{n}@example{n % 50}.cn" if rnd.random() < 0.3 else ""
        row = [
            stem + rnd.choice(SUFFIXES),
            f"联系人{n}",
            _spell(mobile, rnd),
            landline,
            email,
            city,
            rnd.choice(["电子", "物流", "贸易", ""]),
            "",
        ]
        uniques.append((row, stem, mobile))
    rows = [u[0] for u in uniques]
    picks = rnd.sample(range(8500), 1000)
    exact, likely = picks[:700], picks[700:]
    for i in exact:
        row, stem, mobile = uniques[i]
        # The same customer again: another spelling of its mobile, another legal suffix.
        rows.append([stem + rnd.choice(SUFFIXES), "", _spell(mobile, rnd), "", "", row[5], "", ""])
    likely_pairs = []
    for j, i in enumerate(likely):
        row, stem, _mobile = uniques[i]
        other = f"15{'0123789'[j % 7]}{(j * 104729) % 10**8:08d}"  # 154 is not a mobile prefix
        # The same company by key, under another legal name, with another number: likely.
        copy = next(stem + x for x in ("股份有限公司", "有限公司") if stem + x != row[0])
        rows.append([copy, "", other, "", "", row[5], "", "分店?"])
        likely_pairs.append((row[0], copy))
    bad = []
    for k in range(500):
        kind = k % 4
        if kind == 0:
            bad.append(["", "", f"139{k:08d}", "", "", "深圳", "", "no name"])
        elif kind == 1:
            bad.append([f"坏号码{k}", "", f"12{k}", "", "", "上海", "", ""])
        elif kind == 2:
            bad.append([f"坏邮箱{k}", "", "", "", f"user{k}@", "北京", "", ""])
        else:
            bad.append([f"坏座机{k}", "", f"139{k:08d} / 0755-1", "", "", "广州", "", ""])
    rows.extend(bad)
    order = list(range(len(rows)))
    rnd.shuffle(order)
    shuffled = [rows[i] for i in order]
    # Spreadsheet row numbers (the header is row 1) of the invalid rows.
    bad_ids = {id(r) for r in bad}
    bad_rows = {n for n, r in enumerate(shuffled, start=2) if id(r) in bad_ids}
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(shuffled)
    data = out.getvalue().encode("gb18030")
    return data, bad_rows, likely_pairs


def _import(app, user, data, run_jobs, redis_conn):
    with hubdb.session_scope(app) as s:
        actor = s.get(User, user.id)
        run = start_import(s, actor, "客户导出.csv", io.BytesIO(data), instance(app))
        assert run.encoding == "gb18030"
        assert run.mapping == [
            "name",
            "contact_name",
            "phone",
            "phone",
            "email",
            "city",
            "industry",
            "notes",
        ]
        set_mapping(s, actor, run, run.mapping, "customer")
        begin(s, run, dry_run=False)
        run_id = run.id
    with app.app_context():
        enqueue_import(run_id, dry_run=False, connection=redis_conn)
    run_jobs()
    with app.extensions["hub.core.db"]() as s:
        run = s.get(ImportRun, run_id)
        assert run.status == "done", run.error
        return run_id, run.counts


def _everything(db):
    return (
        db.execute(sa.select(Customer.__table__).order_by(Customer.id)).all(),
        db.execute(sa.select(Contact.__table__).order_by(Contact.id)).all(),
        db.execute(sa.select(DuplicateCandidate.__table__).order_by(DuplicateCandidate.id)).all(),
    )


def test_ten_thousand_dirty_rows_import_and_a_second_import_changes_nothing(
    app, db, make_user, run_jobs, redis_conn
):
    data, bad_rows, likely_pairs = make_file()
    user = make_user("director")
    run_id, counts = _import(app, user, data, run_jobs, redis_conn)

    assert counts["refused"] == 500
    assert counts["created"] == 8500 + 300  # likely duplicates are not merged blindly...
    assert counts["merged"] == 700  # ...exact ones (the same mobile, any spelling) are
    assert counts["queued"] == 300  # ...and the likely ones wait for review
    assert counts["updated"] == counts["unchanged"] == 0
    # every invalid row is reported by its row number, and nothing of it stored
    report = read_report(instance(app), run_id, limit=10_000)
    assert {int(r[0]) for r in report} == bad_rows
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 8800
    assert db.scalar(sa.select(Customer).where(Customer.name.like("坏%"))) is None
    # every likely duplicate is queued against the customer it duplicates
    by_name = {n: i for n, i in db.execute(sa.select(Customer.name, Customer.id))}
    queued = {
        (a, b)
        for a, b in db.execute(sa.select(DuplicateCandidate.first_id, DuplicateCandidate.second_id))
    }
    for original, copy in likely_pairs:
        a, b = by_name[original], by_name[copy]
        assert (min(a, b), max(a, b)) in queued
    # phones are E.164 however they were written
    assert (
        db.scalar(
            sa.select(sa.func.count()).select_from(Contact).where(~Contact.phone.like("+86%"))
        )
        == 0
    )

    before = _everything(db)
    _run_id, again = _import(app, user, data, run_jobs, redis_conn)
    assert again == {
        "created": 0,
        "updated": 0,
        "merged": 0,
        "unchanged": 9500,
        "refused": 500,
        "queued": 0,
    }
    db.expire_all()
    assert _everything(db) == before
