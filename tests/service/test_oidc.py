"""Who may sign in through the OpenID Connect provider (tablequeue/service/oidc.py), through
a real provider process and the real server: an account is matched once by an email the
provider vouches for, then remembered by the provider's `sub`; a different `sub` with that
email, an unverified email, an unknown or deactivated account are refused. A second server
trusts emails without `email_verified`, lets example.edu sign itself up and makes admins
of the tq-admins group, at each sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.database import rows
from tests.kit.live import LiveServer, free_port
from tests.kit.oidc import (
    Provider,
    accounts,
    add_account,
    add_site,
    provider_env,
    sign_in,
    signed_in_nowhere,
)

OIDC_PORT = free_port()
SERVER_ENV = {**provider_env(OIDC_PORT), "RATE_LIMITS": "off"}
LENIENT_ENV = {**SERVER_ENV, "OIDC_TRUST_EMAIL": "on", "OIDC_ALLOWED_DOMAINS": "example.edu",
               "OIDC_ADMIN_GROUP": "tq-admins"}


@pytest.fixture(scope="module")
def lenient_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(Path(tmp_path_factory.mktemp("lenient")), LENIENT_ENV).start()
    yield live
    live.close()


@pytest.fixture
def lenient(lenient_server: LiveServer, idp: Provider) -> LiveServer:
    """The second server, emptied, with the provider reset."""
    lenient_server.reset()
    return lenient_server


def _refused(server: LiveServer, idp: Provider, user: str, says: str) -> None:
    before = accounts(server)
    done = sign_in(server, idp, user)
    assert done.reply.status == 403, done.reply.body
    assert says in done.message()
    signed_in_nowhere(server, done, before)


def _admin_page(server: LiveServer, idp: Provider, user: str) -> int:
    done = sign_in(server, idp, user)
    assert done.reply.status == 302, done.reply.body
    return done.app.get("/admin/").status


# ---- matched by a vouched email, then remembered by sub -----------------------------------


def test_an_account_an_admin_made_is_matched_by_email_then_remembered_by_sub(idp, server):
    add_account(server, "ada", "Ada@Example.edu")  # stored lower-cased
    idp.add_user("ada", email="ADA@example.EDU", sub="0b2f-ada")
    assert sign_in(server, idp, "ada").reply.header("Location") == "/staff/"
    assert accounts(server)["ada"] == ("ada@example.edu", "0b2f-ada", 1)
    # Her address changes at the provider: the sub still finds her account.
    idp.add_user("ada", email="ada.lovelace@example.edu", sub="0b2f-ada")
    assert sign_in(server, idp, "ada").reply.header("Location") == "/staff/"
    assert accounts(server) == {"ada": ("ada@example.edu", "0b2f-ada", 2)}


def test_another_sub_presenting_a_linked_email_is_refused(idp, server):
    add_account(server, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu", sub="sub-ada")
    assert sign_in(server, idp, "ada").reply.status == 302
    idp.add_user("newcomer", email="ada@example.edu", sub="sub-newcomer")  # a reused address
    _refused(server, idp, "newcomer", "The address ada@example.edu belongs to a staff account "
             "that signs in with another account at the provider.")


@pytest.mark.parametrize("verified", [False, None])
def test_an_email_the_provider_does_not_vouch_for_is_refused(idp, server, verified):
    add_account(server, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu", email_verified=verified)
    _refused(server, idp, "ada", "The provider has not verified your email address")


def test_an_unknown_account_is_refused_without_allowed_domains(idp, server):
    idp.add_user("bob", email="bob@example.edu")
    _refused(server, idp, "bob", "There is no staff account for bob@example.edu. Ask an admin "
             "to add one with this address.")
    assert accounts(server) == {}


def test_no_email_at_all_is_refused(idp, server):
    idp.add_user("ada", email=None)
    _refused(server, idp, "ada", "The provider did not send an email address")


def test_a_deactivated_account_is_refused_linked_or_not(idp, server):
    from tablequeue.service import identity

    add_account(server, "ada", "ada@example.edu")
    add_account(server, "bob", "bob@example.edu")
    idp.add_user("ada", email="ada@example.edu")
    idp.add_user("bob", email="bob@example.edu")
    assert sign_in(server, idp, "bob").reply.status == 302  # linked
    with server.app.app_context():
        identity.set_active("ada", False)
        identity.set_active("bob", False)  # which also ends bob's session
    _refused(server, idp, "ada", "This staff account is deactivated.")
    _refused(server, idp, "bob", "This staff account is deactivated.")
    assert accounts(server)["ada"][1] is None  # never linked


def test_groups_make_no_admin_without_an_admin_group(idp, server):
    add_account(server, "boss", None, password="password123")  # the first one, admin
    add_account(server, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu", groups=["tq-admins", "admins"])
    assert _admin_page(server, idp, "ada") == 403


def test_claims_that_only_userinfo_carries_are_read_there(idp, server):
    """A provider (often Shibboleth's OIDC front) whose ID token has little beyond `sub`."""
    add_account(server, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu")
    idp.switch(claims_in_userinfo_only=True)
    assert sign_in(server, idp, "ada").reply.status == 302
    assert idp.log()["userinfo"] == 1


def test_an_account_without_a_password_has_no_password_login(idp, server):
    add_account(server, "ada", "ada@example.edu")
    assert server.login("ada", "") is None and server.login("ada", "password123") is None


def test_a_password_account_given_an_email_signs_in_either_way(idp, server):
    server.add_staff("carol")
    idp.add_user("carol", email="carol@example.edu")
    _refused(server, idp, "carol", "There is no staff account for carol@example.edu")
    server.flask("staff", "email", "carol", "carol@example.edu")
    assert sign_in(server, idp, "carol").reply.status == 302
    assert server.login("carol") is not None


def test_a_new_email_unlinks_the_account_until_its_next_sign_in(idp, server):
    add_account(server, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu", sub="sub-ada")
    idp.add_user("ada2", email="ada@new.example.edu", sub="sub-ada-new")
    assert sign_in(server, idp, "ada").reply.status == 302
    server.flask("staff", "email", "ada", "ada@new.example.edu")  # an admin re-links her
    assert accounts(server)["ada"][:2] == ("ada@new.example.edu", None)
    assert sign_in(server, idp, "ada2").reply.status == 302
    assert accounts(server)["ada"][:2] == ("ada@new.example.edu", "sub-ada-new")


# ---- OIDC_TRUST_EMAIL, OIDC_ALLOWED_DOMAINS, OIDC_ADMIN_GROUP -------------------------------


def test_trusted_emails_need_no_email_verified_but_a_false_one_still_refuses(idp, lenient):
    add_account(lenient, "ada", "ada@example.org")  # not an allowed domain: matched by email
    idp.add_user("ada", email="ada@example.org", email_verified=None)
    assert sign_in(lenient, idp, "ada").reply.status == 302
    idp.add_user("bob", email="bob@example.edu", email_verified=False)
    _refused(lenient, idp, "bob", "The provider has not verified your email address")


def test_an_allowed_domain_signs_itself_up_with_no_admin_and_no_table(idp, lenient):
    lenient.add_staff("grace")  # a password account has her name already
    idp.add_user("grace", email="Grace@example.edu")
    done = sign_in(lenient, idp, "grace")
    assert done.reply.header("Location") == "/staff/", done.reply.body
    assert accounts(lenient)["grace-2"] == ("grace@example.edu", "sub-grace", 1)
    assert done.app.get("/admin/").status == 403  # the first account, and still no admin
    assert "grace-2\ttable -\tsites none\tgrace@example.edu" in lenient.flask(
        "staff", "list").splitlines()


def test_a_signed_up_account_works_at_no_site_until_an_admin_gives_it_one(idp, lenient):
    """Issue 22 x 24: an account made at its first sign-in has no site, so no console and no
    table anywhere (its `pick` answers as at another's site) until `staff sites`."""
    idp.add_user("hedy", email="hedy@example.edu")
    done = sign_in(lenient, idp, "hedy")
    assert done.reply.status == 302, done.reply.body
    console = done.app.get("/staff/")
    assert console.status == 403 and "You do not work at" in console.body, console.body
    assert "Your account works at no site yet." in console.body
    token = lenient.token("hedy")
    staff = lenient.connect("/ws/staff")
    try:
        assert staff.recv().startswith("taken")
        assert staff.answer(f"pick 1 {token}") == "error pick not a member of this site"
        assert lenient.flask("staff", "sites", "hedy", "main") == "hedy works at main\n"
        assert staff.answer(f"pick 1 {token}") == "success pick 1"
    finally:
        staff.close()
    assert done.app.get("/staff/").status == 200


def test_other_domains_are_refused(idp, lenient):
    idp.add_user("mallory", email="mallory@example.org")
    idp.add_user("eve", email="eve@evil.example.edu")  # a subdomain is another domain
    _refused(lenient, idp, "mallory", "There is no staff account for mallory@example.org")
    _refused(lenient, idp, "eve", "There is no staff account for eve@evil.example.edu")
    assert accounts(lenient) == {}


def test_the_admin_group_is_checked_at_each_sign_in(idp, lenient):
    add_account(lenient, "boss", "boss@example.edu", admin=True)  # made admin by the CLI
    idp.add_user("boss", email="boss@example.edu", groups=[])
    idp.add_user("ada", email="ada@example.edu", groups=["staff", "tq-admins"])
    first = sign_in(lenient, idp, "ada")
    assert first.app.get("/admin/").status == 200
    idp.add_user("ada", email="ada@example.edu", groups=["staff"])  # she left the group
    assert _admin_page(lenient, idp, "ada") == 403
    assert first.app.get("/admin/").status == 403  # her earlier session too
    assert _admin_page(lenient, idp, "boss") == 200  # the CLI's admin stays one


def test_the_admin_group_makes_an_admin_of_every_site(idp, lenient):
    """Issue 22 x 24: admin through OIDC_ADMIN_GROUP is admin of every site, as `--admin`
    is: another site's /admin, the list of sites, and a table at any site."""
    add_site(lenient, "career", "Career office")
    idp.add_user("ada", email="ada@example.edu", groups=["tq-admins"])
    done = sign_in(lenient, idp, "ada")  # a new account (allowed domain): no site of its own
    assert done.reply.status == 302, done.reply.body
    for page in ("/s/career/admin/", "/admin/", "/admin/sites/", "/s/career/staff/"):
        reply = done.app.get(page)
        assert reply.status == 200, (page, reply.status)
    assert "ada\ttable -\tsites all\tada@example.edu\tadmin through OIDC_ADMIN_GROUP" in (
        lenient.flask("staff", "list").splitlines())
    staff, display = (lenient.connect(f"/s/career/ws/{role}") for role in ("staff", "display"))
    try:
        assert staff.recv().startswith("taken")
        assert staff.answer(f"pick 2 {lenient.token('ada')}") == "success pick 2"
        idp.add_user("ada", email="ada@example.edu", groups=[])  # she left the group
        assert sign_in(lenient, idp, "ada").app.get("/s/career/admin/").status == 403
        # She works at no site now: her table at career is freed, as `staff sites` would.
        assert display.until(lambda m: m.startswith("unpick"))[0] == "unpick 2"
    finally:
        staff.close()
        display.close()
    assert done.app.get("/s/career/admin/").status == 403  # her earlier session too
    assert rows(lenient, "SELECT staff_id FROM table_assignments") == []
