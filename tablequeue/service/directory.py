"""Each process's cache of the sites, by slug and by id: every request and handshake looks
its site up here, not in the database.

A site added, changed or removed anywhere (another worker, a `flask site` command) is
seen without a restart: a lookup that misses re-reads the sites (at most every
MISS_INTERVAL, so a stream of unknown slugs costs one read per interval), and the floor
poll (tablequeue.live.floorwatch) calls `refresh` every few seconds."""

from __future__ import annotations

import threading
import time

from flask import Flask

from tablequeue.db import unit_of_work
from tablequeue.extensions import Slot
from tablequeue.outcomes import SiteId, SiteView
from tablequeue.service import sites

MISS_INTERVAL = 0.5  # seconds between two re-reads caused by a miss


class SiteDirectory:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._by_slug: dict[str, SiteView] = {}
        self._by_id: dict[SiteId, SiteView] = {}
        self._read_at: float | None = None  # monotonic time of the last read

    def by_slug(self, slug: str) -> SiteView | None:
        found = self._by_slug.get(slug)
        if found is None and self._may_reread():
            self.refresh()
            found = self._by_slug.get(slug)
        return found

    def by_id(self, site: SiteId) -> SiteView | None:
        found = self._by_id.get(site)
        if found is None and self._may_reread():
            self.refresh()
            found = self._by_id.get(site)
        return found

    def default(self) -> SiteView:
        """The site today's unprefixed URLs serve (made if the database lacks it)."""
        found = self._by_slug.get(self._app.config["DEFAULT_SITE"])
        if found is not None:
            return found
        with self._app.app_context(), unit_of_work() as session:
            made = sites.default_site(session)
        self.refresh()
        return made

    def all(self) -> list[SiteView]:
        """Every site, by slug."""
        if self._read_at is None:
            self.refresh()
        return sorted(self._by_id.values(), key=lambda site: site.slug)

    def refresh(self) -> None:
        """Read every site now (the floor poll; a miss)."""
        with self._lock:
            self._read_at = time.monotonic()
        with self._app.app_context(), unit_of_work() as session:
            found = sites.all_sites(session)
        # Whole dictionaries swapped in: a reader sees the old set or the new one.
        self._by_slug = {site.slug: site for site in found}
        self._by_id = {site.id: site for site in found}

    def _may_reread(self) -> bool:
        with self._lock:
            read_at = self._read_at
            if read_at is not None and time.monotonic() - read_at < MISS_INTERVAL:
                return False
            self._read_at = time.monotonic()  # this caller re-reads; others wait the interval
            return True


_DIRECTORY: Slot[SiteDirectory] = Slot("tablequeue.service.directory")


def directory_of(app: Flask) -> SiteDirectory:
    """The app's directory, made on first use (a `flask` command's app as well)."""
    return _DIRECTORY.find(app) or _DIRECTORY.put(app, SiteDirectory(app))
