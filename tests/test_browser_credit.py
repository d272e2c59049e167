"""Credit control in a real headless Chromium: a director opens a credit event on the customer
page, stops shipments (the customer goes on hold) and closes it, in English and in Chinese."""

from __future__ import annotations

import pytest

from hub.core.db import session_scope
from hub.crm.customers.models import Customer
from tests.browser_kit import ARTIFACTS, new_page, sign_in

pytestmark = pytest.mark.browser

WORDS = {
    "en-GB": {"reason": "Reason", "open": "Open a credit event", "action": "Action",
              "note": "Note", "record": "Record the action", "stopped": "Shipments stopped",
              "hold": "On hold: new orders are refused", "closing": "Closing note",
              "close": "Close the event"},
    "zh-CN": {"reason": "原因", "open": "开启信用事件", "action": "措施", "note": "备注",
              "record": "记录措施", "stopped": "停止发货", "hold": "已冻结：拒绝新订单",
              "closing": "关闭说明", "close": "关闭事件"},
}


@pytest.mark.parametrize("locale", WORDS)
def test_a_director_stops_shipments_on_the_customer_page(browser, live_server, make_user, app,
                                                         locale):
    words = WORDS[locale]
    director = make_user("director")
    with session_scope(app) as s:
        customer = Customer(name=f"Credit Co {locale}", owner_id=director.id)
        s.add(customer)
        s.flush()
        cid = customer.id
    page = new_page(browser, locale=locale)
    sign_in(page, live_server, director)
    page.goto(f"{live_server}/customers/{cid}")
    card = page.locator("section#credit")
    card.get_by_label(words["reason"]).fill("Owner unreachable")
    card.get_by_role("button", name=words["open"]).click()
    page.wait_for_url(f"**/customers/{cid}#credit")
    card = page.locator("section#credit")
    card.get_by_role("combobox", name=words["action"]).select_option("shipments_stopped")
    card.locator("form", has=page.get_by_role("button", name=words["record"])).get_by_label(
        words["note"]).fill("Until the June bill is paid")
    card.get_by_role("button", name=words["record"]).click()
    page.wait_for_url(f"**/customers/{cid}#credit")
    card = page.locator("section#credit")
    assert words["hold"] in card.inner_text()
    assert words["stopped"] in card.locator("ul.credit-actions").inner_text()
    page.screenshot(path=ARTIFACTS / f"credit-{locale}.png", full_page=True)
    with session_scope(app) as s:
        assert s.get(Customer, cid).credit_hold
    card.get_by_label(words["closing"]).fill("Paid")
    card.get_by_role("button", name=words["close"]).click()
    page.wait_for_url(f"**/customers/{cid}#credit")
    assert words["hold"] not in page.locator("section#credit").inner_text()
    with session_scope(app) as s:
        assert not s.get(Customer, cid).credit_hold
