"""Every page on a phone-sized screen (390 x 844), in English and in Chinese: nothing scrolls
sideways, the navigation folds into a Menu button and the header leaves the screen to the page.

The pages are the app's own GET routes, ids filled from demo-like data; a route that renders HTML
and is not visited fails the test, so a new page cannot be forgotten here.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from hub.core import db as hubdb
from hub.core.auth import User
from tests.browser_kit import ARTIFACTS, new_page, sign_in
from tests.conftest import login

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Routes that answer with something other than a page: JSON, files, a stream, a fragment.
NOT_PAGES = {
    "static",
    "events.stream",  # Server-Sent Events
    "health.healthz",
    "console.live",  # JSON for the console's script
    "console.card",  # a card fragment the console's script inserts into its page
    "campaigns.campaign_progress",  # the campaign page's progress box, which it refreshes
    "campaigns.campaign_export",
    "exports.export_csv",
    "exports.export_xlsx",
    "imports.refused",
    "imports.problems",
    "imports.rows_csv",
    "insight.agent_csv",
    "insight.specialist_csv",
    "insight.director_csv",
    "receivables.aging_csv",
    "service.attachment",  # a complaint's file
}
# Who opens each page: an admin passes every check; these pages show the viewer's own work, so
# they are opened by the one who has some.
VIEWER = {
    "pages.index": ("admin", "director", "specialist", "agent"),
    "insight.agent": ("agent",),
    "insight.specialist": ("specialist",),
    "insight.director": ("director",),
    "worklist.due": ("agent",),
    "worklist.due_team": ("director",),
    "worklist.digests": ("agent",),
    "worklist.digest": ("agent",),
    "console.index": ("agent",),
    "console.call_page": ("agent",),
    "campaigns.campaign_list": ("specialist",),
    "admin.account": ("agent",),
    "login.login": (None,),
    "survey.answer": (None,),
    "unsubscribe.confirm": (None,),
}

SCROLL_WIDTHS = """() => [document.documentElement.scrollWidth, document.body.scrollWidth,
  [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391)
    .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + (e.getAttribute('class') || ''))]"""


def _page_routes(app) -> set[str]:
    return {
        r.endpoint
        for r in app.url_map.iter_rules()
        if "GET" in r.methods and not r.rule.startswith("/api/") and r.endpoint not in NOT_PAGES
    }


def _credit_and_collection(s: Any, customer: Any, director: User) -> None:
    """An amount to collect on the due list (a broken promise) and a credit event with actions,
    for the credit card, the credit events list and the due list's collection section."""
    from decimal import Decimal

    from hub.core.clock import business_today
    from hub.crm.sales.receivable_models import CreditAction, CreditEvent, Receivable

    today = business_today()
    s.add(Receivable(customer_id=customer.id, currency="CNY", amount=Decimal("1234567.89"),
                     raised_on=today - timedelta(days=90), due_on=today - timedelta(days=60),
                     next_chase_on=today - timedelta(days=1),
                     promised_on=today - timedelta(days=2), promised_amount=Decimal("1000")))
    event = CreditEvent(customer_id=customer.id, trigger="overdue", opened_by_id=director.id,
                        reason="An amount has been overdue more than 60 days.")
    event.actions.append(CreditAction(kind="shipments_stopped", taken_by_id=director.id,
                                      note="https://wiki.example.com/credit/northwind-hold-2026"))
    s.add(event)
    customer.credit_hold = True
    s.flush()


def _demo_data(app, make_user, base: str) -> tuple[dict[str, User], dict[str, Any]]:
    """A small `hub demo`, then one of everything else a page shows; returns the users and
    the ids that fill the routes' arguments."""
    from hub.campaigns.care.models import CareRule
    from hub.campaigns.models import Campaign
    from hub.campaigns.segments.models import Segment
    from hub.campaigns.surveys.answers import survey_url
    from hub.campaigns.templates.models import MessageTemplate
    from hub.channels.calls.models import Call
    from hub.channels.models import Message, Suppression
    from hub.channels.unsubscribe import unsubscribe_url
    from hub.core.clock import business_today
    from hub.crm.customers.custom_fields import create_field
    from hub.crm.customers.duplicate_models import DuplicateCandidate
    from hub.crm.customers.merge import merge_customers
    from hub.crm.customers.models import Contact, Customer
    from hub.crm.followups.models import Digest
    from hub.crm.followups.reminders import build_digests
    from hub.crm.intake.lead_forms import create_form
    from hub.crm.sales.models import Opportunity, Order
    from hub.crm.sales.receivable_models import Payment, Receivable
    from hub.crm.service.models import Complaint
    from hub.runtime.demo import DEMO_STAFF, generate_demo
    from tests.crm_helpers import likely_pair

    staff = {
        role.value: make_user(role.value, email=email, name=name)
        for email, name, role in reversed(DEMO_STAFF)
    }  # agent1 last, so it is "agent"
    staff["admin"] = make_user("admin", name="Admin")
    with app.app_context(), hubdb.session_scope(app) as s:
        generate_demo(s, 12, seed=15)
        agent = s.get(User, staff["agent"].id)
        admin = s.get(User, staff["admin"].id)
        # Long unbroken words are what push a phone's page sideways.
        mine = Customer(
            name="Northwind Intercontinental Logistics and Warehousing Holdings Co., Ltd.",
            email="procurement.department.head@northwind-intercontinental-logistics.example.com",
            website="https://www.northwind-intercontinental-logistics.example.com/contact/procurement",
            notes="Ask for Ms. Li; https://wiki.example.com/accounts/northwind/visit-notes-2026",
            customer_class="A",
            region="Zhejiang",
            owner_id=agent.id,
            next_contact_on=business_today() - timedelta(days=1),
        )
        s.add(mine)
        s.flush()
        s.add(
            Contact(
                customer_id=mine.id,
                name="李娜",
                phone="+8613800138000",
                email="li.na.procurement@northwind-intercontinental-logistics.example.com",
            )
        )
        s.flush()
        owed = Receivable(
            customer_id=mine.id, amount=Decimal("1234567.89"), paid=Decimal("1000.00"),
            raised_on=business_today() - timedelta(days=90),
            due_on=business_today() - timedelta(days=45),
            description="Northwind Intercontinental Logistics framework contract HT-2026-000123",
        )
        s.add(owed)
        s.flush()
        s.add(Payment(receivable_id=owed.id, customer_id=mine.id, amount=Decimal("1000.00"),
                      currency="CNY", paid_on=business_today(), method="wechat_pay",
                      reference="WX-4200001234202612070123456789"))
        _credit_and_collection(s, mine, admin)
        build_digests(s, business_today())
        a, b = Customer(name="宁波海港物流", city="宁波"), Customer(name="甬港货运", city="宁波")
        s.add_all([a, b])
        s.flush()
        merge = merge_customers(s, admin, a.id, b.id)
        field = create_field(s, admin, {"key": "wechat_id", "label": "WeChat ID", "kind": "text"})
        create_form(s, admin, "官网咨询 Website enquiry", [agent.id])
        sms = s.scalar(sa.select(MessageTemplate).where(MessageTemplate.channel == "sms"))
        care = CareRule(
            name="Birthday greetings", occasion="birthday", channel="sms", template_id=sms.id
        )
        s.add(care)
        s.flush()
        surveyed = s.scalar(
            sa.select(Message)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(Campaign.survey.is_not(None))
            .limit(1)
        )
        ids = {
            "customer_id": mine.id,
            "other_id": s.scalar(
                sa.select(Customer.id).where(Customer.id != mine.id, Customer.id != a.id).limit(1)
            ),
            "contact_id": s.scalar(sa.select(Contact.id).where(Contact.customer_id == mine.id)),
            "channel": "sms",
            "field_id": field.id,
            "suppression_id": s.scalar(sa.select(Suppression.id).limit(1)),
            "campaign_id": surveyed.campaign_id,
            "rule_id": care.id,
            "segment_id": s.scalar(sa.select(Segment.id).limit(1)),
            "template_id": sms.id,
            "complaint_id": s.scalar(sa.select(Complaint.id).limit(1)),
            "call_id": s.scalar(sa.select(Call.id).where(Call.agent_id == agent.id).limit(1)),
            "digest_id": s.scalar(sa.select(Digest.id).where(Digest.user_id == agent.id)),
            "merge_id": merge.id,
            "opportunity_id": s.scalar(sa.select(Opportunity.id).limit(1)),
            "order_id": s.scalar(sa.select(Order.id).limit(1)),
            "receivable_id": owed.id,
            "survey_token": survey_url(base, surveyed.id).rsplit("/", 1)[1],
            "unsubscribe_token": unsubscribe_url(base, "li.na@example.cn").rsplit("/", 1)[1],
        }
    likely_pair(app, staff["director"])
    with hubdb.session_scope(app) as s:
        ids["candidate_id"] = s.scalar(sa.select(DuplicateCandidate.id))
    # An import waiting for its columns: the widest table the hub draws.
    client = app.test_client()
    login(client, staff["admin"].email)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/imports").get_data(True))
    upload = client.post(
        "/imports",
        data={
            "csrf_token": token.group(1),
            "file": (
                io.BytesIO(
                    "公司名称,联系人,手机号码,邮箱,城市,备注\n"
                    "深圳华强电子有限公司,张三,13800138000,zhangsan.procurement@huaqiang-electronics.cn,深圳,"
                    "每月第一个星期一下午联系采购部\n".encode("gb18030")
                ),
                "客户.csv",
            ),
        },
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302, upload.get_data(True)
    ids["run_id"] = int(upload.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert all(v is not None for v in ids.values()), ids
    return staff, ids


def _url(app, endpoint: str, ids: dict[str, Any]) -> str:
    (rule,) = [r for r in app.url_map.iter_rules() if r.endpoint == endpoint and "GET" in r.methods]
    values = {name: ids.get(name) for name in rule.arguments}
    if "token" in rule.arguments:
        values["token"] = ids[
            "survey_token" if endpoint == "survey.answer" else "unsubscribe_token"
        ]
    return app.url_map.bind("localhost").build(endpoint, values)


def _check(page: Any, url: str, failures: list[str], status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (
        f"{url}: {response and response.status}"
    )
    html, body, wide = page.evaluate(SCROLL_WIDTHS)
    if max(html, body) > PHONE["width"]:
        failures.append(f"{url} is {max(html, body)} px wide ({', '.join(wide)})")


def _check_header(page: Any, lang: str, role: str) -> None:
    """The header is one short line (with what is due, for whoever has something due); the links
    are behind the Menu button until it is pressed."""
    header = page.locator("header.top")
    height = header.bounding_box()["height"]
    assert height < 0.15 * PHONE["height"], f"the header takes {height} px"
    if role == "agent":
        badge = header.locator("a.due-badge")
        assert badge.is_visible() and int(badge.inner_text().split()[-1]) >= 1
        assert badge.get_attribute("href") == "/due"
    links = page.locator("header.top nav a")
    assert links.count() > 3 and not links.first.is_visible()
    assert page.get_by_role("button", name="Sign out" if lang == "en" else "退出").is_hidden()
    page.locator("header.top summary").click()
    links.first.wait_for(state="visible")
    assert page.get_by_role("button", name="Sign out" if lang == "en" else "退出").is_visible()
    page.locator("header.top summary").click()
    links.first.wait_for(state="hidden")


def test_every_page_fits_a_phone_in_english_and_chinese(browser, live_hub, make_user):
    app, sim, _, live_server = live_hub  # with the simulator, so the developer page has its tables
    staff, ids = _demo_data(app, make_user, live_server)
    sim.log.add(
        "twilio",
        "message",
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json",
        {"To": "+8613800138000", "Body": "您好"},
        {},
        status=201,
    )
    routes = sorted(_page_routes(app))
    visited: set[str] = set()
    failures: list[str] = []
    for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
        for role in (None, "admin", "director", "specialist", "agent"):
            mine = [e for e in routes if role in VIEWER.get(e, ("admin",))]
            page = new_page(browser, viewport=PHONE, is_mobile=True, has_touch=True, locale=locale)
            if role:
                sign_in(page, live_server, staff[role])
                page.wait_for_url(live_server + "/")
                assert page.locator("html").get_attribute("lang") == (
                    "en" if lang == "en" else "zh-Hans"
                )
                _check_header(page, lang, role)
            else:  # signed out there is no menu: the language switch is in sight
                page.goto(live_server + "/login")
                header = page.locator("header.top")
                assert header.bounding_box()["height"] < 0.15 * PHONE["height"]
                assert header.locator(".lang button").last.is_visible()
            for endpoint in mine:
                _check(page, live_server + _url(app, endpoint, ids), failures)
                visited.add(endpoint)
            if role == "admin":  # an error page is a page too
                _check(page, live_server + "/customers/999999", failures, status=404)
            if role in ("admin", "agent"):
                page.goto(live_server + _url(app, "crm.customer", ids))
                page.screenshot(path=ARTIFACTS / f"phone-customer-{role}-{lang}.png")
            page.context.close()
    assert visited == set(routes), f"pages not visited: {set(routes) - visited}"
    assert not failures, "pages that scroll sideways on a phone:\n" + "\n".join(failures)
