"""One way to show dates, numbers and stored codes: every page writes a date one way per
language, in the business's zone; CSV files write ISO 8601 on the same clock; a stored code
(a message status, a skip reason, a call outcome, a region, an import problem) reads in the
reader's language, whatever language it was stored in."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub.channels.models import Suppression
from hub.crm.customers.models import Customer
from hub.crm.followups.records import log_follow_up
from tests.campaign_helpers import add_customer
from tests.conftest import login
from tests.test_campaign_engine import hub_with_sim, make_campaign, run_to_end  # noqa: F401
from tests.test_imports import HEADERS, ROWS, csv_bytes, run_now, upload

AT = datetime(2026, 12, 5, 3, 3, tzinfo=UTC)  # an instant whose UTC day differs from nowhere
NEXT = date(2030, 12, 7)  # ahead of any day the suite runs on: a next contact may not be past
LATER = datetime(2030, 3, 1, 1, 30, tzinfo=UTC)

# The one format of each language (medium date; with the short time for an instant).
EN_DATE = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4}"
ZH_DATE = r"\d{4}年\d{1,2}月\d{1,2}日"
# What must not reach a page: "12/5/26"-style short dates and raw ISO dates or instants.
FOREIGN = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")


def visible_text(page: str) -> str:
    """What a reader sees: the page without tags, attributes, scripts and styles."""
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def local(app, instant: datetime) -> datetime:
    return instant.astimezone(ZoneInfo(app.config["SETTINGS"].timezone))


def en_datetime(app, instant: datetime) -> str:
    t = local(app, instant)
    return (
        f"{t:%b} {t.day}, {t.year}, {t.hour % 12 or 12}:{t:%M}\u202f{'AM' if t.hour < 12 else 'PM'}"
    )


def zh_datetime(app, instant: datetime) -> str:
    t = local(app, instant)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


@pytest.fixture
def customer_with_history(app, db, make_user):
    """A customer in Jiangsu (education) with two calls and a visit on the timeline."""
    owner = make_user("agent", name="Owner")
    c = Customer(name="Lakeside School", region="Jiangsu", industry="education", owner_id=owner.id)
    other = Customer(name="East Trading", region="华东", industry="food", owner_id=owner.id)
    db.add_all([c, other])
    db.flush()
    log_follow_up(db, None, c, "call", "Rang twice.", outcome="no answer", occurred_at=AT)
    log_follow_up(db, None, c, "call", "Left a message.", outcome="voicemail_left", occurred_at=AT)
    log_follow_up(
        db,
        None,
        c,
        "visit",
        "Brought samples.",
        outcome="客户说下周再联系",
        occurred_at=AT,
        next_contact_on=NEXT,
    )
    db.commit()
    return c.id


def _sign_in(client, make_user, locale):
    user = make_user("director", locale=locale)
    assert login(client, user.email).status_code == 302
    return user


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_every_date_on_a_customer_page_and_its_timeline_is_written_one_way(
    app, client, make_user, customer_with_history, locale
):
    _sign_in(client, make_user, locale)
    page = client.get(f"/customers/{customer_with_history}").get_data(as_text=True)
    text = visible_text(page)
    if locale == "en":
        assert en_datetime(app, AT) in text  # the timeline, in the business's zone
        assert "Next contact: Dec 7, 2030" in " ".join(text.split())
        assert re.search(EN_DATE, text)
    else:
        assert zh_datetime(app, AT) in text
        assert "2030年12月7日" in text
        assert not re.search(EN_DATE, text)
    assert FOREIGN.findall(text) == []


@pytest.mark.parametrize("locale", ["en", "zh_Hans"])
def test_the_flash_after_a_follow_up_writes_its_date_as_the_pages_do(
    app, client, make_user, customer_with_history, locale
):
    from tests.conftest import csrf_token

    _sign_in(client, make_user, locale)
    url = f"/customers/{customer_with_history}"
    answer = client.post(
        f"{url}/follow-ups",
        data={
            "csrf_token": csrf_token(client, url),
            "channel": "note",
            "summary": "x",
            "next_contact_on": "2027-01-15",
        },
        follow_redirects=True,
    )
    flash = re.search(r'class="flash[^"]*"[^>]*>(.*?)</', answer.get_data(as_text=True), re.S)
    assert flash, answer.get_data(as_text=True)[:2000]
    wanted = "Jan 15, 2027" if locale == "en" else "2027年1月15日"
    assert wanted in flash.group(1) and "2027-01-15" not in flash.group(1)


def test_campaign_page_dates_are_written_one_way(app, make_user, db):
    add_customer(db, "Dates Co", contacts=[{"name": "Dee", "email": "dee@example.com"}])
    db.commit()
    campaign_id = make_campaign(app, "email", send_at=LATER)  # scheduled: its start is shown
    for locale, pattern in (("en", EN_DATE), ("zh_Hans", ZH_DATE)):
        client = app.test_client()
        login(client, make_user("specialist", locale=locale).email)
        text = visible_text(client.get(f"/campaigns/{campaign_id}").get_data(as_text=True))
        assert (en_datetime(app, LATER) if locale == "en" else zh_datetime(app, LATER)) in text
        assert re.search(pattern, text)
        assert FOREIGN.findall(text) == []


# --- stored codes -----------------------------------------------------------------------------


def test_campaign_statuses_and_skip_reasons_read_in_the_readers_language(
    hub_with_sim,  # noqa: F811
    make_user,
    db,
):
    app, _sim = hub_with_sim
    add_customer(db, "Quiet Co", contacts=[{"name": "Sam", "email": "sam@example.com"}])
    add_customer(
        db,
        "Shy Co",
        contacts=[{"name": "Kim", "email": "kim@example.com", "consent": {"email": False}}],
    )
    db.add(Suppression(channel="email", address="sam@example.com", reason="unsubscribe"))
    db.commit()
    campaign_id = make_campaign(app, "email")
    run_to_end(app, campaign_id)
    client = app.test_client()
    login(client, make_user("specialist", locale="en").email)
    en = visible_text(client.get(f"/campaigns/{campaign_id}").get_data(as_text=True))
    assert "suppressed" in en and "on the suppression list" in en
    assert "skipped" in en and "consent refused for this channel" in en

    client = app.test_client()
    login(client, make_user("specialist", locale="zh_Hans").email)
    zh = visible_text(client.get(f"/campaigns/{campaign_id}").get_data(as_text=True))
    assert "已屏蔽" in zh and "在屏蔽名单上" in zh
    assert "已跳过" in zh and "已拒绝通过此渠道联系" in zh
    assert "suppression list" not in zh and "consent refused" not in zh
    # the CSV keeps the codes and writes its instant as ISO 8601 on the business's clock
    exported = client.get(f"/campaigns/{campaign_id}/not-sent.csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    exported.close()
    offset = local(app, AT).strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}"
    assert {r[4] for r in rows[1:]} == {"suppressed", "skipped"}
    for r in rows[1:]:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}" + re.escape(offset), r[6]), r


@pytest.mark.parametrize(
    ("locale", "words"),
    [("en", ["No answer", "Left a voicemail"]), ("zh_Hans", ["无人接听", "已留语音"])],
)
def test_call_outcomes_on_the_timeline_read_in_the_readers_language(
    client, make_user, customer_with_history, locale, words
):
    _sign_in(client, make_user, locale)
    page = client.get(f"/customers/{customer_with_history}").get_data(as_text=True)
    outcomes = re.findall(r'<ol class="timeline">.*?</ol>', page, re.S)[0]
    shown = sorted(re.findall(r"<em>(.*?)</em>", outcomes))
    # a stored "no answer" (old data) and a disposition code, named; typed text as typed
    assert shown == sorted([*words, "客户说下周再联系"])


@pytest.mark.parametrize(
    ("locale", "region", "industry"), [("en", "Jiangsu", "Education"), ("zh_Hans", "江苏", "教育")]
)
def test_regions_and_industries_read_in_the_readers_language(
    app, client, make_user, customer_with_history, locale, region, industry
):
    _sign_in(client, make_user, locale)
    listing = client.get("/customers").get_data(as_text=True)
    options = dict(re.findall(r'<option value="([^"]+)"\s*>([^<]+)</option>', listing))
    assert options.get("Jiangsu") == region  # the filter's option: the stored value, named
    assert options.get("华东") == "华东"  # a region typed by hand: as typed
    rows = visible_text(listing)
    assert region in rows
    filtered = client.get("/customers?region=Jiangsu").get_data(as_text=True)
    assert "Lakeside School" in filtered and "East Trading" not in filtered
    page = visible_text(client.get(f"/customers/{customer_with_history}").get_data(as_text=True))
    assert region in page and industry in page
    if locale == "zh_Hans":
        assert "Jiangsu" not in page and "education" not in page


def test_an_import_report_made_in_english_reads_in_chinese(app, client, make_user):
    reader = _sign_in(client, make_user, "zh_Hans")
    run_id = upload(app, reader, csv_bytes(ROWS, "gb18030"))
    run_now(app, run_id)  # the job has no reader: it works in English

    page = visible_text(client.get(f"/imports/{run_id}").get_data(as_text=True))
    assert "12345 不是有效的电话号码。" in page
    assert "zhao@ 不是有效的邮箱地址。" in page
    assert "没有客户名称也没有联系人：该行没有任何名称。" in page
    assert "is not a valid" not in page

    report = client.get(f"/imports/{run_id}/report.csv")
    lines = list(csv.reader(io.StringIO(report.get_data(as_text=True).lstrip("\ufeff"))))
    report.close()
    assert lines[0] == ["行", "列", "问题"]
    assert ["6", "手机", "12345 不是有效的电话号码。"] in lines

    refused = client.get(f"/imports/{run_id}/refused.csv")
    rows = list(csv.reader(io.StringIO(refused.get_data(as_text=True).lstrip("\ufeff"))))
    refused.close()
    assert rows[0][:-1] == HEADERS and rows[0][-1] != "Error"
    assert "手机: 12345 不是有效的电话号码。" in [r[-1] for r in rows[1:]]

    # the same report, read by an English reader, in English
    english = app.test_client()
    login(english, make_user("director", locale="en").email)
    page = visible_text(english.get(f"/imports/{run_id}").get_data(as_text=True))
    assert "12345 is not a valid phone number." in page


def test_a_report_stored_as_plain_text_before_codes_still_reads(app, client, make_user):
    from hub.crm.intake.import_run_files import read_report, report_path

    reader = _sign_in(client, make_user, "zh_Hans")
    run_id = upload(app, reader, csv_bytes(ROWS, "gb18030"))
    run_now(app, run_id, dry_run=True)  # a dry run shows its problem report on the page
    instance = Path(app.config["INSTANCE_DIR"])
    # the three cells of plain text a report held before problems were stored as codes
    report_path(instance, run_id).write_text(
        "Row,Column,Problem\n6,手机,12345 is not a valid phone number.\n", "utf-8-sig"
    )
    assert read_report(instance, run_id) == [["6", "手机", "12345 is not a valid phone number."]]
    page = visible_text(client.get(f"/imports/{run_id}").get_data(as_text=True))
    assert "12345 is not a valid phone number." in page


def test_customer_csv_writes_dates_as_iso_8601(app, client, make_user, customer_with_history):
    _sign_in(client, make_user, "zh_Hans")
    exported = client.get("/customers/export.csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    exported.close()
    lakeside = next(r for r in rows if "Lakeside School" in r)
    assert NEXT.isoformat() in lakeside  # the next contact the visit set, as ISO 8601


def test_templates_write_dates_only_through_the_one_set_of_filters():
    """A date written another way (flask-babel's own filters, strftime, a raw isoformat in text)
    is how one page came to show three formats; only a form field's value may carry ISO."""
    from hub.web.app import _template_dir

    offenders = []
    for path in sorted(_template_dir().glob("**/*.html")):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            if re.search(r"\|\s*(datetimeformat|dateformat|timeformat)\b|strftime", line):
                offenders.append(f"{path.name}:{number}")
            # .isoformat() is for <input type="date"> values (value="..." / min="...") only
            for m in re.finditer(r"\.isoformat\(\)", line):
                if not re.search(r'(value|min|max)="[^"]*$', line[: m.start()]):
                    offenders.append(f"{path.name}:{number}")
    assert offenders == []
