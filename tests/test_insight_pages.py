"""The dashboard pages: who opens which, the filters, and CSVs holding exactly what is plotted."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from hub.campaigns.models import Campaign
from hub.core.clock import business_zone
from hub.insight import summaries
from tests.insight_data import build

RANGE = "start=2026-01-01&end=2026-03-15"
SVG_RE = re.compile(r'<svg class="chart"[^>]*data-chart="([^"]+)".*?</svg>', re.S)
MARK_RE = re.compile(r'data-label="([^"]*)" data-series="([^"]*)" data-value="([^"]*)"')


def plotted(page: str) -> dict[str, list[tuple[str, str, str]]]:
    """{chart key: [(label, series, value), ...]} as the page's SVG carries them."""
    out = {}
    for match in SVG_RE.finditer(page):
        out[match.group(1)] = [
            tuple(html.unescape(v) for v in m) for m in MARK_RE.findall(match.group(0))
        ]
    return out


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def world(app, db, make_user):
    with app.test_request_context():
        world = build(db, make_user("agent", name="Ann"), make_user("agent", name="Bob"))
        summaries.refresh_all(db, business_zone())
        db.commit()
        return world


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("agent", {"agent"}),
        ("specialist", {"agent", "specialist"}),
        ("director", {"agent", "specialist", "director"}),
        ("admin", {"agent", "specialist", "director"}),
    ],
)
def test_each_role_opens_its_dashboards_and_sees_them_linked(client, signed_in, role, allowed):
    signed_in(role)
    home = client.get("/").get_data(as_text=True)
    for name in ("agent", "specialist", "director"):
        response = client.get(f"/insight/{name}")
        assert response.status_code == (200 if name in allowed else 403), name
        assert (f'href="/insight/{name}"' in home) == (name in allowed), name
        csv_answer = client.get(f"/insight/{name}/{'my_due' if name == 'agent' else 'x'}.csv")
        assert csv_answer.status_code in ((200, 404) if name in allowed else (403,))


def test_every_chart_csv_holds_exactly_what_the_page_plots(client, signed_in, world):
    signed_in("director")
    for name in ("director", "specialist", "agent"):
        page = client.get(f"/insight/{name}?{RANGE}")
        assert page.status_code == 200
        charts = plotted(page.get_data(as_text=True))
        assert charts, name
        for key, marks in charts.items():
            rows = csv_rows(client.get(f"/insight/{name}/{key}.csv?{RANGE}"))
            headings, body = rows[0], rows[1:]
            if key == "pareto":
                curve = [(x, y) for line, x, y in body if line == headings[2]]
                assert [(label, value) for label, _s, value in marks] == curve
                cuts = re.findall(r'data-cut="([^"]+)" data-value="([^"]+)"', page.get_data(as_text=True))
                assert cuts == [(line, x) for line, x, y in body if line != headings[2]]
                continue
            expected = [
                (label, headings[1 + i], value)
                for label, *values in body
                for i, value in enumerate(values)
            ]
            # A line leaves out the points that have no value (an empty cell in the CSV).
            # Bars are drawn row by row, lines series by series: compare as sets of points.
            assert sorted(m for m in marks if m[2] != "") == sorted(
                e for e in expected if e[2] != ""
            ), key
            assert len(marks) == len(expected) or "<polyline" in page.get_data(as_text=True)


def test_the_csv_follows_the_filters_and_matches_hand_figures(client, signed_in, world):
    signed_in("director")
    rows = csv_rows(client.get(f"/insight/director/won_lost.csv?{RANGE}&owner={world.ann.id}"))
    assert rows == [["Outcome", "Opportunities"], ["Won", "1"], ["Lost: Price", "1"]]
    rows = csv_rows(client.get(f"/insight/director/follow_ups_rep.csv?{RANGE}&channel=call"))
    assert rows[0] == ["Rep", "Done in range", "Due today", "Overdue"]
    assert [r[:2] for r in rows[1:]] == [["Ann", "3"], ["Bob", "0"]]
    rows = csv_rows(client.get(f"/insight/specialist/campaign_counts.csv?{RANGE}&channel=email"))
    assert rows == [
        ["Campaign", "Sent", "Delivered", "Opened", "Clicked", "Replied", "Unsubscribed"],
        ["Newsletter", "4", "3", "2", "1", "1", "1"],
    ]


def test_a_csv_cell_that_a_spreadsheet_would_run_is_neutralized(client, signed_in, world, db):
    campaign = db.get(Campaign, 1)
    campaign.name = "=HYPERLINK(\"http://x\")<b>"
    db.commit()
    signed_in("specialist")
    page = client.get(f"/insight/specialist?{RANGE}").get_data(as_text=True)
    assert "HYPERLINK(&#34;http://x&#34;)&lt;b&gt;" in page and ")<b>" not in page
    rows = csv_rows(client.get(f"/insight/specialist/campaign_counts.csv?{RANGE}"))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")<b>"


def test_the_agent_dashboard_shows_only_the_agents_own_work(client, app, world):
    from tests.conftest import login

    assert login(client, world.bob.email).status_code == 302
    rows = csv_rows(client.get(f"/insight/agent/my_classes.csv?owner={world.ann.id}"))
    assert rows[1:] == [["A", "0"], ["B", "1"], ["C", "2"]]  # Bob's: Zeta; Gamma and Delta


def test_a_bad_filter_is_named_on_the_page_and_in_the_csv(client, signed_in):
    signed_in("director")
    page = client.get("/insight/director?start=2026-02-30&class=Z")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert 'id="start-error"' in text and "YYYY-MM-DD" in text
    assert 'id="class-error"' in text and "A, B, C" in text
    assert client.get("/insight/director/pareto.csv?channel=fax").status_code == 422


def test_the_dashboards_render_in_chinese(client, signed_in, world):
    signed_in("director")
    for name, heading in (("director", "总监看板"), ("specialist", "专员看板"), ("agent", "我的看板")):
        page = client.get(f"/insight/{name}?{RANGE}", headers={"Accept-Language": "zh-CN"})
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and f"<h1>{heading}</h1>" in text, name
