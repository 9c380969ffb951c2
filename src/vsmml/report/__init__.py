"""The weekly report and the dashboards' pages: sections, plots and templates (pure: no I/O).

Frames the pipeline gathered in, a `Report` out::

    report = weekly_report(data)        # data: a WeeklyData
    report.to_dict()                    # plain JSON values
    report.save_html("week.html")       # one self-contained file: inline CSS and SVG
    report                              # in a notebook: rendered inline (_repr_html_)
"""

from vsmml.report.model import Card, Link, Plot, Report, Section, Table
from vsmml.report.week import IsoWeek, latest_complete_week
from vsmml.report.weekly import WeeklyData, weekly_report

__all__ = [
    "Card",
    "IsoWeek",
    "Link",
    "Plot",
    "Report",
    "Section",
    "Table",
    "WeeklyData",
    "latest_complete_week",
    "weekly_report",
]
