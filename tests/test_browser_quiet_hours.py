"""Quiet hours in Chromium, in English and in Chinese: the campaign page says before Launch how
many recipients quiet hours will hold and until when, and once launched the progress shows the
held recipient with the time it goes out. The real clock runs here, so the quiet window is
set around the London contact's current time (and away from the Tokyo contact's)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from hub.campaigns.quiet_hours import hhmm
from hub.core.clock import local_now
from tests.browser_kit import ARTIFACTS
from tests.browser_kit import new_page as _page
from tests.browser_kit import sign_in as _sign_in
from tests.campaign_helpers import add_customer
from tests.conftest import PATIENCE, work

pytestmark = pytest.mark.browser

TEXT = {
    "en-US": {"save": "Save", "draft": "Save as draft", "launch": "Launch", "sms": "SMS",
              "note": "1 of 2 recipients is in quiet hours now ({start}–{end} their time); "
                      "they will get it from {end} their time, in about ",
              "held": "1 held until {end} their time (about ",
              "wait": r"^(?:(\d+) h)? ?(?:(\d+) min)?"},
    "zh-CN": {"save": "保存", "draft": "保存为草稿", "launch": "启动", "sms": "短信",
              "note": "2 位收件人中有 1 位目前处于免打扰时段（当地时间 {start}–{end}）；"
                      "他们将在当地时间 {end} 起收到，约 ",
              "held": "1 条暂缓至当地时间 {end} 发送（约 ",
              "wait": r"^(?:(\d+) 小时)? ?(?:(\d+) 分钟)?"},
}


def said(text: str, prefix: str, wait: str, until: str) -> bool:
    """The sentence holds `prefix`, then the wait until `until` on a London wall clock, as it is
    now (within two minutes: the page may have been drawn a little while ago, on a busy machine)."""
    at = text.find(prefix)
    found = re.match(wait, text[at + len(prefix):]) if at >= 0 else None
    if found is None or not any(found.groups()):
        return False
    hours, minutes = (int(g or 0) for g in found.groups())
    now = local_now("Europe/London")
    end_h, end_m = (int(x) for x in until.split(":"))
    left = (end_h * 60 + end_m - (now.hour * 60 + now.minute)) % (24 * 60)
    return abs(hours * 60 + minutes - left) <= 2


def _window() -> tuple[str, str]:
    """A quiet window from an hour ago to two hours ahead on a London wall clock."""
    now = local_now("Europe/London").replace(second=0, microsecond=0)
    minute = lambda t: t.hour * 60 + t.minute  # noqa: E731
    return hhmm(minute(now - timedelta(hours=1))), hhmm(minute(now + timedelta(hours=2)))


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_quiet_hours_are_said_before_launch_and_held_recipients_after(browser, live_hub, make_user, db, locale):
    app, sim, _, url = live_hub
    add_customer(db, "London Co", region="UK", customer_class="B",
                 contacts=[{"name": "Liz", "phone": "+447700900001", "timezone": "Europe/London"}])
    add_customer(db, "Tokyo Co", region="JP", customer_class="B",
                 contacts=[{"name": "Ken", "phone": "+819012345678", "timezone": "Asia/Tokyo"}])
    db.commit()
    words = TEXT[locale]
    start, end = _window()
    page = _page(browser, locale=locale)
    _sign_in(page, url, make_user("specialist"))

    page.goto(f"{url}/campaigns/segments/new")
    page.locator("input[name=name]").fill(f"Abroad {locale}")
    # The rules as JSON, behind the segment builder's advanced toggle (the builder has its own test).
    page.locator("#segment-advanced summary").click()
    page.locator("textarea[name=rules]").fill('[{"field": "class", "op": "in", "value": ["B"]}]')
    page.get_by_role("button", name=words["save"]).click()
    page.goto(f"{url}/campaigns/templates/new")
    page.locator("input[name=name]").fill(f"Night SMS {locale}")
    page.locator("select[name=channel]").select_option("sms")
    page.locator("textarea[name=body]").fill("{{ contact.name }}, hello.")
    page.get_by_role("button", name=words["save"]).first.click()

    page.goto(f"{url}/campaigns/new")
    page.locator("input[name=name]").fill(f"Night {locale}")
    page.locator("select[name=channel]").select_option("sms")
    page.locator("select[name=segment_id]").select_option(label=f"Abroad {locale}")
    page.locator("select[name=template_id]").select_option(label=f"Night SMS {locale} ({words['sms']})")
    page.locator("input[name=quiet_start]").fill(start)
    page.locator("input[name=quiet_end]").fill(end)
    page.get_by_role("button", name=words["draft"]).click()

    note = page.locator("[data-launch-note]")
    note.wait_for(timeout=PATIENCE * 1000)
    assert said(note.inner_text(), words["note"].format(start=start, end=end), words["wait"], end), note.inner_text()
    page.get_by_role("button", name=words["launch"]).click()
    page.wait_for_selector("[data-state=running]", timeout=PATIENCE * 1000)
    assert page.locator("[data-launch-note]").count() == 0

    work(app)  # the planner: Ken's message goes now, Liz's waits for her quiet hours to end
    assert sim.wait_idle(PATIENCE)
    # The page polls its progress while the campaign runs: the held line comes without a reload.
    held = page.locator("[data-held-quiet]")
    held.wait_for(timeout=PATIENCE * 1000)
    assert said(held.inner_text(), words["held"].format(end=end), words["wait"], end), held.inner_text()
    page.wait_for_function("() => document.querySelector('[data-count=sent]').textContent.trim() === '1'",
                           timeout=PATIENCE * 1000)
    # The chart over time names its values on both axes.
    assert page.locator("#campaign-progress svg .y-tick").count() >= 2
    assert page.locator("#campaign-progress svg .x-tick").count() >= 2
    sent_to = [r["body"]["To"] for r in sim.requests() if r["kind"] == "message"]
    assert sent_to == ["+819012345678"]
    page.screenshot(path=ARTIFACTS / f"campaign-quiet-hours-{locale}.png", full_page=True)
    page.context.close()
