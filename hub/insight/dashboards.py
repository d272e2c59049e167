"""The three dashboards: which charts each holds, who may open it, and whose work it shows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from hub.core.auth import Role, User
from hub.core.charts import Chart
from hub.core.refusals import NotFound
from hub.insight import agent, director, specialist
from hub.insight.filters import Filters

ChartFunction = Callable[[Session, Filters], Chart]


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: object
    charts: dict[str, ChartFunction]
    own_work: bool  # the agent's: every figure is the viewer's own

    def filters_for(self, viewer: User, f: Filters) -> Filters:
        return f.scoped_to(viewer.id) if self.own_work else f

    def render(self, db: Session, viewer: User, f: Filters) -> list[Chart]:
        scoped = self.filters_for(viewer, f)
        return [function(db, scoped) for function in self.charts.values()]

    def chart(self, db: Session, viewer: User, f: Filters, key: str) -> Chart:
        function = self.charts.get(key)
        if function is None:
            raise NotFound(_("There is no chart %(key)s on this dashboard.", key=key))
        return function(db, self.filters_for(viewer, f))


DIRECTOR = Dashboard("director", _l("Director dashboard"), director.CHARTS, own_work=False)
SPECIALIST = Dashboard("specialist", _l("Specialist dashboard"), specialist.CHARTS, own_work=False)
AGENT = Dashboard("agent", _l("My dashboard"), agent.CHARTS, own_work=True)

ROLES_FOR = {"director": (Role.DIRECTOR,), "specialist": (Role.SPECIALIST, Role.DIRECTOR)}
