"""Which site a page serves: `/s/<slug>/…` names it; today's unprefixed URLs serve the
default site. Before a view runs, `g.site` is that site (a SiteView); an unknown slug is a
404 before anything else looks at the request.

A per-site blueprint is a SiteBlueprint: each of its routes is added twice, once under its
prefix (`/kiosk/`) and once under `/s/<site>` + prefix (`/s/career/kiosk/`), with one
endpoint. url_for then keeps the page's own form: werkzeug builds from the rule with the
most arguments it can fill, so `site` given (by keep_prefix, on a prefixed page) builds the
`/s/<slug>/` URL, and no `site` builds today's URL."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, g, has_request_context
from flask.typing import RouteCallable

from tablequeue.outcomes import SiteView
from tablequeue.service.directory import directory_of

SITE_PREFIX = "/s/<site>"
SLUG = re.compile(r"[a-z0-9-]{1,40}")


class SiteBlueprint(Blueprint):
    """A blueprint for one site's screen: every route at both URLs, `g.site` set for each."""

    def __init__(self, name: str, import_name: str, *, prefix: str = "") -> None:
        super().__init__(name, import_name)
        self.prefix = prefix
        self.url_value_preprocessor(enter_site)
        self.url_defaults(keep_prefix)

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: RouteCallable | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        for path in (self.prefix + rule, SITE_PREFIX + self.prefix + rule):
            super().add_url_rule(path, endpoint, view_func, provide_automatic_options,
                                 **options)


def enter_site(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """g.site from the URL (the view never sees `site`); 404 for a slug no site has."""
    slug = values.pop("site", None) if values else None
    directory = directory_of(current_app)
    if slug is None:
        g.site, g.site_in_url = directory.default(), False
        return
    site = directory.by_slug(slug) if SLUG.fullmatch(slug) else None
    if site is None:
        abort(404, "There is no site at this address.")
    g.site, g.site_in_url = site, True


def keep_prefix(endpoint: str, values: dict[str, Any]) -> None:
    """A link from a `/s/<slug>/` page to another page of the site keeps the prefix."""
    if "site" not in values and has_request_context() and g.get("site_in_url"):
        values["site"] = g.site.slug


def current_site() -> SiteView:
    site: SiteView = g.site
    return site


def site_url_prefix() -> str:
    """`/s/<slug>` on a prefixed page, "" on today's URLs: what the screens' scripts put
    before `/ws/<role>` (the templates render it; the scripts never guess)."""
    return f"/s/{g.site.slug}" if g.get("site_in_url") else ""


def socket_path(role: str) -> str:
    return f"{site_url_prefix()}/ws/{role}"


def template_globals() -> dict[str, object]:
    """For every template: the page's site (None on a page of no site), its sockets, and
    whether there are several sites (a screen names its site only then: a deployment of one
    site looks as it always did)."""
    many = len(directory_of(current_app).all()) > 1
    return {"site": g.get("site"), "socket_path": socket_path, "many_sites": many}
