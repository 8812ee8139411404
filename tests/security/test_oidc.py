"""What a hostile or broken answer to a sign-in through the OpenID Connect provider tries,
against a real provider process (tests/kit/oidc_provider.py) and the real server: ID tokens
from another issuer, for another client, expired, undated, unsigned or HMAC-signed, with a
wrong nonce or an unpublished key; callbacks without or with a wrong state, from another
browser, replayed, late; and `next` leading elsewhere. Each is refused with a page saying
why, and nothing is logged in. The sign-in that works uses PKCE (S256), state and nonce."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.kit.database import rows
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer, free_port
from tests.kit.oidc import (
    Accounts,
    Provider,
    accounts,
    add_account,
    authorize,
    path_of,
    provider_env,
    sign_in,
    signed_in_nowhere,
)
from tests.kit.oidc_state import CLIENT_ID

OIDC_PORT = free_port()
SERVER_ENV = {**provider_env(OIDC_PORT), "RATE_LIMITS": "off"}


@pytest.fixture(scope="module")
def throttled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that lets one address start two sign-ins a window without finishing them."""
    env = {**SERVER_ENV, "RATE_LIMITS": "on", "LIMIT_LOGIN_ADDRESS": "2/900"}
    live = LiveServer(Path(tmp_path_factory.mktemp("throttled")), env).start()
    yield live
    live.close()


@pytest.fixture
def ada(idp: Provider, server: LiveServer) -> Provider:
    """An admin-made account for ada@example.edu, and ada at the provider."""
    add_account(server, "ada", "ada@example.edu", admin=True)
    idp.add_user("ada", email="ada@example.edu")
    return idp


def test_the_sign_in_uses_pkce_state_and_nonce_and_opens_a_console(ada, server, connect):
    done = sign_in(server, ada, "ada")
    assert done.reply.status == 302 and done.reply.header("Location") == "/staff/"
    asked, exchanged = ada.log()["authorize"][-1], ada.log()["token"][-1]
    assert asked["response_type"] == "code" and asked["scope"] == "openid email profile"
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert len(asked["state"]) >= 32 and len(asked["nonce"]) >= 32
    # The provider checked the verifier against the challenge before it issued any token.
    assert len(exchanged["code_verifier"]) >= 43 and exchanged["code_verifier"] not in str(asked)
    assert done.app.get("/staff/").status == 200
    console = connect("/ws/staff", [f"Cookie: {done.cookie}"])
    assert console.sync() == ["taken"]
    assert console.answer("pick 3") == "success pick 3"


# ---- the ID token --------------------------------------------------------------------------

REFUSED_TOKENS = {
    "another issuer": ({"iss": "http://127.0.0.1:9/realms/other"}, "issued by another provider"),
    "another audience": ({"aud": "another-client"}, "meant for another application"),
    # Authlib's own claim check lets this one through (azp names us): ours does not.
    "another audience, azp us": ({"aud": ["another-client"], "azp": CLIENT_ID},
                                 "meant for another application"),
    "several audiences, no azp": ({"aud": [CLIENT_ID, "another-client"]},
                                  "handed to another application"),
    "azp another client": ({"azp": "another-client"}, "handed to another application"),
    "expired": ({"exp": -600}, "has expired"),
    "no iat": ({"iat": "missing"}, "does not say when it was issued"),
    "iat in the future": ({"iat": "future"}, "issued in the future"),
    "alg none": ({"alg": "none"}, "signed with 'none', which is not a public-key signature"),
    # Discovery lists HS256: an HMAC keyed with the client secret is still refused.
    "HS256": ({"alg": "HS256"}, "signed with 'HS256', which is not a public-key signature"),
    "wrong nonce": ({"nonce": "wrong"}, "answers another sign-in (wrong nonce)"),
    "no nonce": ({"nonce": "missing"}, "answers another sign-in (wrong nonce)"),
    "unpublished key": ({"key": "unpublished"}, "signed with a key the provider does not publish"),
    "userinfo about another": ({"userinfo_sub": "sub-someone-else"},
                               "its userinfo is about someone else"),
}


@pytest.mark.parametrize("case", REFUSED_TOKENS)
def test_an_id_token_not_to_be_believed_is_refused(ada, server, case):
    switches, says = REFUSED_TOKENS[case]
    ada.switch(**switches)
    done = sign_in(server, ada, "ada")
    assert done.reply.status == 403
    assert done.message().startswith("The sign-in service's answer cannot be accepted: its ")
    assert says in done.message()
    signed_in_nowhere(server, done)


def test_rotated_keys_are_fetched_once_more(ada, server):
    assert sign_in(server, ada, "ada").reply.status == 302  # the keys are known now
    ada.rotate()
    before = ada.log()["jwks"]
    assert sign_in(server, ada, "ada").reply.status == 302
    # Its worker held the old keys and fetched once more, or held none and fetched once.
    assert ada.log()["jwks"] - before == 1


def test_an_unknown_key_fetches_the_keys_once_more_not_again_and_again(ada, server):
    assert sign_in(server, ada, "ada").reply.status == 302
    ada.switch(key="unpublished")
    before = ada.log()["jwks"]
    assert sign_in(server, ada, "ada").reply.status == 403
    fetched = ada.log()["jwks"] - before
    # One worker (SQLite): it held the keys, and fetched them once more. Several: the one
    # that answered may have held none yet, and then fetched them, and once more.
    workers = int(server.env.get("WEB_CONCURRENCY", "1"))
    assert fetched == 1 if workers == 1 else fetched in (1, 2)


def test_a_discovery_document_naming_another_issuer_is_refused(ada, server):
    ada.switch(discovery_issuer="http://127.0.0.1:9/realms/other")
    app = WebClient(server.port)
    reply = app.get("/login/oidc")
    assert reply.status == 502
    assert "its discovery document names another issuer than OIDC_ISSUER" in reply.body
    assert ada.log()["authorize"] == []


# ---- the callback ---------------------------------------------------------------------------


Database = tuple[Accounts, list[tuple[object, ...]]]


def _database(server: LiveServer) -> Database:
    """Each account (email, link, live sessions), and every session row, revoked or not."""
    return accounts(server), rows(server, "SELECT id, staff_id FROM staff_sessions ORDER BY id")


def _nothing_changed(server: LiveServer, app: WebClient, before: Database) -> None:
    """A refused callback logged nobody in: this browser gets no console, and no account
    got a session or a link, nor was made (as service/test_oidc.py's refusals check)."""
    assert app.get("/staff/").status == 302
    assert _database(server) == before


def _with_state(callback: str, state: str | None) -> str:
    path, _, query = callback.partition("?")
    kept = [p for p in query.split("&") if not p.startswith("state=")]
    return f"{path}?{'&'.join(kept + ([f'state={state}'] if state is not None else []))}"


@pytest.mark.parametrize("state", [None, "", "x" * 32])
def test_a_callback_without_or_with_a_wrong_state_is_refused(ada, server, state):
    app, callback = authorize(server, ada, "ada")
    before = _database(server)
    reply = app.get(_with_state(callback, state))
    assert reply.status == 400
    assert "does not belong to a sign-in started in this browser" in reply.body
    assert app.get(callback).status == 400  # and the sign-in it interrupted is over
    _nothing_changed(server, app, before)


def test_a_callback_from_another_browser_logs_nobody_in(ada, server):
    """Login CSRF: mallory's own callback, opened in ada's browser, must not sign her in as
    mallory (nor anyone)."""
    add_account(server, "mallory", "mallory@example.edu")
    ada.add_user("mallory", email="mallory@example.edu")
    _, mallorys = authorize(server, ada, "mallory")
    victim = WebClient(server.port)
    victim.get("/login/oidc")  # even with a sign-in of her own under way
    before = _database(server)
    reply = victim.get(mallorys)
    assert reply.status == 400 and "does not belong" in reply.body
    _nothing_changed(server, victim, before)


def test_a_replayed_callback_is_refused(ada, server):
    app, callback = authorize(server, ada, "ada")
    cookies_before = dict(app.jar)
    assert app.get(callback).status == 302
    before = _database(server)  # ada linked, with the one session that callback gave
    assert before[0] == {"ada": ("ada@example.edu", "sub-ada", 1)}
    again = app.get(callback)  # the same browser: the sign-in is no longer pending
    assert again.status == 400 and "does not belong" in again.body
    replayer = WebClient(server.port)  # with the browser's cookies from before the callback
    replayer.jar = cookies_before
    reply = replayer.get(callback)
    assert reply.status == 400 and "This sign-in was already used" in reply.body
    _nothing_changed(server, replayer, before)


def test_a_late_callback_is_refused(ada, server):
    app, callback = authorize(server, ada, "ada")
    engine = server.engine()
    with engine.begin() as conn:  # ten minutes are over
        conn.execute(sa.text("UPDATE pending_sign_ins SET expires_at = :past"),
                     {"past": "2000-01-01 00:00:00+00:00"})
    engine.dispose()
    before = _database(server)
    reply = app.get(callback)
    assert reply.status == 400 and "already used, or took too long" in reply.body
    _nothing_changed(server, app, before)


@pytest.mark.parametrize("answer,says", [("error=access_denied", "(access_denied)"),
                                         ("", "(no code)")])
def test_a_callback_without_a_code_is_refused(ada, server, answer, says):
    app = WebClient(server.port)
    start = app.get("/login/oidc")
    state = dict(p.split("=", 1) for p in path_of(start.header("Location") or "")
                 .split("?", 1)[1].split("&"))["state"]
    before = _database(server)
    reply = app.get(f"/login/oidc/callback?state={state}&{answer}")
    assert reply.status == 403
    assert f"The sign-in service did not sign you in {says}." in reply.body
    _nothing_changed(server, app, before)


# ---- where it leads --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["//evil.example/staff", "/\\evil.example", "/\t/evil.example",
                                    "https://evil.example/", "javascript:alert(1)"])
def test_next_never_leads_to_another_site(ada, server, target):
    done = sign_in(server, ada, "ada", next=target)
    assert done.reply.status == 302 and done.reply.header("Location") == "/staff/"


def test_next_leads_back_to_the_page_that_asked(ada, server):
    done = sign_in(server, ada, "ada", next="/admin/reports?period=30d")
    assert done.reply.header("Location") == "/admin/reports?period=30d"
    assert done.app.get("/admin/reports?period=30d").status == 200


def test_sign_ins_started_and_never_finished_are_throttled_per_address(idp, throttled):
    """Each start calls the provider: an address that keeps starting them is stopped, and
    a sign-in that succeeds forgives the address's unfinished ones."""
    throttled.reset()
    add_account(throttled, "ada", "ada@example.edu")
    idp.add_user("ada", email="ada@example.edu")
    assert sign_in(throttled, idp, "ada").reply.status == 302  # counted, then forgiven
    for _ in range(2):
        assert WebClient(throttled.port).get("/login/oidc").status == 302  # abandoned
    reply = WebClient(throttled.port).get("/login/oidc")
    assert reply.status == 429 and "Too many sign-ins were started from this address" in reply.body
