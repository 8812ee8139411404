"""The two sites every module here works with: the default site (`main`, by today's URLs
and by /s/main/) and site b, with their staff (tests/kit/sites.py); each test starts from
an empty queue at both."""

from __future__ import annotations

import pytest

from tests.kit.live import LiveServer
from tests.kit.sites import MAIN, OLD, B, Screens, clear, make_sites, screens


@pytest.fixture(scope="module")
def tokens(server: LiveServer) -> dict[str, str]:
    return make_sites(server)


@pytest.fixture(autouse=True)
def clean(server: LiveServer, tokens: dict[str, str]) -> None:
    clear(server)


@pytest.fixture
def a(connect) -> Screens:
    """The default site's screens, by today's URLs and by /s/main/."""
    return screens(connect, OLD, MAIN)


@pytest.fixture
def b(connect) -> Screens:
    return screens(connect, B)
