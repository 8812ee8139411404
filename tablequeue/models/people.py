"""Sites, staff accounts, their memberships, sessions and device keys."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    String,
    UniqueConstraint,
    false,
    or_,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tablequeue.extensions import Model
from tablequeue.models.base import UTCDateTime, site_fk, utcnow


class Site(Model):
    """One office of the deployment: its own tables, kiosk, display, staff, hours and reports.
    The slug is its URL (`/s/<slug>/…`) and never changes; rows of every per-site table
    carry site_id. The default site (DEFAULT_SITE) also answers today's unprefixed URLs."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    tables: Mapped[int] = mapped_column()  # numbered 0..tables-1
    timezone: Mapped[str] = mapped_column(String(64))  # IANA name: hours and reports
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Staff(Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Signing in through the OpenID Connect provider (tablequeue.service.oidc, migration
    # 0007_oidc): the first sign-in matches `email` (lower-cased) and links the provider's
    # `sub`, which finds the account from then on. An account without a password has "" as
    # its password_hash. admin_group (0010_admin_group): the OIDC_ADMIN_GROUP whose member
    # the last sign-in through the provider found it to be; a password login clears it.
    email: Mapped[str | None] = mapped_column(String(254), index=True, unique=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)
    admin_group: Mapped[str | None] = mapped_column(String(255))

    @hybrid_property
    def admin_everywhere(self) -> bool:
        """Admin (and member) of every site: made so by the CLI or /admin (is_admin), or by
        the group that is OIDC_ADMIN_GROUP now. The one test of it, in Python and in SQL."""
        group = granting_group()
        return self.is_admin or (group is not None and self.admin_group == group)

    @admin_everywhere.inplace.expression
    @classmethod
    def _admin_everywhere_sql(cls) -> ColumnElement[bool]:
        group = granting_group()
        return or_(cls.is_admin, *([] if group is None else [cls.admin_group == group]))


def granting_group() -> str | None:
    """The group whose members are admins of every site: OIDC_ADMIN_GROUP, while the
    provider is configured. Read at each test, so a group unset or renamed (a restart with
    other settings) ends what it gave at once, not at a sign-in that may never come."""
    config = current_app.config
    group = config.get("OIDC_ADMIN_GROUP") if config.get("OIDC_ISSUER") else None
    return group if isinstance(group, str) and group else None


class PendingSignIn(Model):
    """A sign-in sent to the provider and not yet back: its `state` (only the SHA-256), so
    that each callback is taken once, by whichever worker it reaches."""

    __tablename__ = "pending_sign_ins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class StaffSite(Model):
    """A staff account's membership of a site; is_admin: admin of that site only.
    (Staff.admin_everywhere is admin of every site, and member of each, without rows here.)"""

    __tablename__ = "staff_sites"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_admin: Mapped[bool] = mapped_column(default=False, server_default=false())


class StaffSession(Model):
    """A login: the token itself is never stored, only its SHA-256."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    staff: Mapped[Staff] = relationship()


class DeviceKey(Model):
    """A kiosk's or display's key (see DEVICE_KEYS); like tokens, only its SHA-256 is kept."""

    __tablename__ = "device_keys"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_device_keys_site_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = site_fk()  # a key opens its own site's screens only
    kind: Mapped[str] = mapped_column(String(16))  # "kiosk" or "display"
    name: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
