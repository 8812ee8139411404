"""Sites, staff accounts, their memberships, sessions and device keys."""

from __future__ import annotations

from datetime import datetime

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
    # its password_hash. group_admin: admin through OIDC_ADMIN_GROUP, as of the last sign-in.
    email: Mapped[str | None] = mapped_column(String(254), index=True, unique=True)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), index=True, unique=True)
    group_admin: Mapped[bool] = mapped_column(default=False, server_default=false())

    @hybrid_property
    def admin_everywhere(self) -> bool:
        """Admin (and member) of every site: made so by the CLI or /admin (is_admin), or by
        OIDC_ADMIN_GROUP at the last sign-in. The one test of it, in Python and in SQL."""
        return self.is_admin or self.group_admin

    @admin_everywhere.inplace.expression
    @classmethod
    def _admin_everywhere_sql(cls) -> ColumnElement[bool]:
        return or_(cls.is_admin, cls.group_admin)


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
