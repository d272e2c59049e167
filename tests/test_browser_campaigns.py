"""A specialist's campaign in Chromium, in English and in Chinese: a segment whose count updates as
its rules are typed, an SMS template, a campaign launched from its page, and the page's live
counts moving to delivered as the provider calls back, without a reload."""

from __future__ import annotations

import pytest

from hub.core.auth import User
from hub.core.db import session_scope
from tests.browser_kit import ARTIFACTS
from tests.browser_kit import new_page as _page
from tests.browser_kit import sign_in as _sign_in
from tests.campaign_helpers import add_customer
from tests.conftest import PATIENCE, work

pytestmark = pytest.mark.browser

TEXT = {
    "en-US": {"count": "Contacts in the segment: 2", "save": "Save", "draft": "Save as draft",
              "launch": "Launch", "completed": "Completed"},
    "zh-CN": {"count": "分群内联系人：2", "save": "保存", "draft": "保存为草稿",
              "launch": "启动", "completed": "已完成"},
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_a_specialist_builds_launches_and_watches_a_campaign(browser, live_hub, make_user, db, locale):
    app, sim, _, url = live_hub
    words = TEXT[locale]
    for name, phone, region in (("Zhengzhou Steel", "+8613800000001", "Henan"),
                                ("Luoyang Glass", "+8613800000002", "Henan"),
                                ("Wuhan Paper", "+8613800000003", "Hubei")):
        add_customer(db, name, region=region, customer_class="B", contacts=[{"name": name.split()[0], "phone": phone}])
    db.commit()
    specialist = make_user("specialist")
    page = _page(browser, locale=locale)
    _sign_in(page, url, specialist)

    page.goto(f"{url}/campaigns/segments/new")
    page.locator("input[name=name]").fill(f"Henan B {locale}")
    # The rules as JSON, behind the builder's advanced toggle (the builder has its own test).
    page.locator("#segment-advanced summary").click()
    page.locator("textarea[name=rules]").fill(
        '[{"field": "region", "op": "eq", "value": "Henan"}, {"field": "class", "op": "in", "value": ["B"]}]')
    page.wait_for_function(
        "want => document.getElementById('segment-count').textContent.includes(want)", arg=words["count"])
    sample = page.locator("#segment-sample li").all_inner_texts()
    assert len(sample) == 2 and all("Henan" in s for s in sample)
    page.get_by_role("button", name=words["save"]).click()

    page.goto(f"{url}/campaigns/templates/new")
    page.locator("input[name=name]").fill(f"Launch SMS {locale}")
    page.locator("select[name=channel]").select_option("sms")
    page.locator("textarea[name=body]").fill("{{ contact.name }}, our spring range is out.")
    page.get_by_role("button", name=words["save"]).first.click()

    page.goto(f"{url}/campaigns/new")
    page.locator("input[name=name]").fill(f"Spring {locale}")
    page.locator("select[name=channel]").select_option("sms")
    page.locator("select[name=segment_id]").select_option(label=f"Henan B {locale}")
    page.locator("select[name=template_id]").select_option(label=f"Launch SMS {locale} (SMS)" if locale == "en-US" else f"Launch SMS {locale} (短信)")
    page.locator("input[name=quiet_start]").fill("00:00")
    page.locator("input[name=quiet_end]").fill("00:00")
    page.get_by_role("button", name=words["draft"]).click()
    page.get_by_role("button", name=words["launch"]).click()
    campaign_page = page.url
    assert "/campaigns/" in campaign_page

    work(app)  # the planner and the send job, through the SDK to the simulator
    assert sim.wait_idle(PATIENCE)  # which calls back: sending, sent, delivered, signed
    # Every message handed over: the campaign is completed before its receipts are applied, and
    # its page loads again once (a completed campaign offers no pause or cancel).
    page.wait_for_function("want => document.querySelector('[data-state]').textContent.includes(want)",
                           arg=words["completed"], timeout=PATIENCE * 1000)
    page.wait_for_function("() => !document.querySelector('form[action$=\"/pause\"]')", timeout=PATIENCE * 1000)
    page.evaluate("() => { window.stillThisPage = true; }")
    work(app)  # the receipts applied, after the end, as real receipts often come
    # The finished campaign's page keeps polling while receipts may come: no reload.
    page.wait_for_function("() => document.querySelector('[data-count=delivered]').textContent.trim() === '2'",
                           timeout=PATIENCE * 1000)
    assert page.evaluate("() => window.stillThisPage === true")
    assert page.locator("[data-count=planned]").inner_text().strip() == "2"
    assert page.locator("[data-count=failed]").inner_text().strip() == "0"
    assert page.locator("#campaign-progress svg").count() == 1  # the chart over time
    sent_to = sorted(r["body"]["To"] for r in sim.requests() if r["kind"] == "message")
    assert sent_to == ["+8613800000001", "+8613800000002"]
    with session_scope(app) as s:
        assert s.get(User, specialist.id) is not None
    page.screenshot(path=ARTIFACTS / f"campaign-{locale}.png", full_page=True)
