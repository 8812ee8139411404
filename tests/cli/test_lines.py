"""`flask --app app lines ...` (docs/lines.md) run as real processes against the live
server's database: add, list, rename, close, open, remove with `--site SLUG`; clear errors
and a non-zero exit for what cannot be done; an open kiosk that asked for the lines hears
each change."""

from __future__ import annotations

from collections.abc import Callable

from tests.kit.client import Client
from tests.kit.database import rows
from tests.kit.lines import ask_lines
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off"}


def fails(server: LiveServer, *args: str) -> str:
    """Run a command that must fail; its error output (click prints `Error: ...`)."""
    done = server.flask_run(*args)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def listed(server: LiveServer, *site: str) -> list[list[str]]:
    return [row.split("\t") for row in server.flask("lines", "list", *site).splitlines()]


def test_add_rename_close_open_and_list(fresh: LiveServer,
                                        connect: Callable[[str], Client]) -> None:
    kiosk = connect("/ws/kiosk")
    general = listed(fresh)[0]
    assert general[1:] == ["General", "open"]
    ask_lines(kiosk)
    out = fresh.flask("lines", "add", "Financial aid")
    assert out.startswith("line added: ") and out.rstrip().endswith("Financial aid\topen")
    aid = listed(fresh)[1][0]
    assert kiosk.until(lambda m: "Financial aid" in m)[0].startswith("lines [")
    fresh.flask("lines", "add", "Transcripts")
    fresh.flask("lines", "rename", "Transcripts", "Records")
    fresh.flask("lines", "close", aid)  # by id
    assert [row[1:] for row in listed(fresh)] == [
        ["General", "open"], ["Financial aid", "closed"], ["Records", "open"]]
    frame, _ = kiosk.until(lambda m: '"name":"Financial aid","open":false' in m)
    assert '"name":"Records","open":true' in frame
    fresh.flask("lines", "open", "Financial aid")
    assert listed(fresh)[1][2] == "open"
    assert "a line with this name exists already" in fails(fresh, "lines", "add", "Records")
    assert "at most 40 characters" in fails(fresh, "lines", "add", "x" * 41)
    assert "a line needs a name" in fails(fresh, "lines", "add", "  ")
    assert "no line 'Nope'" in fails(fresh, "lines", "close", "Nope")
    assert "no site 'nope'" in fails(fresh, "lines", "list", "--site", "nope")


def test_remove_is_refused_while_anyone_waits_and_for_the_last_line(
        fresh: LiveServer, connect: Callable[[str], Client]) -> None:
    assert "a site keeps at least one line" in fails(fresh, "lines", "remove", "General")
    fresh.flask("lines", "add", "Aid")
    aid = listed(fresh)[1][0]
    kiosk = connect("/ws/kiosk")
    made = kiosk.answer(f"join {aid} ada@example.org Ada")
    assert made.startswith("success join "), made
    assert "someone is waiting or being served in this line" in fails(
        fresh, "lines", "remove", "Aid")
    fresh.flask("lines", "remove", "General")  # nobody there
    assert [row[1] for row in listed(fresh)] == ["Aid"]
    # A removed line stays for the reports, named; the kiosk's first open line is Aid now.
    assert rows(fresh, "SELECT name FROM lines WHERE removed_at IS NOT NULL") == [("General",)]
    reply = kiosk.ask("new bob@example.org Bob")
    assert reply.startswith("success new "), reply
    assert rows(fresh, "SELECT count(*) FROM tickets WHERE line_id = :line",
                line=int(aid)) == [(2,)]
    fresh.flask("lines", "add", "General")  # the name is free again


def test_lines_of_another_site(fresh: LiveServer) -> None:
    fresh.flask("site", "add", "career", "Career office")
    assert [row[1:] for row in listed(fresh, "--site", "career")] == [["General", "open"]]
    fresh.flask("lines", "add", "Internships", "--site", "career")
    assert [row[1] for row in listed(fresh, "--site", "career")] == ["General", "Internships"]
    assert [row[1] for row in listed(fresh)] == ["General"]
