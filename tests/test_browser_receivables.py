"""A director records a payment on a receivable's page in Chromium, and the customer's money card
shows the new balance; in English and in Chinese."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from hub.core import db as hubdb
from hub.crm.customers.models import Customer
from hub.crm.sales.receivables import raise_receivable
from tests.browser_kit import new_page, sign_in
from tests.conftest import business_day

pytestmark = pytest.mark.browser

TEXT = {
    "en": {"locale": "en-US", "record": "Record the payment", "method": "Alipay",
           "recorded": "Payment of CNY 1,200.00 recorded.", "customer": "Customer"},
    "zh": {"locale": "zh-CN", "record": "记录这笔付款", "method": "支付宝",
           "recorded": "已记录付款 CNY 1,200.00。", "customer": "客户"},
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_payment_on_the_page_lowers_the_customers_balance(browser, live_server, app, make_user,
                                                            lang):
    text = TEXT[lang]
    director = make_user("director")
    today = business_day(app)
    with app.test_request_context(), hubdb.session_scope(app) as s:
        customer = Customer(name="华东阀门有限公司", owner_id=director.id)
        s.add(customer)
        s.flush()
        r = raise_receivable(s, None, customer, {
            "amount": "5000", "raised_on": (today - timedelta(days=60)).isoformat(),
            "due_on": (today - timedelta(days=15)).isoformat()}, today=today)
        customer_id, rid = customer.id, r.id
    page = new_page(browser, locale=text["locale"])
    sign_in(page, live_server, director)
    page.goto(f"{live_server}/customers/{customer_id}")
    card = page.locator("#money-figures tr[data-currency=CNY] .balance")
    expect(card).to_have_text("CNY 5,000.00")
    page.goto(f"{live_server}/receivables/{rid}")
    form = page.locator("#payment-form")
    form.locator("input[name=amount]").fill("1200")
    form.locator("select[name=method]").select_option(label=text["method"])
    form.locator("input[name=reference]").fill("ZFB-2026")
    form.get_by_role("button", name=text["record"]).click()
    expect(page.locator(".flash-success")).to_have_text(text["recorded"])
    expect(page.locator("#outstanding")).to_have_text("CNY 3,800.00")
    expect(page.locator("#payments tbody tr")).to_have_count(1)
    expect(page.locator("#payments tbody")).to_contain_text(text["method"])
    page.locator("dd a", has_text="华东阀门有限公司").click()
    expect(card).to_have_text("CNY 3,800.00")
    page.context.close()
