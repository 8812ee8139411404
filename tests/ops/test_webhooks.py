"""Webhooks against a real receiver that checks every signature with the reference
`standardwebhooks` library (tests/kit/webhook_receiver.py): `webhooks add|list|remove`,
each ticket event signed, in order per ticket, with an id that stays the same on retries;
visitor data only for a personal endpoint; retries then failed and shown at /admin; no
redirect followed; the 5 s timeout. SSRF: tests/security/test_webhook_ssrf.py."""

from __future__ import annotations

import re
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.kit.client import Desk, new_ticket
from tests.kit.follow import code_of, follow, sign_in_with_link
from tests.kit.http_client import WebClient
from tests.kit.live import LiveServer, free_port, kiosk_sign_in
from tests.kit.new_site import add_site
from tests.kit.texts import count, rows
from tests.kit.tls import make_certificates
from tests.kit.webhook_receiver import Delivery, WebhookReceiver

RECEIVER_PORT = free_port()
# One https receiver, its certificate signed by a test CA the server trusts (SSL_CERT_FILE).
CERTIFICATES = make_certificates(Path(tempfile.mkdtemp(prefix="tq-tls-")))
# The receiver is plain http on this host: the exception WEBHOOK_ALLOW_HTTP exists for.
# Retries after 1, 2 and 4 s, then failed.
SERVER_ENV = {"WEBHOOK_ALLOW_HTTP": "127.0.0.1", "OUTBOX_RETRY_MAX_SECONDS": "4",
              "RATE_LIMITS": "off", "SSL_CERT_FILE": str(CERTIFICATES.ca)}


@pytest.fixture(scope="module")
def consumer() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(RECEIVER_PORT).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(consumer: WebhookReceiver, fresh: LiveServer) -> Iterator[WebhookReceiver]:
    if not consumer.up:
        consumer.start()
    consumer.reset()
    yield consumer
    if not consumer.up:
        consumer.start()


def add(server: LiveServer, receiver: WebhookReceiver, path: str, *options: str) -> int:
    """`webhooks add`; the receiver learns the printed secret. The endpoint's id."""
    out = server.flask("webhooks", "add", receiver.url(path), *options).splitlines()
    assert out[-1].startswith("whsec_") and len(out[-1]) > 40, out
    receiver.secrets[path] = out[-1]
    time.sleep(1.1)  # every worker's list of sites with endpoints is at most 1 s old
    return int(out[0].split()[2])


def _admin(server: LiveServer) -> WebClient:
    """A logged-in admin of every site."""
    server.flask("staff", "add", "root", "--password", "password123", "--admin")
    admin = WebClient(server.port)
    assert admin.login("root").status == 302
    return admin


def _of(got: list[Delivery], path: str) -> list[tuple[str, int]]:
    return [(d.type, d.data["ticket"]) for d in got if d.path == path]


def test_the_cli_adds_lists_and_removes(receiver: WebhookReceiver, fresh: LiveServer) -> None:
    first = add(fresh, receiver, "/a", "--events", "ticket.created,ticket.served")
    second = add(fresh, receiver, "/b", "--personal")
    listed = fresh.flask("webhooks", "list").splitlines()
    assert listed[0].split("\t")[:5] == [str(first), "main", receiver.url("/a"),
                                         "ticket.created,ticket.served", "-"]
    assert listed[1].split("\t")[4] == "personal"
    assert all("whsec_" not in line for line in listed)  # shown once, at `add`
    assert fresh.flask("webhooks", "remove", str(second)) == f"removed webhook {second}\n"
    assert len(fresh.flask("webhooks", "list").splitlines()) == 1
    refused = fresh.flask_run("webhooks", "add", receiver.url("/c"), "--events", "ticket.eaten")
    assert refused.returncode != 0 and "events are some of" in refused.stderr


def test_every_event_is_signed_and_in_order(receiver: WebhookReceiver, fresh: LiveServer,
                                            desk: Callable[..., Desk]) -> None:
    add(fresh, receiver, "/plain")
    add(fresh, receiver, "/personal", "--personal")
    ada = desk("ada", 5)
    served = kiosk_sign_in(fresh, "served@example.org", "Served Visitor")["id"]
    noshow = kiosk_sign_in(fresh, "noshow@example.org", "No Show")["id"]
    left, link = sign_in_with_link(fresh, "left@example.org", "Left Early")
    closed = kiosk_sign_in(fresh, "closed@example.org", "Closed Day")["id"]
    for ticket, word in ((served, "complete"), (noshow, "cancel")):
        assert ada.answer(f"accept {ticket}").startswith("success")
        assert ada.answer(f"{word} {ticket}").startswith("success")
    phone, _ = follow(fresh, link)
    assert phone.ask("leave") == "success leave"
    phone.close()
    admin = _admin(fresh)
    assert admin.post("/admin/close-day", {"csrf_token": admin.csrf_token("/admin/")}).status \
        == 302
    want = [("ticket.created", served), ("ticket.created", noshow), ("ticket.created", left),
            ("ticket.created", closed), ("ticket.called", served), ("ticket.served", served),
            ("ticket.called", noshow), ("ticket.cancelled", noshow), ("ticket.cancelled", left),
            ("ticket.cancelled", closed)]
    got = receiver.wait_for(lambda got: len(got) == 2 * len(want))
    assert all(d.verified for d in got)
    for path in ("/plain", "/personal"):
        mine = _of(got, path)
        assert sorted(mine) == sorted(want)
        for ticket in (served, noshow, left, closed):  # in order per ticket
            assert [kind for kind, t in mine if t == ticket] == [k for k, t in want if t == ticket]
    by_id = {(d.path, d.id): d for d in got}
    assert len(by_id) == len(got)  # one id an event and endpoint...
    assert {d.id for d in got if d.path == "/plain"} == {d.id for d in got if d.path ==
                                                          "/personal"}  # ...shared by both
    call = next(d for d in got if d.path == "/plain" and d.type == "ticket.called"
                and d.data["ticket"] == served)
    assert call.data == {"site": "main", "ticket": served, "status": "serving", "table": 5,
                         "staff": "ada"}
    assert call.payload["id"] == call.id and call.payload["timestamp"].endswith("Z")
    reasons = {d.data["ticket"]: d.data.get("reason") for d in got
               if d.path == "/plain" and d.type == "ticket.cancelled"}
    assert reasons == {noshow: "no-show", left: "left", closed: "closed"}
    assert all("email" not in d.data and "name" not in d.data for d in got if d.path == "/plain")
    personal = next(d for d in got if d.path == "/personal" and d.data["ticket"] == served)
    assert (personal.data["email"], personal.data["name"]) == ("served@example.org",
                                                              "Served Visitor")
    assert code_of(link) not in str([d.body for d in got])


def test_https_with_the_certificate_checked(fresh: LiveServer) -> None:
    """The real path: TLS to the checked address, the certificate verified for the URL's
    host (SNI), the signature checked at the far end."""
    secure = WebhookReceiver(free_port(), tls=(CERTIFICATES.cert, CERTIFICATES.key)).start()
    try:
        add(fresh, secure, "/secure", "--events", "ticket.created")
        assert secure.url("/secure").startswith("https://127.0.0.1:")
        ticket = kiosk_sign_in(fresh, "tls@example.org", "Tee Ellis")["id"]
        [delivery] = secure.wait_for(lambda got: len(got) == 1)
        assert delivery.verified and delivery.data["ticket"] == ticket
        # This process does not trust the test CA: the same POST from here is refused.
        from tablequeue.ops import hook_http
        from tablequeue.service.webhook_targets import Allowed

        with pytest.raises(ssl.SSLCertVerificationError):
            hook_http.post(secure.url("/secure"), b"{}", {}, Allowed.of(["127.0.0.1"]))
    finally:
        secure.stop()


def test_retries_then_failed_at_admin(receiver: WebhookReceiver, fresh: LiveServer) -> None:
    add(fresh, receiver, "/flaky", "--events", "ticket.created")
    receiver.mode = "fail"
    first = kiosk_sign_in(fresh, "one@example.org", "One")["id"]
    deadline = time.monotonic() + 20  # waits of 1, 2 and 4 s, then failed
    while count(fresh, "outbox", "state = 'failed'") < 1:
        assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
        time.sleep(0.2)
    assert receiver.attempts == 4
    [(ids,)] = rows(fresh, "SELECT count(DISTINCT message_id) FROM outbox")
    assert ids == 1  # every retry under the same webhook-id
    admin = _admin(fresh)
    page = admin.get("/admin/").body
    assert 'id="admin-webhook-failures"' in page and "HTTP 500" in page
    assert f"<td>{first}</td>" in page
    receiver.mode = "ok"
    admin.post("/admin/webhooks/retry", {"csrf_token": admin.csrf_token("/admin/")})
    [delivered] = receiver.wait_for(lambda got: len(got) == 1)
    assert delivered.verified and delivered.data["ticket"] == first
    assert count(fresh, "outbox") == 0


def test_a_receiver_down_gets_everything_in_order(receiver: WebhookReceiver,
                                                  fresh: LiveServer,
                                                  desk: Callable[..., Desk]) -> None:
    add(fresh, receiver, "/down")
    bea = desk("bea", 2)
    receiver.stop()
    ticket = kiosk_sign_in(fresh, "down@example.org", "Down")["id"]
    assert bea.answer(f"accept {ticket}").startswith("success")
    assert bea.answer(f"complete {ticket}").startswith("success")
    time.sleep(2)  # the first event failed and waits; the others wait behind it
    assert count(fresh, "outbox", "attempts > 0") == 1
    receiver.start()
    got = receiver.wait_for(lambda got: len(got) == 3, timeout=20)
    assert [d.type for d in got] == ["ticket.created", "ticket.called", "ticket.served"]


def test_redirects_are_not_followed(receiver: WebhookReceiver, fresh: LiveServer) -> None:
    add(fresh, receiver, "/moved", "--events", "ticket.created")
    receiver.mode = "redirect"
    kiosk_sign_in(fresh, "moved@example.org", "Moved")
    deadline = time.monotonic() + 10
    while count(fresh, "outbox", "last_error LIKE '%redirects are not followed%'") < 1:
        assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
        time.sleep(0.1)
    assert receiver.received() == []  # /elsewhere was never asked


def test_a_slow_receiver_times_out_after_5_seconds(receiver: WebhookReceiver,
                                                   fresh: LiveServer) -> None:
    add(fresh, receiver, "/slow", "--events", "ticket.created")
    receiver.mode, receiver.slow_seconds = "slow", 8.0
    kiosk_sign_in(fresh, "slow@example.org", "Slow")
    deadline = time.monotonic() + 15
    while count(fresh, "outbox", "last_error LIKE '%timed out%'") < 1:
        assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
        time.sleep(0.2)


def test_the_admin_page_adds_and_removes_a_sites_endpoints(receiver: WebhookReceiver,
                                                           fresh: LiveServer) -> None:
    """At /s/<slug>/admin: the secret is shown once in the answer (htmx: in the section;
    without JavaScript: on a page of its own), and the endpoint hears only its site."""
    slug, _ = add_site(fresh, "annex")
    admin = _admin(fresh)
    token = admin.csrf_token(f"/s/{slug}/admin/")
    form = {"csrf_token": token, "url": receiver.url("/annex"), "ticket.created": "on"}
    section = admin.post(f"/s/{slug}/admin/webhooks", form, {"HX-Request": "true"})
    found = re.search(r'id="admin-webhook-secret">(whsec_[^<]+)<', section.body)
    assert section.status == 200 and found, section.body
    receiver.secrets["/annex"] = found.group(1)
    page = admin.post(f"/s/{slug}/admin/webhooks", {**form, "url": receiver.url("/plain")})
    found = re.search(r'id="admin-webhook-secret">(whsec_[^<]+)<', page.body)
    assert page.status == 200 and found and "<html" in page.body
    receiver.secrets["/plain"] = found.group(1)
    refused = admin.post(f"/s/{slug}/admin/webhooks", {**form, "url": "https://10.0.0.1/"},
                         {"HX-Request": "true"})
    assert "loopback, link-local or private" in refused.body
    assert receiver.url("/annex") in admin.get(f"/s/{slug}/admin/").body
    assert receiver.url("/annex") not in admin.get("/admin/").body  # the main site's
    time.sleep(1.1)
    kiosk_sign_in(fresh, "main@example.org", "At Main")  # another site's: not heard
    annex = fresh.connect(f"/s/{slug}/ws/kiosk")
    try:
        ticket, _ = new_ticket(annex, "annex@example.org", "At Annex")
    finally:
        annex.close()
    # Only this test's endpoints: the slow test's last timed-out attempt may still land here.
    ours = lambda got: [d for d in got if d.path in ("/annex", "/plain")]  # noqa: E731
    got = ours(receiver.wait_for(lambda got: len(ours(got)) >= 2))
    time.sleep(0.5)  # a third (another site's ticket heard) would show up by now
    got = ours(receiver.received())
    assert {(d.path, d.data["ticket"], d.data["site"]) for d in got} == {
        ("/annex", ticket["id"], slug), ("/plain", ticket["id"], slug)} and len(got) == 2
    assert all(d.verified for d in got)
    [endpoint_id] = [r.id for r in rows(fresh, "SELECT id FROM webhook_endpoints WHERE url = :u",
                                        u=receiver.url("/annex"))]
    assert admin.post(f"/admin/webhooks/{endpoint_id}/remove", {"csrf_token": token},
                      {"HX-Request": "true"}).body.count("No such endpoint here.") == 1
    gone = admin.post(f"/s/{slug}/admin/webhooks/{endpoint_id}/remove", {"csrf_token": token},
                      {"HX-Request": "true"})
    assert "Endpoint removed" in gone.body and receiver.url("/annex") not in gone.body
