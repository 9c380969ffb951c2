"""The dashboards' pages (executive, on-call, debug) as page objects rendered to HTML.

Pure: the pipeline gathers each page's frames (`vsmml.pipeline.dashboards`), the builders here
turn them into sections, and `render_page` writes one self-contained document: inline CSS and
SVG, one small inline script (refresh and the service filter) allowed by a nonce, nothing
fetched from elsewhere. Items link to each other by correlation id (`Links`).
"""

from vsmml.report.pages.model import Links, Page, content_security_policy, render_login, render_page

__all__ = ["Links", "Page", "content_security_policy", "render_login", "render_page"]
