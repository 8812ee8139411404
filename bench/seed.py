"""`python -m bench.seed N PASSWORD`: create staff accounts s0..sN-1 in DATABASE_URL and print
one fresh session token per account, as a JSON list on the last line."""

from __future__ import annotations

import json
import sys

from app import create_app
from tablequeue.extensions import db
from tablequeue.service.identity import add_staff, issue_token


def main(count: int, password: str) -> list[str]:
    app = create_app()
    with app.app_context():
        for i in range(count):
            add_staff(f"s{i}", password)
        tokens = [issue_token(f"s{i}") for i in range(count)]
        db.engine.dispose()  # closes SQLite cleanly: the WAL is folded into the file we copy
        return tokens


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), sys.argv[2])))
