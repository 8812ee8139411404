"""`python -m bench.sites_seed SITES STAFF TABLES PASSWORD`: create sites site-000 ..
(each with TABLES tables) in DATABASE_URL, and STAFF accounts per site, each a member of
its own site only (`x<site>-<n>`); print one fresh session token per account, site by
site, as a JSON list on the last line (bench/sites.py's seed)."""

from __future__ import annotations

import json
import sys

from app import create_app
from tablequeue.db import unit_of_work
from tablequeue.extensions import db
from tablequeue.service import sites
from tablequeue.service.identity import add_staff, issue_token


def slug(site: int) -> str:
    return f"site-{site:03d}"


def account(site: int, n: int) -> str:
    return f"x{site:03d}-{n}"


def main(count: int, staff: int, tables: int, password: str) -> list[str]:
    app = create_app()
    tokens = []
    with app.app_context():
        for site in range(count):
            with unit_of_work() as session:
                made = sites.add(session, slug(site), f"Bench site {site}", tables=tables,
                                 timezone="UTC")
                assert made.refusal is None, made.refusal
                site_id = made.value.id
            for n in range(staff):
                add_staff(account(site, n), password, sites=[site_id])
                tokens.append(issue_token(account(site, n)))
        db.engine.dispose()  # closes SQLite cleanly: the WAL is folded into the file we copy
    return tokens


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
