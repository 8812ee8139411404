"""Webhook SSRF: targets refused at registration (`webhooks add` and the function it calls),
and, when the address changed since registration (DNS), on the address actually connected to.
The endpoints and their signed deliveries: tests/ops/test_webhooks.py."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.kit.live import LiveServer, free_port, kiosk_sign_in
from tests.kit.texts import count, rows
from tests.kit.webhook_receiver import WebhookReceiver

# The receivers are plain http on this host: the exception WEBHOOK_ALLOW_HTTP exists for.
SERVER_ENV = {"WEBHOOK_ALLOW_HTTP": "127.0.0.1", "RATE_LIMITS": "off"}

# 127.0.0.1 itself is this module's WEBHOOK_ALLOW_HTTP exception: the rest of loopback is not.
SSRF = [
    ("https://127.0.0.3/hook", "loopback"), ("https://2130706434/hook", "loopback"),
    ("https://0x7f.0.0.3/hook", "loopback"), ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"), ("https://10.0.0.5/hook", "private"),
    ("https://192.168.1.1/", "private"), ("https://169.254.169.254/latest", "link-local"),
    ("https://100.64.0.1/", "private"), ("https://0.0.0.0/", "private"),
    ("http://127.0.0.2/hook", "only https://"), ("ftp://example.org/", "https://host"),
    ("https://user:pw@127.0.0.3/", "user:password"),
]


def test_ssrf_targets_are_refused_at_registration(fresh: LiveServer) -> None:
    """The first through `webhooks add` itself, the rest through the function it calls
    (a new interpreter per URL would cost seconds each)."""
    from tablequeue.service import webhooks
    from tablequeue.service.directory import directory_of

    refused = fresh.flask_run("webhooks", "add", SSRF[0][0])
    assert refused.returncode != 0 and "loopback, link-local or private" in refused.stderr
    with fresh.app.app_context():
        site = directory_of(fresh.app).default().id
        for url, why in SSRF:
            with pytest.raises(webhooks.WebhookError) as refusal:
                webhooks.add(url, webhooks.EVENTS, False, site=site)
            reason = str(refusal.value)
            assert why in reason or (why in ("loopback", "private", "link-local") and
                                     "loopback, link-local or private" in reason), (url, reason)
    assert count(fresh, "webhook_endpoints") == 0


def test_ssrf_is_checked_on_the_connected_address(fresh: LiveServer) -> None:
    """Endpoints whose address is no longer what it was at registration (written straight
    into the database, as if DNS had changed since): a receiver on 127.0.0.2, a loopback
    address WEBHOOK_ALLOW_HTTP does not list, hears nothing, however the URL spells it."""
    inside = WebhookReceiver(free_port(), host="127.0.0.2").start()
    try:
        engine = fresh.engine()
        with engine.begin() as conn:
            site = conn.execute(sa.text("SELECT id FROM sites")).scalar_one()
            port = inside.port
            for url in (f"http://127.0.0.2:{port}/a", f"https://2130706434:{port}/b",
                        f"http://0x7f.0.0.2:{port}/c"):
                conn.execute(sa.text(
                    "INSERT INTO webhook_endpoints (site_id, url, events, personal, secret, "
                    "created_at) VALUES (:s, :u, 'ticket.created', false, :k, :t)"),
                    {"s": site, "u": url, "k": "whsec_" + "A" * 43 + "=",
                     "t": "2026-01-01 00:00:00+00:00"})
        engine.dispose()
        time.sleep(1.1)
        kiosk_sign_in(fresh, "rebind@example.org", "Re Bind")
        deadline = time.monotonic() + 10
        while count(fresh, "outbox", "last_error LIKE '%TargetError%'") < 3:
            assert time.monotonic() < deadline, rows(fresh, "SELECT * FROM outbox")
            time.sleep(0.1)
        assert inside.attempts == 0
    finally:
        inside.stop()
