"""The dashboards' figures against values worked out by hand on tests/insight_data.py."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from hub.core.clock import business_zone
from hub.core.refusals import ValidationError
from hub.crm.customers.classification import suggest_by_revenue
from hub.insight import agent, director, specialist, summaries
from hub.insight.filters import Filters, parse_filters
from tests.insight_data import END, NOW, START, build

UTC = ZoneInfo("UTC")
WEEKS = ["2026-01-01", "2026-01-08", "2026-01-15", "2026-01-22", "2026-01-29", "2026-02-05",
         "2026-02-12", "2026-02-19", "2026-02-26", "2026-03-05", "2026-03-12"]


@pytest.fixture
def world(app, db, make_user):
    with app.test_request_context():
        world = build(db, make_user("agent", name="Ann"), make_user("agent", name="Bob"))
        summaries.refresh_all(db, UTC, NOW)
        db.commit()
        return world


def f(**kw):
    return Filters(START, END, NOW, UTC, **kw)


def rows(chart):
    return [(label, values) for label, values in chart.rows]


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def test_pipeline_by_stage_and_month(db, world, ctx):
    assert rows(director.pipeline_by_stage(db, f())) == [
        ("New", [500]), ("Qualified", [0]), ("Proposal", [3500]), ("Negotiation", [0])
    ]
    assert rows(director.pipeline_by_stage(db, f(owner_id=world.ann.id))) == [
        ("New", [500]), ("Qualified", [0]), ("Proposal", [1000]), ("Negotiation", [0])
    ]
    assert rows(director.pipeline_by_month(db, f())) == [
        ("2026-04", [1500]), ("2026-05", [2500]), ("No date", [0])
    ]
    assert rows(director.pipeline_by_month(db, f(region="North"))) == [("2026-04", [1500])]


def test_won_and_lost_with_reasons_in_the_range(db, world, ctx):
    assert rows(director.won_lost(db, f())) == [
        ("Won", [1]), ("Lost: Price", [2]), ("Lost: Timing", [1])
    ]
    assert rows(director.won_lost(db, f(owner_id=world.ann.id))) == [
        ("Won", [1]), ("Lost: Price", [1])
    ]


def test_customers_by_class(db, world, ctx):
    assert rows(director.customers_by_class(db, f())) == [("A", [1]), ("B", [2]), ("C", [3])]
    assert rows(director.customers_by_class(db, f(region="North"))) == [
        ("A", [1]), ("B", [2]), ("C", [0])
    ]


def test_revenue_pareto_points_and_cut_lines(db, world, ctx):
    chart = director.revenue_pareto(db, f())
    # Six customers; revenue in range 700 (Alpha), 200 (Beta), 100 (Gamma): total 1000.
    assert rows(chart) == [
        ("0", [0]), ("16.7", [70]), ("33.3", [90]), ("50", [100]), ("100", [100])
    ]
    # A while the revenue above is under 70%: Alpha; B under 90%: Beta. 1/6 and 2/6.
    assert chart.cuts == [("A cut", 16.7), ("B cut", 33.3)]
    revenue = {w.id: 0 for w in world.customers.values()}
    revenue.update({world.customers["alpha"].id: 700, world.customers["beta"].id: 200,
                    world.customers["gamma"].id: 100})
    classes = suggest_by_revenue(db, revenue)
    assert sum(1 for v in classes.values() if v == "A") == 1
    assert sum(1 for v in classes.values() if v in "AB") == 2
    headings, table = chart.table()
    assert headings == ["Line", "Share of customers (%)", "Share of revenue (%)"]
    assert table[-2:] == [["A cut", 16.7, None], ["B cut", 33.3, None]]


def test_follow_ups_done_due_and_overdue_per_rep(db, world, ctx):
    assert rows(director.follow_ups_per_rep(db, f())) == [("Ann", [4, 1, 1]), ("Bob", [2, 0, 1])]
    assert rows(director.follow_ups_per_rep(db, f(channel="call"))) == [
        ("Ann", [3, 1, 1]), ("Bob", [0, 0, 1])
    ]
    assert rows(director.follow_ups_per_rep(db, f(customer_class="B"))) == [("Ann", [1, 0, 1])]


def test_open_complaints_by_step_and_age(db, world, ctx):
    assert rows(director.complaints_open(db, f())) == [
        ("Received", [1, 1, 0, 0]),
        ("Confirmed", [0, 0, 0, 0]),
        ("Assessed", [0, 0, 1, 0]),
        ("Negotiated", [0, 0, 0, 0]),
        ("Resolved", [0, 0, 0, 1]),
    ]


def test_leads_by_source_and_conversion(db, world, ctx):
    assert rows(director.leads_by_source(db, f())) == [("Website", [2, 1]), ("Referral", [1, 0])]
    assert rows(director.conversion_by_source(db, f())) == [("Website", [50]), ("Referral", [0])]


def test_credit_reviews_due(db, world, ctx):
    assert rows(director.credit_reviews_due(db, f())) == [
        ("Overdue", [1, 0, 0]), ("Within 7 days", [0, 1, 0]), ("Within 30 days", [0, 0, 1])
    ]


def test_campaigns_compared_counts_and_rates(db, world, ctx):
    assert rows(specialist.campaigns_compared(db, f())) == [
        ("Spring SMS", [3, 2, 0, 0, 1, 1]),
        ("Newsletter", [4, 3, 2, 1, 1, 1]),
    ]
    assert rows(specialist.campaign_rates(db, f())) == [
        ("Spring SMS", [66.7, 0, 0, 50, 50]),
        ("Newsletter", [75, 66.7, 33.3, 33.3, 33.3]),
    ]
    assert rows(specialist.campaigns_compared(db, f(channel="email"))) == [
        ("Newsletter", [4, 3, 2, 1, 1, 1])
    ]
    assert rows(specialist.campaigns_compared(db, f(region="North"))) == [
        ("Spring SMS", [2, 2, 0, 0, 1, 1]),  # Alpha and Beta; Zeta's was never sent
        ("Newsletter", [2, 2, 2, 1, 1, 0]),
    ]


def test_channels_over_time(db, world, ctx):
    chart = specialist.channels_over_time(db, f())
    assert chart.series == ["SMS sent", "SMS delivered", "Email sent", "Email delivered",
                            "Call made", "Call answered"]
    expected = {label: [0] * 6 for label in WEEKS}
    expected["2026-01-29"] = [0, 0, 4, 3, 0, 0]
    expected["2026-02-19"] = [0, 0, 0, 0, 1, 1]
    expected["2026-02-26"] = [3, 2, 0, 0, 0, 0]
    expected["2026-03-05"] = [0, 0, 0, 0, 1, 0]
    expected["2026-03-12"] = [2, 1, 0, 0, 1, 1]
    assert rows(chart) == list(expected.items())


def test_nps_split_and_score_over_time(db, world, ctx):
    split = dict(rows(specialist.nps_split(db, f())))
    assert list(split) == WEEKS
    assert split["2026-01-08"] == [0, 0, 1]
    assert split["2026-02-26"] == [2, 1, 1]
    assert sum(sum(v) for v in split.values()) == 5  # the CSAT answer is not counted
    score = dict(rows(specialist.nps_score(db, f())))
    assert score["2026-01-08"] == [-100] and score["2026-02-26"] == [25]
    assert score["2026-01-01"] == [None]


def test_suppression_sources_and_growth(db, world, ctx):
    sources = specialist.suppression_sources(db, f())
    assert sources.series == ["Replied STOP", "Unsubscribed", "Bounced"]
    by_week = dict(rows(sources))
    assert by_week["2026-01-29"] == [0, 1, 1] and by_week["2026-02-26"] == [1, 0, 0]
    assert sum(sum(v) for v in by_week.values()) == 3
    growth = dict(rows(specialist.suppression_growth(db, f())))
    assert growth["2026-01-01"] == [1] and growth["2026-01-29"] == [3]
    assert growth["2026-02-26"] == [4] and growth["2026-03-12"] == [4]
    email_only = dict(rows(specialist.suppression_growth(db, f(channel="email"))))
    assert email_only["2026-01-01"] == [0] and email_only["2026-03-12"] == [2]


def test_agent_figures_are_the_agents_own(db, world, ctx):
    mine = f().scoped_to(world.ann.id)
    assert rows(agent.activity(db, mine)) == [("Today", [1, 1]), ("This week", [2, 2])]
    assert rows(agent.due_list(db, mine)) == [
        ("Contacts due today", [1]), ("Contacts overdue", [1]), ("Credit reviews", [1]),
        ("Complaint steps", [1]),
    ]
    assert rows(agent.my_classes(db, mine)) == [("A", [1]), ("B", [1]), ("C", [1])]
    assert rows(agent.conversion(db, mine)) == [("Leads to customers", [100]),
                                                ("Opportunities won", [50])]
    bobs = f().scoped_to(world.bob.id)
    assert rows(agent.activity(db, bobs)) == [("Today", [0, 0]), ("This week", [0, 0])]
    assert rows(agent.conversion(db, bobs)) == [("Leads to customers", [0]),
                                                ("Opportunities won", [0])]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"start": "2026-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "start"),
        ({"owner": "ann"}, "owner"),
        ({"class": "D"}, "class"),
        ({"channel": "fax"}, "channel"),
        ({"region": "x" * 81}, "region"),
    ],
)
def test_a_bad_filter_names_its_field(ctx, args, field):
    with pytest.raises(ValidationError) as caught:
        parse_filters(args, NOW, UTC)
    assert field in caught.value.as_dict()


def test_default_range_is_the_last_90_days(ctx):
    parsed = parse_filters({}, NOW, UTC)
    assert (parsed.start.isoformat(), parsed.end.isoformat()) == ("2025-12-16", "2026-03-15")


def test_the_scheduled_job_brings_the_summaries_up_to_date(app, db, world, redis_conn, run_jobs):
    from hub.core.clock import utcnow
    from hub.crm.followups.models import FollowUp
    from hub.runtime.schedule import PERIODIC, enqueue_due

    now = utcnow()
    db.add(FollowUp(customer_id=world.customers["gamma"].id, user_id=world.bob.id,
                    channel="call", occurred_at=now))
    db.commit()
    with app.test_request_context():
        tz = business_zone()  # the job's days are the business's
        local = now.astimezone(tz).date()
        today = Filters(local, local, now, tz)
        # The snapshot is as of the fixed day the data set was summarized on.
        assert rows(director.follow_ups_per_rep(db, today)) == [
            ("Ann", [0, 1, 1]), ("Bob", [0, 0, 1])
        ]
        recent = tuple(p for p in PERIODIC if p.name == "insight-recent")
        assert enqueue_due(redis_conn, periodic=recent) == ["insight-recent"]
        assert enqueue_due(redis_conn, periodic=recent) == []  # once a period
        run_jobs()
        db.expire_all()
        # Today: Bob's new call counted; every dated next contact of the data set is past now.
        assert rows(director.follow_ups_per_rep(db, today)) == [
            ("Ann", [0, 0, 2]), ("Bob", [1, 0, 2])
        ]
        assert summaries.refreshed_at(db) >= now
