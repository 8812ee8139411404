"""Managers' numbers: a period's figures (figures.py), the sum of its local days' (days.py,
counted in the database; sql.py, percentiles.py), finished days kept rather than recounted
(rollups.py), for whole days in the site's time zone (period.py); the CSV (export.py); a
row per site for admins of every site (overview.py)."""

from tablequeue.service.reports.figures import Report, Row, Totals, report
from tablequeue.service.reports.overview import Headline, overview
from tablequeue.service.reports.percentiles import Spread
from tablequeue.service.reports.period import Period, PeriodError

__all__ = ["Headline", "Period", "PeriodError", "Report", "Row", "Spread", "Totals", "overview",
           "report"]
