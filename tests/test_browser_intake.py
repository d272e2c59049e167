"""Getting customers in, in a real browser, in English and in Chinese: a spreadsheet with Chinese
headings uploaded, a column's mapping changed, the dry run, the import, the report and the
refused rows downloaded; what became of each row, and a search that found a customer through
its contact; and the duplicate review: compare, pick values, merge, undo."""

import csv
import io

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from hub.crm.customers.duplicate_models import DuplicateCandidate
from hub.crm.customers.models import Contact, Customer
from tests.browser_kit import ARTIFACTS, new_page, sign_in
from tests.conftest import work
from tests.crm_helpers import likely_pair
from tests.test_import_pages import gb18030_csv

pytestmark = pytest.mark.browser

TEXT = {
    "en": {
        "locale": "en-US",
        "dry_run": "Dry run: what the import would do",
        "result": "Import result",
        "bad_phone": "12345 is not a valid phone number.",
        "error": "Error",
        "merged": "Merged. The merge can be undone on this page.",
        "undone": "The merge is undone: both customers are back as they were.",
        "merged_into": "merged into an existing customer",
        "matched": "matched: Li Wei (contact) · +86 150 9221 6676",
        "report_header": ["Row", "Outcome", "Customer id", "Customer", "Link", "Reason"],
    },
    "zh": {
        "locale": "zh-CN",
        "dry_run": "试运行：导入将会做什么",
        "result": "导入结果",
        "bad_phone": "12345 不是有效的电话号码。",
        "error": "错误",
        "merged": "已合并。可在本页撤销该合并。",
        "undone": "合并已撤销：两个客户已恢复原状。",
        "merged_into": "已合并到现有客户",
        "matched": "匹配： Li Wei （联系人） · +86 150 9221 6676",
        "report_header": ["行", "结果", "客户编号", "客户", "链接", "原因"],
    },
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_import_a_chinese_spreadsheet_from_the_page(
    browser, live_server, app, make_user, db, tmp_path, lang
):
    text = TEXT[lang]
    agent = make_user("agent")
    upload = tmp_path / "客户.csv"
    upload.write_bytes(gb18030_csv())
    page = new_page(browser, locale=text["locale"])
    sign_in(page, live_server, agent)
    page.goto(live_server + "/imports")
    page.locator("input[type=file][name=file]").set_input_files(str(upload))
    page.locator("form[enctype='multipart/form-data'] button.primary").click()
    page.wait_for_url("**/imports/*")
    # the Chinese headings were read and each column guessed
    assert page.locator("select[name='column.0']").input_value() == "name"
    assert page.locator("select[name='column.2']").input_value() == "phone"
    assert page.locator("select[name='column.4']").input_value() == "city"
    # the city column is not wanted this time
    page.locator("select[name='column.4']").select_option("")
    page.locator("button[value=dry_run]").click()
    page.wait_for_load_state()
    work(app)
    page.reload()
    assert text["dry_run"] in page.locator("main").inner_text()
    assert page.locator("td[data-outcome=created]").inner_text() == "2"
    assert page.locator("td[data-outcome=refused]").inner_text() == "1"
    assert page.locator("select[name='column.4']").input_value() == ""  # the change was kept
    assert db.scalar(sa.select(sa.func.count()).select_from(Customer)) == 0

    page.locator("button[value=import]").click()
    page.wait_for_load_state()
    work(app)
    page.reload()
    main = page.locator("main").inner_text()
    assert text["result"] in main and text["bad_phone"] in main
    assert page.locator("tr[data-outcome=refused] td").first.inner_text() == "5"  # the row number
    with page.expect_download() as info:
        page.locator("a[href$='/refused.csv']").click()
    refused = list(csv.reader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig"))))
    assert refused[0] == ["公司名称", "联系人", "手机号码", "邮箱", "城市", text["error"]]
    assert refused[1][:3] == ["<script>alert(1)</script>", "", "12345"]
    assert text["bad_phone"] in refused[1][-1]
    page.screenshot(path=ARTIFACTS / f"import-{lang}.png", full_page=True)
    db.expire_all()
    names = set(db.scalars(sa.select(Customer.name)))
    assert names == {"深圳华强电子有限公司", "杭州贸易"}
    assert db.scalar(sa.select(Customer.city).where(Customer.name == "杭州贸易")) is None


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_review_a_likely_duplicate_merge_picking_values_and_undo(
    browser, live_server, app, make_user, db, lang
):
    text = TEXT[lang]
    director = make_user("director")
    a, b = likely_pair(app, director)
    pair = db.scalar(sa.select(DuplicateCandidate.id))
    page = new_page(browser, locale=text["locale"])
    sign_in(page, live_server, director)
    page.goto(live_server + "/duplicates")
    page.locator(f"a[href='/duplicates/{pair}']").click()
    page.wait_for_url(f"**/duplicates/{pair}")
    # keep the first customer, with the second's email but the first's (empty) phone
    page.locator("input[name=survivor][value=first]").check()
    page.locator("input[name='choice.email'][value=second]").check()
    page.locator("input[name='choice.phone'][value=first]").check()
    page.screenshot(path=ARTIFACTS / f"duplicate-compare-{lang}.png", full_page=True)
    page.locator("form button.primary").click()
    page.wait_for_url("**/merges/*")
    assert text["merged"] in page.locator("main").inner_text()
    db.expire_all()
    kept = db.get(Customer, a)
    assert db.get(Customer, b) is None
    assert (kept.email, kept.phone) == ("tea@xihu.cn", None)
    assert [c.name for c in kept.contacts] == ["王茶"]

    page.locator("form[action$='/undo'] button").click()
    page.wait_for_url(f"**/customers/{b}")
    assert text["undone"] in page.locator("main").inner_text()
    db.expire_all()
    assert db.get(Customer, a).email is None
    assert [c.name for c in db.get(Customer, b).contacts] == ["王茶"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_import_report_links_each_row_and_the_list_says_why_a_row_matched(
    browser, live_server, app, make_user, db, tmp_path, lang
):
    text = TEXT[lang]
    agent = make_user("agent")
    known = Customer(name="上海申通物流有限公司", phone="+8613900139000", owner_id=agent.id)
    known.contacts.append(Contact(name="Li Wei", phone="+8615092216676"))
    db.add(known)
    db.commit()
    upload = tmp_path / "客户.csv"
    upload.write_bytes(
        gb18030_csv(
            [
                ["杭州新客户", "", "", "", "杭州"],  # row 3: created
                ["申通物流", "", "139 0013 9000", "", ""],  # row 4: merged into the known one
                ["上海申通物流有限公司", "", "13900139000", "", ""],  # row 5: unchanged
                ["坏行", "", "12345", "", ""],  # row 6: refused
            ]
        )
    )
    page = new_page(browser, locale=text["locale"])
    sign_in(page, live_server, agent)
    page.goto(live_server + "/imports")
    page.locator("input[type=file][name=file]").set_input_files(str(upload))
    page.locator("form[enctype='multipart/form-data'] button.primary").click()
    page.wait_for_url("**/imports/*")
    page.locator("button[value=import]").click()
    page.wait_for_load_state()
    work(app)
    page.reload()
    for outcome, count in (("created", "1"), ("merged", "1"), ("unchanged", "1"),
                           ("refused", "1")):  # fmt: skip
        expect(page.locator(f"td[data-outcome={outcome}]")).to_have_text(count)
    expect(page.locator("table.rows tbody tr")).to_have_count(4)

    # the count of merged rows leads to those rows, and the row to its customer
    page.locator("table.counts a", has_text=text["merged_into"]).click()
    expect(page.locator("table.rows tbody tr")).to_have_count(1)
    row = page.locator("tr[data-row='4']")
    expect(row).to_contain_text(text["merged_into"])
    with page.expect_download() as info:
        page.locator("#whole-report").click()
    lines = list(csv.reader(io.StringIO(info.value.path().read_bytes().decode("utf-8-sig"))))
    assert lines[0] == text["report_header"]
    assert [line[0] for line in lines[1:]] == ["3", "4", "5", "6"]
    assert lines[2][2:5] == [
        str(known.id),
        "上海申通物流有限公司",
        f"{live_server}/customers/{known.id}",
    ]
    page.screenshot(path=ARTIFACTS / f"import-rows-{lang}.png", full_page=True)
    row.locator("a").click()
    page.wait_for_url(f"**/customers/{known.id}")

    # the list, searched by the contact's number as people type it
    page.goto(live_server + "/customers")
    page.locator("input[name=q]").fill("150 9221 6676")
    page.locator("form[role=search] button[type=submit]").click()
    line = page.locator(".matched")
    expect(line).to_have_text(text["matched"])
    expect(line.locator("mark")).to_have_text("+86 150 9221 6676")
    expect(page.locator("table.list tbody tr")).to_have_count(1)
    page.screenshot(path=ARTIFACTS / f"customers-matched-{lang}.png", full_page=True)
