"""One webhook POST, connected only to an address the SSRF rules allow
(service/webhook_targets.py): the host is resolved and every address checked just before
connecting, the socket goes to a checked address, and the address it actually reached is
checked again before a byte is sent. TLS verifies the certificate for the URL's host name.
One timeout (TIMEOUT) for the connection and for each read; redirects are never followed
(a 3xx is an answer like any other), and at most a few KB of the answer are read."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl

from tablequeue.service.webhook_targets import Address, Allowed, Target, check_address, vet

TIMEOUT = 5.0
READ_AT_MOST = 4096


class _Pinned(http.client.HTTPConnection):
    """HTTP or HTTPS to `target`, at the already checked `address` only."""

    def __init__(self, target: Target, address: Address, allowed: Allowed,
                 timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target, self.address, self.allowed = target, address, allowed

    def connect(self) -> None:
        sock = socket.create_connection((str(self.address), self.port), self.timeout)
        try:
            peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
            check_address(self.target, peer, self.allowed)
            if self.target.secure:
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=self.target.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def post(url: str, body: bytes, headers: dict[str, str], allowed: Allowed,
         timeout: float = TIMEOUT) -> int:
    """POST `body` to `url`; the answer's status. TargetError for a refused target,
    OSError or http.client.HTTPException when it could not be reached."""
    target, addresses = vet(url, allowed)
    connection = _Pinned(target, addresses[0], allowed, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(READ_AT_MOST)
        return response.status
    finally:
        connection.close()
