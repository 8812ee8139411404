"""`flask --app app site ...`, the sites of `staff ...`, and `--site SLUG` on every
per-site command, run as real processes against the live server's database: clear errors
and a non-zero exit for what cannot be done (an unknown slug above all)."""

from __future__ import annotations

import time

import pytest

from tablequeue.outcomes import SiteId
from tests.kit.database import rows
from tests.kit.live import LiveServer

SERVER_ENV = {"RATE_LIMITS": "off", "TIMEZONE": "Europe/Berlin"}


def fails(server: LiveServer, *args: str) -> str:
    """Run a command that must fail; its error output (click prints `Error: ...`)."""
    done = server.flask_run(*args)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def site_id(server: LiveServer, slug: str) -> SiteId:
    from tablequeue.db import unit_of_work
    from tablequeue.service import sites

    with server.app.app_context(), unit_of_work() as session:
        found = sites.find(session, slug)
    assert found is not None, slug
    return found.id


def sign_in(server: LiveServer, slug: str, email: str, name: str) -> int:
    """A visitor signs in at the site's kiosk (the service call its websocket makes)."""
    from tablequeue import service

    with server.app.app_context():
        return service.new(email, name, site=site_id(server, slug)).value.id


def seat(server: LiveServer, username: str, slug: str, table: int) -> str:
    """The account picks a table at the site; its token."""
    from tablequeue import service
    from tablequeue.service.identity import hash_token

    token = server.token(username)
    with server.app.app_context():
        outcome = service.pick(hash_token(token), table, site=site_id(server, slug))
    assert outcome.refusal is None, outcome.refusal
    return token


def test_add_list_and_set(fresh: LiveServer) -> None:
    assert fresh.flask("site", "add", "career", "Career office", "--tables", "3",
                       "--timezone", "America/New_York").splitlines()[0] == (
        "added career\tCareer office\t3 tables\tAmerica/New_York")
    fresh.flask("site", "add", "tutoring", "Tutoring room")  # TABLE_COUNT, TIMEZONE
    assert fresh.flask("site", "list").splitlines() == [
        "career\tCareer office\t3 tables\tAmerica/New_York\topen",
        "main\ttablequeue\t50 tables\tEurope/Berlin\topen\tdefault",
        "tutoring\tTutoring room\t50 tables\tEurope/Berlin\topen",
    ]
    assert fresh.flask("site", "set", "career", "--name", "Careers", "--tables", "1",
                       "--timezone", "UTC") == "changed career\tCareers\t1 table\tUTC\n"
    fresh.flask("line", "close", "--site", "tutoring")
    assert fresh.flask("site", "list").splitlines()[::2] == [
        "career\tCareers\t1 table\tUTC\topen",
        "tutoring\tTutoring room\t50 tables\tEurope/Berlin\tclosed, opens when an admin "
        "reopens it"]


@pytest.mark.parametrize(("args", "error"), [
    (["add", "main", "Again"], "a site 'main' exists already"),
    (["add", "Career", "X"], "a slug is 1 to 40 of a-z, 0-9 and -"),
    (["add", "x" * 41, "X"], "a slug is 1 to 40 of a-z, 0-9 and -"),
    (["add", "ok", "X", "--tables", "0"], "the number of tables must be between 1 and 1000"),
    (["add", "ok", "X", "--timezone", "Mars/Base"], "'Mars/Base' is not a time zone name"),
    (["add", "ok", " "], "a site's name is 1 to 100 printable characters"),
    (["set", "nowhere", "--name", "X"], "no site 'nowhere'"),
    (["set", "main"], "give --name, --tables and/or --timezone"),
    (["remove", "nowhere"], "no site 'nowhere'"),
    (["remove", "main"], "main is the default site (DEFAULT_SITE)"),
])
def test_what_cannot_be_done_says_why(fresh: LiveServer, args: list[str], error: str) -> None:
    assert error in fails(fresh, "site", *args)


def test_set_refuses_to_drop_a_held_table(fresh: LiveServer) -> None:
    fresh.flask("site", "add", "career", "Career office", "--tables", "5")
    fresh.flask("staff", "add", "ada", "--password", "password123", "--site", "career")
    seat(fresh, "ada", "career", 4)
    assert "table 4 is in use" in fails(fresh, "site", "set", "career", "--tables", "4")
    assert fresh.flask("site", "set", "career", "--tables", "5").startswith("changed career")


def test_remove_is_refused_while_anyone_waits_and_keeps_nothing(fresh: LiveServer) -> None:
    fresh.flask("site", "add", "career", "Career office")
    sign_in(fresh, "main", "grace@example.org", "Grace Hopper")
    waiting = sign_in(fresh, "career", "grace@example.org", "G. Hopper")
    fresh.flask("announce", "--site", "career", "Careers fair today")
    error = fails(fresh, "site", "remove", "career")
    assert "cannot remove career: someone is waiting or being served there (1 waiting)" in error
    fresh.add_staff("boss")  # the first account: admin of every site
    fresh.flask("staff", "add", "ada", "--password", "password123", "--site", "career")
    token = seat(fresh, "ada", "career", 0)
    from tablequeue import service
    from tablequeue.service.identity import hash_token

    with fresh.app.app_context():
        career = site_id(fresh, "career")
        assert service.accept(hash_token(token), waiting, site=career).refusal is None
    assert "someone is waiting or being served there (0 waiting)" in fails(
        fresh, "site", "remove", "career")
    with fresh.app.app_context():
        assert service.complete(hash_token(token), waiting, site=career).refusal is None
    assert fresh.flask("site", "remove", "career") == "removed site career\n"
    assert [line.split("\t")[0] for line in fresh.flask("site", "list").splitlines()] == ["main"]
    assert rows(fresh, "SELECT name FROM visitors") == [("Grace Hopper",)]
    assert rows(fresh, "SELECT count(*) FROM tickets") == [(1,)]
    assert rows(fresh, "SELECT count(*) FROM settings WHERE site_id = :s", s=career) == [(0,)]
    assert fresh.flask("staff", "list").splitlines()[0] == "ada\ttable -\tsites none"


def test_staff_sites_and_admin_rights(fresh: LiveServer) -> None:
    for slug in ("career", "tutoring"):
        fresh.flask("site", "add", slug, slug.title())
    assert fresh.flask("staff", "add", "ada", "--password", "password123") == (
        "created ada (admin of every site)\n")  # the first account
    assert fresh.flask("staff", "add", "bob", "--password", "password123") == (
        "created bob (sites: main)\n")
    assert fresh.flask("staff", "add", "cy", "--password", "password123", "--site",
                       "tutoring", "--site", "career", "--site", "career") == (
        "created cy (sites: tutoring, career)\n")
    assert fresh.flask("staff", "sites", "bob", "career", "main") == "bob works at career, main\n"
    assert fresh.flask("staff", "admin", "cy", "--site", "career") == (
        "cy is admin of career only\n")
    assert fresh.flask("staff", "list").splitlines() == [
        "ada\ttable -\tsites all\tadmin",
        "bob\ttable -\tsites career, main",
        "cy\ttable -\tsites career, tutoring\tadmin of career",
    ]
    assert "ada is the last admin of every site" in fails(fresh, "staff", "admin", "ada",
                                                          "--none")
    fresh.flask("staff", "admin", "cy", "--every-site")
    assert fresh.flask("staff", "admin", "ada", "--site", "main", "--site", "tutoring") == (
        "ada is admin of main, tutoring only\n")
    assert "cy is the last admin of every site" in fails(fresh, "staff", "admin", "cy",
                                                         "--none")
    fresh.flask("staff", "admin", "ada", "--every-site")
    assert fresh.flask("staff", "admin", "cy", "--none") == "cy is admin of no site\n"
    assert fresh.flask("staff", "list").splitlines()[::2] == [
        "ada\ttable -\tsites all\tadmin", "cy\ttable -\tsites career, tutoring"]


def test_staff_errors(fresh: LiveServer) -> None:
    fresh.flask("staff", "add", "ada", "--password", "password123")
    assert "no site 'nowhere'" in fails(fresh, "staff", "add", "bob", "--password",
                                        "password123", "--site", "nowhere")
    assert "no site 'nowhere'" in fails(fresh, "staff", "sites", "ada", "main", "nowhere")
    assert "no staff member named 'ghost'" in fails(fresh, "staff", "sites", "ghost", "main")
    assert "give --site SLUG (repeatable), --every-site or --none" in fails(
        fresh, "staff", "admin", "ada")
    assert fresh.flask("staff", "list") == "ada\ttable -\tsites all\tadmin\n"  # bob: never made


def test_leaving_a_site_frees_the_table_there(fresh: LiveServer) -> None:
    fresh.flask("site", "add", "career", "Career office")
    fresh.add_staff("ada")
    fresh.flask("staff", "add", "bob", "--password", "password123", "--site", "career",
                "--site", "main")
    seat(fresh, "bob", "career", 2)
    assert fresh.flask("staff", "list").splitlines()[1] == (
        "bob\ttable 2 at career\tsites career, main")
    assert fresh.flask("staff", "sites", "bob", "career") == "bob works at career\n"
    assert fresh.flask("staff", "sites", "bob", "main") == (
        "bob works at main (its table there was freed)\n")
    assert fresh.flask("staff", "list").splitlines()[1] == "bob\ttable -\tsites main"


@pytest.mark.parametrize("command", [
    ["announce", "Hello"], ["announce", "--clear"], ["hours", "set", "mon 09:00-17:00"],
    ["hours", "show"], ["hours", "clear"], ["line", "close"], ["line", "open"],
    ["device", "issue", "kiosk", "lobby"], ["device", "revoke", "lobby"], ["device", "list"],
    ["reports", "warm", "--days", "2"],
])
def test_an_unknown_site_is_an_error_for_every_per_site_command(
        fresh: LiveServer, command: list[str]) -> None:
    assert "Error: no site 'nowhere'" in fails(fresh, *command, "--site", "nowhere")


def test_per_site_commands_change_that_site_only(fresh: LiveServer) -> None:
    fresh.flask("site", "add", "career", "Career office", "--timezone", "America/New_York")
    career = site_id(fresh, "career")
    assert fresh.flask("announce", "--site", "career", "Careers fair") == (
        "announced until cleared\n")
    fresh.flask("hours", "set", "--site", "career", "mon-sun 00:00-24:00")
    assert rows(fresh, "SELECT site_id, key FROM settings ORDER BY key") == [
        (career, "announcement"), (career, "hours")]
    assert fresh.flask("hours", "show").splitlines() == [
        "no hours set: always open", "time zone Europe/Berlin; the line is open"]
    assert fresh.flask("hours", "show", "--site", "career").splitlines()[-1] == (
        "time zone America/New_York; the line is open")
    fresh.flask("device", "issue", "--site", "career", "kiosk", "lobby")
    assert fresh.flask("device", "list", "--site", "career") == "lobby\tkiosk\tin use\n"
    assert "lobby" not in fresh.flask("device", "list")
    assert "Error:" in fails(fresh, "device", "revoke", "lobby")  # not the default site's
    fresh.flask("device", "revoke", "--site", "career", "lobby")
    assert fresh.flask("reports", "warm", "--site", "career", "--days", "2") == (
        "1 day(s) counted and kept (America/New_York)\n")


def _until_status(server: LiveServer, path: str, status: int) -> None:
    """Every worker re-reads the sites on its own clock: wait (bounded, generously for a
    loaded machine) until the one that answers agrees."""
    deadline = time.monotonic() + 30
    while server.http("GET", path)[0] != status:
        assert time.monotonic() < deadline, f"{path} never answered {status}"
        time.sleep(0.2)


def test_a_running_server_follows_the_site_commands(fresh: LiveServer, connect) -> None:
    """Added, changed and removed without a restart; an announcement reaches the site's
    screens only. A slug no earlier test of this module used: a worker that saw a slug
    removed may route it to the removed site for up to 5 s (docs/sites.md)."""
    fresh.flask("site", "add", "fairs", "Careers fair office")
    _until_status(fresh, "/s/fairs/kiosk/", 200)  # a worker's miss re-reads the sites
    here, main = connect("/s/fairs/ws/display"), connect("/ws/display")
    for display in (here, main):
        assert display.answer("watch") == "success watch"
        display.drain()
    fresh.flask("announce", "--site", "fairs", "Careers fair")
    assert here.until(lambda m: m.startswith("announce "))[0] == "announce Careers fair"
    assert not [m for m in main.sync() if m.startswith("announce")]
    fresh.flask("site", "remove", "fairs")
    _until_status(fresh, "/s/fairs/kiosk/", 404)  # each worker re-reads its sites every 5 s
