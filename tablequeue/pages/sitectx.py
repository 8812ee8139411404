"""Which site a page is about: `g.site` (a SiteView), set before every view. For now every
page serves the default site (today's unprefixed URLs)."""

from __future__ import annotations

from flask import Blueprint, current_app, g

from tablequeue.service.directory import directory_of

bp = Blueprint("sitectx", __name__)


@bp.before_app_request
def _site() -> None:
    g.site = directory_of(current_app).default()
