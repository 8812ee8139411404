"""The PostgreSQL + Redis suite: several workers, several hosts, services going away.
It belongs to the run that has those services (`make test` runs the whole suite a second
time with TEST_DATABASE_URL and TEST_REDIS_URL set); without them, this folder is not
collected. Helpers the tests call are in tests/kit/scale.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.live import LiveServer
from tests.kit.scale import PrivateRedis, two_hosts

if not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")):
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture
def redis_and_server(tmp_path: Path) -> Iterator[tuple[PrivateRedis, LiveServer]]:
    """A private Redis and a 3-worker server relaying through it."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    server = LiveServer(tmp_path, env={"REDIS_URL": redis.url, "WEB_CONCURRENCY": "3"})
    try:
        server.start()
        yield redis, server
    finally:
        server.close()
        redis.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two servers ("hosts") of three workers on one database and one Redis channel."""
    with two_hosts(tmp_path_factory.mktemp("cluster")) as hosts:
        yield hosts
