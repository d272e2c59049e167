"""The pages in a real headless Chromium: English and Chinese, desk and phone sizes.

Screenshots land in test-artifacts/ for a person to look at.
"""

import pytest

from hub.crm.customers.models import Customer
from tests.browser_kit import ARTIFACTS
from tests.browser_kit import new_page as _page
from tests.browser_kit import sign_in as _sign_in
from tests.conftest import PATIENCE

pytestmark = pytest.mark.browser


def test_login_page_in_english_and_chinese(browser, live_server):
    en = _page(browser, locale="en-US")
    en.goto(live_server + "/login")
    assert en.locator("h1").inner_text() == "Sign in"
    en.screenshot(path=ARTIFACTS / "login-en.png")
    zh = _page(browser, locale="zh-CN")
    zh.goto(live_server + "/login")
    assert zh.locator("h1").inner_text() == "登录"
    assert zh.get_by_label("邮箱").is_visible()
    zh.screenshot(path=ARTIFACTS / "login-zh.png")


def test_an_agent_signs_in_finds_a_customer_and_switches_to_chinese(
    browser, live_server, make_user, db
):
    agent = make_user("agent", name="张伟")
    db.add_all(
        [
            Customer(
                name="郑州华信科技有限公司",
                phone="+8613800138000",
                customer_class="A",
                owner_id=agent.id,
                region="Henan",
            ),
            Customer(
                name="Blue Harbor Foods Inc.",
                phone="+12125550123",
                customer_class="B",
                owner_id=agent.id,
                region="Overseas",
            ),
        ]
    )
    db.commit()
    page = _page(browser, locale="en-US")
    page.goto(live_server + "/customers")
    assert "/login" in page.url  # not signed in yet
    _sign_in(page, live_server, agent, path=None)
    page.wait_for_url(live_server + "/customers")
    assert page.get_by_text("2 customers").is_visible()
    page.get_by_role("searchbox").fill("华信")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/customers?q=*")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1 and "郑州华信" in rows.first.inner_text()
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "客户"
    page.get_by_role("link", name="首页").click()
    assert "欢迎" in page.locator("h1").inner_text()
    page.screenshot(path=ARTIFACTS / "home-zh.png", full_page=True)


def test_phone_sized_screen_stacks_the_list_and_dials_by_tel_link(
    browser, live_server, make_user, db
):
    agent = make_user("agent")
    db.add(
        Customer(
            name="Redwood Supplies Ltd.",
            phone="+8613900139000",
            customer_class="C",
            owner_id=agent.id,
        )
    )
    db.commit()
    page = _page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    _sign_in(page, live_server, agent)
    page.goto(live_server + "/customers")
    link = page.locator('a[href="tel:+8613900139000"]')
    assert link.is_visible()
    assert page.locator("table.list thead").is_hidden()  # rows become cards on a phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=ARTIFACTS / "customers-phone.png", full_page=True)


def test_an_admin_creates_an_api_token_that_is_shown_once(browser, live_server, make_user):
    admin = make_user("admin")
    page = _page(browser, locale="en-US")
    _sign_in(page, live_server, admin)
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Token name").fill("website lead form")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("hub_")
    page.screenshot(path=ARTIFACTS / "account-token.png", full_page=True)
    page.reload()
    assert page.locator("#new-token").count() == 0
    assert token not in page.content()
    assert page.get_by_text("website lead form").is_visible()


def test_a_rep_records_a_call_on_the_customer_page_in_chinese(browser, live_server, make_user, app):
    from hub.core.db import session_scope
    from hub.crm.customers.customer_records import create_customer

    agent = make_user("agent", name="张伟")
    with app.app_context(), session_scope(app) as s:
        from hub.core.auth import User

        customer = create_customer(
            s,
            s.get(User, agent.id),
            {
                "name": "郑州华信科技有限公司",
                "region": "Henan",
                "customer_class": "B",
                "contacts": [{"name": "李娜", "phone": "138 0013 8000", "is_decision_maker": True}],
            },
            "CN",
        )
        cid = customer.id
    page = _page(browser, locale="zh-CN")
    _sign_in(page, live_server, agent)
    page.goto(f"{live_server}/customers?q=13800138000")
    page.get_by_role("link", name="郑州华信科技有限公司").click()
    assert page.locator("h1").inner_text().startswith("郑州华信科技有限公司")
    page.get_by_role("combobox", name="渠道", exact=True).select_option("call")
    page.get_by_label("结果").fill("已接通")
    page.get_by_label("沟通内容").fill("客户想要 200 台的报价。")
    page.get_by_role("button", name="记录跟进").click()
    page.wait_for_url(f"**/customers/{cid}#timeline")
    entry = page.locator("ol.timeline li").first
    assert "客户想要 200 台的报价。" in entry.inner_text()
    assert "已接通" in entry.inner_text()
    page.screenshot(path=ARTIFACTS / "customer-zh.png", full_page=True)


def test_an_sms_sent_from_the_customer_page_comes_back_delivered(browser, live_hub, make_user):
    """The whole loop a user sees: send from the page, the provider's signed callbacks, the
    timeline moving from queued to sent to delivered."""
    from hub.core.auth import User
    from hub.core.db import session_scope
    from hub.crm.customers.customer_records import create_customer
    from tests.conftest import work as _work

    app, sim, _, url = live_hub
    agent = make_user("agent")
    with app.app_context(), session_scope(app) as s:
        cid = create_customer(
            s,
            s.get(User, agent.id),
            {"name": "Loop Co", "contacts": [{"name": "Li Na", "phone": "138 0013 8000"}]},
            "CN",
        ).id
    page = _page(browser, locale="en-US")
    _sign_in(page, url, agent)
    page.goto(f"{url}/customers/{cid}")
    page.get_by_role("link", name="Send SMS").click()
    page.get_by_label("Message").fill("Your order ships today.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/customers/{cid}#timeline")
    assert "queued" in page.locator("ol.timeline li").first.inner_text()
    _work(app)  # the job sends it through the SDK to the simulator
    assert sim.wait_idle(PATIENCE)  # which calls back: sending, sent, delivered, signed
    _work(app)  # the callbacks are applied
    page.reload()
    entry = page.locator("ol.timeline li").first.inner_text()
    assert "Your order ships today." in entry and "delivered" in entry
    page.screenshot(path=ARTIFACTS / "sms-delivered.png", full_page=True)
