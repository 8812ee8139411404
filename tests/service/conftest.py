"""The service folder's own fixture: `log_app`, the module server's app in this process
with the event log's counters emptied (tests/service/test_event_log*.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.kit.live import LiveServer


@pytest.fixture
def log_app(fresh: LiveServer) -> Iterator[Flask]:
    """The server's app in this process, with a clean log and counters."""
    with fresh.engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM event_counters"))
    with fresh.app.app_context():
        yield fresh.app
