"""Are the PostgreSQL and Redis of TEST_DATABASE_URL / TEST_REDIS_URL reachable?
`python -m tests.kit.services` exits 0 if both answer, else 1 and says which one did not."""

from __future__ import annotations

import os
import sys

import redis
import sqlalchemy as sa


def unreachable(database_url: str, redis_url: str) -> list[str]:
    problems = []
    try:
        engine = sa.create_engine(database_url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure means "not usable here"; say which and why
        problems.append(f"PostgreSQL at {database_url}: {type(exc).__name__}: {exc}".strip())
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:
        problems.append(f"Redis at {redis_url}: {type(exc).__name__}: {exc}")
    return problems


if __name__ == "__main__":
    found = unreachable(os.environ["TEST_DATABASE_URL"], os.environ["TEST_REDIS_URL"])
    for problem in found:
        print("unreachable:", problem.splitlines()[0], file=sys.stderr)
    sys.exit(1 if found else 0)
