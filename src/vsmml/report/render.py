"""Render reports and pages to HTML with jinja2 (autoescape on: every text from data is escaped).

The templates and the stylesheet ship inside the package (`vsmml/report/templates`); the
output is one self-contained document: inline CSS and SVG, no scripts, fonts or links to fetch,
and a Content-Security-Policy that forbids loading anything.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    import jinja2

    from vsmml.report.model import Report


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment over the package's templates (autoescaping every template)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vsmml.report", "templates"),
        autoescape=True,
        trim_blocks=False,
        lstrip_blocks=False,
        undefined=jinja2.StrictUndefined,
    )
    return env


@lru_cache(maxsize=4)
def stylesheet(name: str = "style.css") -> Markup:
    """The package's stylesheet, trusted as is (it is ours, not data)."""
    text = resources.files("vsmml.report").joinpath("templates", name).read_text("utf-8")
    return Markup(text)


def render_report(report: Report, *, fragment: bool = False) -> str:
    """The report as a full HTML document, or as a fragment (styles scoped) for notebooks."""
    provenance = [(str(k), str(v)) for k, v in report.provenance.items()]
    return (
        environment()
        .get_template("report.html.j2")
        .render(report=report, css=stylesheet(), fragment=fragment, provenance=provenance)
    )


def render(template: str, **context: Any) -> str:
    """Any template of the package with `context` (the dashboards use this)."""
    return environment().get_template(template).render(css=stylesheet(), **context)
