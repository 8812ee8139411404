"""What `make run` prints before it serves: where to click and how to log in."""

from __future__ import annotations

import argparse

from app import create_app
from tablequeue.db import unit_of_work
from tablequeue.service import identity, sites


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    args = parser.parse_args()
    base = f"http://{args.host}:{args.port}"
    with create_app().app_context():
        staff = identity.list_staff()
        with unit_of_work() as session:
            others = [site for site in sites.all_sites(session) if not sites.is_default(site)]
    print(f"""
tablequeue is starting at {base}/
  {base}/kiosk    the sign-in tablet at the door
  {base}/staff    each staff member's console (log in at {base}/login)
  {base}/display  the TV on the wall
""")
    for site in others:  # the default site is the one above
        print(f"  {site.name}: {base}/s/{site.slug}/kiosk, /s/{site.slug}/staff, "
              f"/s/{site.slug}/display")
    if others:
        print("  (add or change sites with `flask --app app site ...`)\n")
    if not staff:
        print("""No staff account yet. In another terminal, create the first one (it becomes admin):
  .venv/bin/flask --app app staff add YOURNAME
then log in at /login with that name and password.
""")
    else:
        print(f"Staff accounts: {', '.join(s.username for s in staff)}. Stop with Ctrl-C.\n")


if __name__ == "__main__":
    main()
