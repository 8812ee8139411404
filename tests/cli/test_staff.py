"""`flask --app app staff ...`: the commands an operator types, run as real processes
against the live server's database, with clear errors for what cannot be done."""

from __future__ import annotations

import json

import pytest

from tests.kit.client import new_ticket
from tests.kit.client import ticket as ticket_of
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer

# Throttles are tested in security/test_ws; these tests sign in faster than a person.
SERVER_ENV = {"RATE_LIMITS": "off"}

USERNAME_RULE = "a username is 1 to 32 letters, digits, '.', '_' or '-'"


def fails(server: LiveServer, *args: str, input: str | None = None) -> str:
    """Run a command that must fail; its error output (click prints `Error: ...`)."""
    done = server.flask_run(*args, input=input)
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def pick_reply(server: LiveServer, token: str, table: int) -> str:
    staff = server.connect("/ws/staff")
    try:
        staff.recv()
        return staff.answer(f"pick {table} {token}")
    finally:
        staff.close()


def test_add_list_and_the_first_account_is_admin(fresh):
    assert (fresh.flask("staff", "add", "ada", "--password", "password123")
            == "created ada (admin of every site)\n")
    assert fresh.flask("staff", "add", "bob", "--password", "password123") == (
        "created bob (sites: main)\n")
    assert fresh.flask("staff", "add", "cy.d-e_F", "--password", "password123", "--admin") == (
        "created cy.d-e_F (admin of every site)\n")
    token = fresh.token("bob")
    assert pick_reply(fresh, token, 7) == "success pick 7"
    assert fresh.flask("staff", "list").splitlines() == [
        "ada\ttable -\tsites all\tadmin", "bob\ttable 7 at main\tsites main",
        "cy.d-e_F\ttable -\tsites all\tadmin",
    ]


def test_add_prompts_for_the_password_twice_when_it_is_omitted(fresh):
    done = fresh.flask_run("staff", "add", "ada", input="password123\npassword123\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("created ada (admin of every site)")
    assert fresh.login("ada", "password123")


def test_add_refuses_a_bad_username(fresh):
    assert f"Error: {USERNAME_RULE}" in fails(fresh, "staff", "add", "with space",
                                              "--password", "password123")
    assert fresh.flask("staff", "list") == ""


@pytest.mark.parametrize("username", ["x" * 33, "émile", "a/b", "semi;colon", "<b>", "",
                                      "tab\tname", "ada\n", "Ada Lovelace"])
def test_the_username_rule(fresh, username):
    """The rule `staff add` applies (checked in-process: a CLI start costs seconds)."""
    from tablequeue.service import identity

    with fresh.app.app_context(), pytest.raises(identity.AccountError, match="a username is"):
        identity.add_staff(username, "password123")


def test_a_32_character_username_is_fine(fresh):
    fresh.add_staff("n" * 32)
    assert fresh.flask("staff", "list") == f"{'n' * 32}\ttable -\tsites all\tadmin\n"


def test_add_refuses_a_duplicate(fresh):
    fresh.flask("staff", "add", "ada", "--password", "password123")
    assert "Error: a staff member named 'ada' exists already" in fails(
        fresh, "staff", "add", "ada", "--password", "different-pw")
    assert fresh.login("ada", "password123") and not fresh.login("ada", "different-pw")


def test_add_refuses_a_short_password(fresh):
    assert "Error: a password needs at least 8 characters" in fails(
        fresh, "staff", "add", "ada", "--password", "1234567")
    fresh.add_staff("ada", "12345678")  # eight is enough


def test_token_prints_a_fresh_working_token_on_its_last_line(fresh):
    fresh.flask("staff", "add", "ada", "--password", "password123")
    first = fresh.flask("staff", "token", "ada").strip().splitlines()[-1]
    second = fresh.flask("staff", "token", "ada").strip().splitlines()[-1]
    assert first != second and len(first) >= 22
    assert pick_reply(fresh, first, 3) == "success pick 3"
    assert pick_reply(fresh, second, 3) == "success pick 3"  # both stay valid


@pytest.mark.parametrize("command",
                         [["token"], ["remove"], ["password", "--password", "password123"]])
def test_commands_on_an_unknown_account_say_so(fresh, command):
    assert "Error: no staff member named 'ghost'" in fails(fresh, "staff", command[0], "ghost",
                                                          *command[1:])


def test_remove_deletes_the_account_its_tokens_and_its_table(fresh, connect):
    token = fresh.add_staff("ada")
    fresh.add_staff("bob")
    assert pick_reply(fresh, token, 5) == "success pick 5"
    assert fresh.flask("staff", "remove", "ada") == "removed ada\n"
    assert fresh.flask("staff", "list").splitlines() == ["bob\ttable -\tsites main"]
    staff = connect("/ws/staff")
    assert staff.recv() == "taken"
    assert staff.answer(f"pick 5 {token}") == (
        "error pick the provided token does not belong to any staff member")
    assert not fresh.login("ada")


def test_removing_a_staff_member_requeues_the_ticket_being_served(fresh, connect, desk):
    ada = desk("ada", 2)
    ticket, _ = new_ticket(connect("/ws/kiosk"), "grace@example.org", "Grace Hopper")
    assert ada.answer(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    fresh.flask("staff", "remove", "ada")
    bob = desk("bob", 2)  # the table is free again, and the visitor waits at the front
    assert [m.split(" ", 1)[0] for m in bob.replay] == ["new"]
    again = ticket_of(bob.replay[0].removeprefix("new "))
    assert (again["id"], again["staff"], again["start"]) == (ticket["id"], "", ticket["start"])
    assert bob.answer(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"


def test_deactivating_at_admin_requeues_live_for_every_console(fresh, connect, desk):
    fresh.add_staff("boss")  # the first account: the admin
    ticket, _ = new_ticket(connect("/ws/kiosk"), "grace@example.org", "Grace Hopper")
    carol = desk("carol", 5)  # bound now: her replay already announced the ticket
    assert [m.split(" ", 1)[0] for m in carol.replay] == ["new"]
    ada = desk("ada", 2)
    assert ada.answer(f"accept {ticket['id']}") == f"success claimed {ticket['id']}"
    display = connect("/ws/display")
    assert display.sync() == ["pick 2", "pick 5", f"claimed ada 2 {display_json(ticket, 'ada')}"]
    carol.sync()
    admin = WebClient(fresh.port)
    assert admin.login("boss").status == 302
    token = admin.csrf_token("/admin/")
    assert admin.post("/admin/staff/ada/active", {"csrf_token": token}).status in (200, 302, 303)
    # The display clears table 2; every console hears the visitor is waiting again.
    assert display.until(lambda m: m == "unpick 2")[0] == "unpick 2"
    back = carol.until(lambda m: m.startswith("new "))[0]
    assert ticket_of(back.removeprefix("new "))["id"] == ticket["id"]
    assert ada.answer(f"complete {ticket['id']}") == (
        "error complete you are not assigned to any table")


def test_password_changes_the_password_and_revokes_every_session(fresh):
    token = fresh.add_staff("ada")
    cookie = fresh.login("ada", "password123")
    assert "Error: a password needs at least 8 characters" in fails(
        fresh, "staff", "password", "ada", "--password", "short")
    assert pick_reply(fresh, token, 3) == "success pick 3"  # a refused change revokes nothing
    out = fresh.flask("staff", "password", "ada", "--password", "new-password-1")
    assert out == "password changed for ada; their sessions were revoked\n"
    assert pick_reply(fresh, token, 3) == (
        "error pick the provided token does not belong to any staff member")
    assert fresh.http("GET", "/staff/", cookie=cookie)[0] == 302
    assert not fresh.login("ada", "password123")
    assert fresh.login("ada", "new-password-1")


def test_db_upgrade_is_idempotent(fresh):
    fresh.flask("db", "upgrade")  # the server fixture ran it once already


def display_json(ticket: dict, staff: str) -> str:
    shown = {**ticket, "email": "", "staff": staff}
    return json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
