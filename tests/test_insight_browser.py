"""Each dashboard in a real browser on the demo data, in English and Chinese: a screenshot kept
as a test artifact, and the numbers the charts carry checked against the database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.core.auth import User
from hub.core.clock import business_zone, utcnow
from hub.insight import summaries
from hub.insight.dashboards import AGENT, DIRECTOR, SPECIALIST
from hub.insight.filters import parse_filters
from hub.runtime.demo import generate_demo
from tests.browser_kit import ARTIFACTS, new_page

HEADINGS = {
    ("director", "en"): "Director dashboard",
    ("director", "zh"): "总监看板",
    ("specialist", "en"): "Specialist dashboard",
    ("specialist", "zh"): "专员看板",
    ("agent", "en"): "My dashboard",
    ("agent", "zh"): "我的看板",
}
READ_CHARTS = """() => Object.fromEntries([...document.querySelectorAll('svg.chart')].map(svg => [
  svg.dataset.chart,
  {values: [...svg.querySelectorAll('[data-series]')].map(e => e.dataset.value),
   titles: svg.querySelectorAll('[data-series] > title').length}]))"""


def drawn_values(chart) -> list[str]:
    """The numbers a chart's SVG carries, in the order it draws them."""
    raw = lambda v: "" if v is None else str(v)  # noqa: E731
    if chart.kind == "line":
        return [
            raw(row[s]) for s in range(len(chart.series)) for _l, row in chart.rows
            if row[s] is not None
        ]
    return [raw(v) for _l, row in chart.rows for v in row]


@pytest.fixture
def demo(app, db):
    with app.test_request_context():
        result = generate_demo(db, 300, seed=7)
        summaries.refresh_all(db, business_zone())
        db.commit()
    return result.staff_password


def _sign_in(page, base: str, email: str, password: str, path: str) -> None:
    page.goto(base + path)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button.primary").click()
    page.wait_for_url(base + path)


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("director", "director@demo.contact-hub.example"),
        ("specialist", "specialist@demo.contact-hub.example"),
        ("agent", "agent1@demo.contact-hub.example"),
    ],
)
def test_dashboard_on_demo_data_in_english_and_chinese(
    browser, live_server, app, db, demo, name, email
):
    dashboard = {"director": DIRECTOR, "specialist": SPECIALIST, "agent": AGENT}[name]
    with app.test_request_context():
        viewer = db.scalar(sa.select(User).where(User.email == email))
        filters = parse_filters({}, utcnow(), business_zone())
        charts = {c.key: c for c in dashboard.render(db, viewer, filters)}
    assert sum(not c.empty for c in charts.values()) >= len(charts) - 1, "demo data too thin"
    for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
        page = new_page(browser, locale=locale, viewport={"width": 1280, "height": 900})
        _sign_in(page, live_server, email, demo, f"/insight/{name}")
        assert page.locator("h1").inner_text() == HEADINGS[(name, lang)]
        page.screenshot(path=ARTIFACTS / f"insight-{name}-{lang}.png", full_page=True)
        shown = page.evaluate(READ_CHARTS)
        assert set(shown) == set(charts)
        for key, chart in charts.items():
            if chart.kind == "pareto":
                assert shown[key]["values"] == [str(y) for _x, (y,) in chart.rows], key
                continue
            assert shown[key]["values"] == drawn_values(chart), (lang, key)
            assert shown[key]["titles"] == len(shown[key]["values"]), key  # a number on hover
        page.context.close()


def test_hovering_a_bar_shows_its_number(browser, live_server, make_user, db, app):
    from tests.browser_kit import sign_in
    from tests.insight_data import build

    ann = make_user("agent", name="Ann")
    with app.test_request_context():
        build(db, ann, make_user("agent", name="Bob"), now=utcnow())
        summaries.refresh_all(db, business_zone())
        db.commit()
    page = new_page(browser, locale="en-US")
    sign_in(page, live_server, ann, path="/insight/agent")
    page.wait_for_url(live_server + "/insight/agent")
    bar = page.locator('svg[data-chart="my_classes"] rect[data-label="A"]')
    bar.hover()
    assert bar.locator("title").text_content() == "A: 1"
    page.context.close()
