"""Every chart has axes that name their values, also with one point or none, and category
labels that fit: wrapped onto two lines (Chinese between any two characters) or cut with an
ellipsis, the whole label then in a <title> that shows on hover."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hub.campaigns import progress_chart
from hub.campaigns.progress import Series
from hub.core.chart_labels import text_width, wrap
from hub.core.charts import Chart

NS = "{http://www.w3.org/2000/svg}"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LONG = "Lost: Project cancelled after the customer's head office froze every budget"


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def ticks(root: ET.Element, axis: str) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{NS}text") if f"{axis}-tick" in t.get("class", "")]


def test_a_one_point_progress_chart_has_a_minute_long_time_axis_and_counts(app):
    sent_at = datetime(2026, 12, 4, 13, 0, 5, tzinfo=UTC)  # 21:00:05 in Shanghai
    series = Series([sent_at + timedelta(seconds=1)], [3], [0], start=sent_at)
    with app.test_request_context():
        root = parse(progress_chart.svg(series, sent_at, SHANGHAI))
    assert ticks(root, "y") == ["0", "1", "2", "3"]
    x = ticks(root, "x")
    assert len(x) >= 3 and x[0] == "21:00:10" and all(t.startswith("21:0") for t in x)  # a minute, local time
    points = [c for c in root.iter(f"{NS}circle") if c.get("data-value") == "3"]
    assert len(points) == 1 and "Sent: 3" in points[0].find(f"{NS}title").text


def test_a_progress_chart_with_nothing_sent_still_draws_its_axes(app):
    with app.test_request_context():
        root = parse(progress_chart.svg(Series([], [], []), datetime(2026, 12, 4, 13, 0, tzinfo=UTC), SHANGHAI))
    assert ticks(root, "y") == ["0", "1"]
    assert ticks(root, "x")[0] == "21:00:00" and len(ticks(root, "x")) >= 3
    assert "No messages sent yet" in "".join(root.itertext())


def test_a_zero_count_bar_chart_runs_zero_to_one_and_says_so(app):
    chart = Chart("c", "Complaints", "bars", "Kind", ["Count"], [("Late", [0]), ("Broken", [0])])
    with app.test_request_context():
        root = parse(chart.svg())
    assert ticks(root, "y") == ["0", "1"]
    assert [r.get("data-label") for r in root.iter(f"{NS}rect")] == ["Late", "Broken"]
    assert "No data yet" in "".join(root.itertext())


def test_a_one_point_line_chart_has_ticks_and_its_point(app):
    chart = Chart("l", "Calls", "line", "Day", ["Calls"], [("2026-12-04", [7])])
    with app.test_request_context():
        root = parse(chart.svg())
    assert len(ticks(root, "y")) >= 2 and ticks(root, "y")[-1] == "8"
    assert ticks(root, "x") == ["2026-12-04"]
    assert [c.get("data-value") for c in root.iter(f"{NS}circle")] == ["7"]


def test_long_labels_wrap_onto_two_lines_then_end_in_an_ellipsis_with_a_title(app):
    rows = [("Contacts due today", [4]), (LONG, [2]), ("丢单：客户总部冻结了全部预算，项目取消", [1])]
    rows += [(f"Row {i}", [i]) for i in range(5)]  # eight slots of about 70 px
    chart = Chart("due", "Due", "bars", "What", ["Count"], rows)
    with app.test_request_context():
        root = parse(chart.svg())
    labels = [t for t in root.iter(f"{NS}text") if "x-tick" in t.get("class", "")]
    due, lost, chinese = labels[:3]
    assert [s.text for s in due.iter(f"{NS}tspan")] == ["Contacts due", "today"]  # wrapped, not cut
    assert due.find(f"{NS}title") is None
    lines = [s.text for s in lost.iter(f"{NS}tspan")]
    assert len(lines) == 2 and lines[1].endswith("…") and lost.find(f"{NS}title").text == LONG
    zh_lines = [s.text for s in chinese.iter(f"{NS}tspan")]
    assert len(zh_lines) == 2 and zh_lines[0].startswith("丢单")
    assert chinese.find(f"{NS}title").text == rows[2][0]
    # The full label is also what a bar says on hover.
    assert [r.find(f"{NS}title").text for r in root.iter(f"{NS}rect")][1] == f"{LONG}: 2"


def test_wrap_breaks_chinese_between_characters_and_latin_at_spaces():
    lines, cut = wrap("客户总部冻结预算", 45)
    assert cut is False and lines == ["客户总部", "冻结预算"]
    lines, cut = wrap("Contacts due today", 80)
    assert (lines, cut) == (["Contacts due", "today"], False)
    lines, cut = wrap(LONG, 80)
    assert cut and len(lines) == 2 and all(text_width(line) <= 80 for line in lines)


def test_survey_scores_have_a_count_axis_and_detractors_in_red(app):
    scores = dict.fromkeys(range(11), 0) | {3: 1, 9: 2}
    with app.test_request_context():
        root = parse(progress_chart.scores_chart(scores, "nps").svg())
    assert ticks(root, "y") == ["0", "1", "2"]
    assert ticks(root, "x") == [str(s) for s in range(11)]
    fills = {r.get("data-label"): r.get("fill") for r in root.iter(f"{NS}rect")}
    assert fills["3"] == progress_chart.FAILED and fills["9"] == progress_chart.SENT
