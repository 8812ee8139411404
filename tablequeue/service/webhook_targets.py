"""Where a webhook may be sent (SSRF): only https://, and never to a loopback, link-local,
private or otherwise non-public address, whichever way the URL spells it (a name, a
dotted quad, 2130706434, 0x7f.1, [::ffff:127.0.0.1]): the host is resolved and every
address it resolves to is checked, at registration and again on each delivery, on the
address actually connected to (tablequeue.ops.hook_http), so DNS rebinding gains nothing.

WEBHOOK_ALLOW_HTTP lists the exceptions, IPs, CIDRs or host names (a receiver on the same
host, a private network's service): those targets may be http:// and private."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

URL_MAX = 2000
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetError(ValueError):
    """Why an endpoint may not be called; the message is for the admin."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower-case, without brackets
    port: int
    path: str  # with its query

    @property
    def secure(self) -> bool:
        return self.scheme == "https"


@dataclass(frozen=True)
class Allowed:
    """WEBHOOK_ALLOW_HTTP read: networks and host names."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    names: frozenset[str]

    @classmethod
    def of(cls, entries: Iterable[str]) -> Allowed:
        networks, names = [], set()
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                names.add(entry.strip().lower().rstrip("."))
        return cls(tuple(networks), frozenset(names))

    def covers(self, host: str, address: Address) -> bool:
        return host in self.names or any(address in net for net in self.networks)


def parse(url: str) -> Target:
    url = url.strip()
    if len(url) > URL_MAX or not url.isprintable() or " " in url:
        raise TargetError("that is not a URL")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetError("the URL must look like https://host/path")
    if parts.username is not None or parts.password is not None:
        raise TargetError("no user:password@ in the URL: the signature authenticates us")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetError("the URL's port is not a number from 1 to 65535") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname.lower().rstrip("."), port, path)


def resolve(target: Target) -> list[Address]:
    """Every address the host resolves to (a numeric host resolves to itself, whichever
    of its spellings it was)."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetError(f"{target.host} cannot be resolved") from None
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def public(address: Address) -> bool:
    """A public unicast address: not loopback, link-local, private, shared, reserved,
    unspecified or multicast (an IPv4-mapped IPv6 address is judged as its IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_address(target: Target, address: Address, allowed: Allowed) -> None:
    """TargetError unless `target` may be reached at `address`."""
    if allowed.covers(target.host, address):
        return
    if not target.secure:
        raise TargetError("only https:// endpoints (WEBHOOK_ALLOW_HTTP lists exceptions)")
    if not public(address):
        raise TargetError(f"{target.host} is a loopback, link-local or private address "
                          "(WEBHOOK_ALLOW_HTTP lists exceptions)")


def vet(url: str, allowed: Allowed) -> tuple[Target, list[Address]]:
    """The target and the addresses it may be reached at; TargetError if any is refused."""
    target = parse(url)
    addresses = resolve(target)
    if not addresses:
        raise TargetError(f"{target.host} cannot be resolved")
    for address in addresses:
        check_address(target, address, allowed)
    return target, addresses
