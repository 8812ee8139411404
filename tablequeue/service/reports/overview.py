"""The all-sites view (admins of every site): one row of headline figures per site, each
site's period read on its own wall clock (today at a site in Tokyo is its own today)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from tablequeue import turns
from tablequeue.outcomes import SiteView
from tablequeue.service.reports.figures import Totals, report
from tablequeue.service.reports.percentiles import Spread
from tablequeue.service.reports.period import Period, parse


@dataclass(frozen=True)
class Headline:
    """One site's row: how many came, how it went, how long they waited and were served."""

    site: SiteView
    period: Period
    totals: Totals
    wait: Spread
    service: Spread


def overview(sites: Sequence[SiteView], args: Mapping[str, str]) -> list[Headline]:
    """Each site's headline figures for the period `args` asks for (as a site's own report
    page reads them: ?period=7d, or ?from=...&to=...), in the order of `sites`. A period
    `args` cannot describe raises PeriodError before anything is counted."""
    periods = [parse(dict(args), ZoneInfo(site.timezone), site=site.id) for site in sites]
    rows = []
    for site, period in zip(sites, periods, strict=True):
        figures = report(period)  # kept days where final: a busy site's year is not recounted
        rows.append(Headline(site, period, figures.totals, figures.wait, figures.service))
        turns.pause()  # between two sites, the worker's websockets get a turn
    return rows
