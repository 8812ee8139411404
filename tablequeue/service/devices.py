"""Device keys: a deployment can let only its own kiosks and displays connect.

Keys are issued and revoked by an admin (CLI `flask --app app device ...`, or /admin
through these functions) and are required only for the kinds listed in DEVICE_KEYS. A key
belongs to a site and opens only that site's screens; names are unique per site."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from tablequeue.db import rowcount, unit_of_work
from tablequeue.models import DeviceKey, utcnow
from tablequeue.outcomes import SiteId
from tablequeue.service.identity import USERNAME, hash_token

KINDS = ("kiosk", "display")


class DeviceError(ValueError):
    """A device-key operation that cannot be done; the message says why, for people."""


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    kind: str
    created_at: datetime
    revoked_at: datetime | None


def issue(kind: str, name: str, *, site: SiteId) -> str:
    """A new key for the screen called `name`; only this return value ever holds it."""
    if kind not in KINDS:
        raise DeviceError(f"a device is a kiosk or a display, not {kind!r}")
    if not USERNAME.fullmatch(name):
        raise DeviceError("a device name is 1 to 32 letters, digits, '.', '_' or '-'")
    key = secrets.token_urlsafe(24)
    with unit_of_work() as session:
        if session.scalar(select(DeviceKey.id).where(DeviceKey.site_id == site,
                                                     DeviceKey.name == name)):
            raise DeviceError(
                f"a device named {name!r} exists already (revoke it or pick a new name)")
        session.add(DeviceKey(site_id=site, kind=kind, name=name, key_hash=hash_token(key),
                              created_at=utcnow()))
    return key


def revoke(name: str, *, site: SiteId) -> None:
    with unit_of_work() as session:
        done = rowcount(session.execute(
            update(DeviceKey)
            .where(DeviceKey.site_id == site, DeviceKey.name == name,
                   DeviceKey.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        ))
    if done != 1:
        raise DeviceError(f"no device named {name!r} with a key in use")


def list_devices(*, site: SiteId) -> list[DeviceInfo]:
    with unit_of_work() as session:
        rows = session.scalars(select(DeviceKey).where(DeviceKey.site_id == site)
                               .order_by(DeviceKey.name))
        return [DeviceInfo(d.name, d.kind, d.created_at, d.revoked_at) for d in rows]


def key_valid(kind: str, key: str | None, *, site: SiteId) -> bool:
    """True for an unrevoked key issued for this kind of screen of this site."""
    if not key or len(key) > 256:
        return False
    with unit_of_work() as session:
        return session.scalar(
            select(DeviceKey.id).where(
                DeviceKey.key_hash == hash_token(key),
                DeviceKey.site_id == site,
                DeviceKey.kind == kind,
                DeviceKey.revoked_at.is_(None),
            )
        ) is not None


def valid_key_hashes(key_hashes: Iterable[str]) -> set[str]:
    """Which of these key hashes are still in use (the sweep closes screens whose key is not;
    a hash is one key of one site, and a removed site's keys are gone)."""
    wanted = list(key_hashes)
    with unit_of_work() as session:
        return set(session.scalars(
            select(DeviceKey.key_hash).where(
                DeviceKey.key_hash.in_(wanted), DeviceKey.revoked_at.is_(None)
            )
        ))


def kind_of(key: str | None, *, site: SiteId) -> str | None:
    """Which kind of this site's screens an unrevoked key opens, for the page that stores it."""
    if not key or len(key) > 256:
        return None
    with unit_of_work() as session:
        return session.scalar(
            select(DeviceKey.kind).where(
                DeviceKey.key_hash == hash_token(key), DeviceKey.site_id == site,
                DeviceKey.revoked_at.is_(None)
            )
        )
