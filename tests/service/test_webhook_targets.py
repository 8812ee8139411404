"""Where a webhook may go (service/webhook_targets.py): https only, public addresses only,
however the host is spelled, unless WEBHOOK_ALLOW_HTTP names the target; and the
signature the sender puts on each delivery verifies with the reference library."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from tablequeue.ops.hooks import sign
from tablequeue.service.webhook_targets import Allowed, TargetError, vet
from tablequeue.service.webhooks import new_secret

NOBODY = Allowed.of([])


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/", "https://localhost/", "https://2130706433/", "https://0x7f000001/",
    "https://0177.0.0.1/", "https://127.1/", "https://[::1]/", "https://[::ffff:7f00:1]/",
    "https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.0.1/", "https://100.64.1.1/",
    "https://169.254.169.254/", "https://[fe80::1]/", "https://[fd00::1]/", "https://0.0.0.0/",
    "https://224.0.0.1/", "https://255.255.255.255/",
])
def test_non_public_addresses_are_refused(url: str) -> None:
    with pytest.raises(TargetError, match="loopback, link-local or private"):
        vet(url, NOBODY)


@pytest.mark.parametrize(("url", "why"), [
    ("http://8.8.8.8/", "only https://"), ("ftp://8.8.8.8/", "https://host"),
    ("https://a:b@8.8.8.8/", "user:password"), ("https://8.8.8.8:99999/", "port"),
    ("https://8.8.8.8/" + "x" * 2000, "not a URL"), ("https://no-such-host.invalid/", "resolved"),
])
def test_malformed_and_plain_http_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(TargetError, match=why):
        vet(url, NOBODY)


def test_a_public_https_address_passes() -> None:
    target, addresses = vet("https://8.8.8.8:8443/hooks?a=1", NOBODY)
    assert (target.host, target.port, target.path) == ("8.8.8.8", 8443, "/hooks?a=1")
    assert [str(a) for a in addresses] == ["8.8.8.8"]


def test_the_exceptions_allow_exactly_their_targets() -> None:
    allowed = Allowed.of(["127.0.0.1", "10.0.0.0/8", "receiver.internal"])
    assert vet("http://127.0.0.1:9000/", allowed)[0].port == 9000
    assert vet("https://10.9.8.7/", allowed)[0].host == "10.9.8.7"
    with pytest.raises(TargetError):
        vet("http://127.0.0.2/", allowed)  # not listed
    with pytest.raises(TargetError):
        vet("https://192.168.0.1/", allowed)


def test_the_signature_verifies_with_standardwebhooks() -> None:
    secret = new_secret()
    body = json.dumps({"type": "ticket.created", "data": {"ticket": 1}}).encode()
    stamp = int(datetime.now(UTC).timestamp())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(stamp),
               "webhook-signature": sign(secret, "msg_1", stamp, body)}
    assert Webhook(secret).verify(body, headers)["data"] == {"ticket": 1}
    assert headers["webhook-signature"] == Webhook(secret).sign(
        "msg_1", datetime.fromtimestamp(stamp, UTC), body.decode())
