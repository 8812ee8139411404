"""Configuration read from the environment once, with defaults and clear errors."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tablequeue.envvars import (
    ConfigError,
    SmsAccount,
    choice,
    listed,
    number,
    origins,
    rate,
    region,
    switch,
    twilio_url,
    zone,
)


def _device_keys(env: Mapping[str, str]) -> frozenset[str]:
    """DEVICE_KEYS: which screens must present a device key (kiosk, display, both or none)."""
    kinds = frozenset(k.lower() for k in listed(env, "DEVICE_KEYS"))
    if not kinds <= {"kiosk", "display"}:
        raise ConfigError(f"DEVICE_KEYS lists kiosk and/or display, got {sorted(kinds)!r}")
    return kinds


# A site's slug: its URL segment (/s/<slug>/kiosk). Lower-case so a URL typed by hand
# matches, and never one of the app's own top-level paths (see service.sites.RESERVED).
SLUG_PATTERN = re.compile(r"[a-z0-9-]{1,40}")


def _default_site(env: Mapping[str, str]) -> str:
    """DEFAULT_SITE: the slug of the site today's unprefixed URLs serve (/kiosk, /ws/kiosk)."""
    raw = env.get("DEFAULT_SITE", "").strip() or "main"
    if not SLUG_PATTERN.fullmatch(raw):
        raise ConfigError(f"DEFAULT_SITE must be 1-40 of a-z, 0-9 and -, got {raw!r}")
    return raw


def _metrics_token(env: Mapping[str, str]) -> str | None:
    """METRICS_TOKEN: unset, /metrics does not exist; set, a scraper sends it as a bearer."""
    token = env.get("METRICS_TOKEN", "").strip()
    if token and len(token) < 16:
        raise ConfigError(
            "METRICS_TOKEN must be at least 16 characters (e.g. openssl rand -hex 24)")
    return token or None


def _database_url(env: Mapping[str, str], instance_path: Path) -> str:
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_path / 'tablequeue.sqlite3'}"
    if url.startswith("postgres://") or url.startswith("postgresql://"):
        # psycopg 3 is the gevent-cooperative driver; SQLAlchemy's default is psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if not (url.startswith("sqlite") or url.startswith("postgresql+psycopg://")):
        raise ConfigError(
            "DATABASE_URL must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        )
    return url


def _secret_key(env: Mapping[str, str], instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if env.get("SECRET_KEY"):
        return env["SECRET_KEY"]
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _public_url(env: Mapping[str, str]) -> str | None:
    """PUBLIC_URL: where visitors' phones reach the site (follow links, emails)."""
    url = env.get("PUBLIC_URL", "").strip().rstrip("/")
    if url and not (url.startswith("http://") or url.startswith("https://")):
        raise ConfigError(f"PUBLIC_URL looks like https://host[:port][/path], got {url!r}")
    return url or None


def _smtp_url(env: Mapping[str, str]) -> str | None:
    """SMTP_URL: smtp://[user:pass@]host[:port][?starttls=1] or smtps://..."""
    url = env.get("SMTP_URL", "").strip()
    if url and not (url.startswith("smtp://") or url.startswith("smtps://")):
        raise ConfigError(f"SMTP_URL looks like smtp://user:pass@host:587?starttls=1, got {url!r}")
    return url or None


_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _oidc_issuer(env: Mapping[str, str]) -> str | None:
    """OIDC_ISSUER: https, or http only on this machine (a provider in a test or a demo)."""
    issuer = env.get("OIDC_ISSUER", "").strip()
    if not issuer:
        return None
    parts = urlsplit(issuer)
    loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if not (parts.scheme == "https" or loopback) or not parts.hostname or parts.query:
        raise ConfigError(
            f"OIDC_ISSUER looks like https://login.example.edu/realms/staff, got {issuer!r}")
    return issuer


def _oidc(env: Mapping[str, str]) -> dict[str, Any]:
    """Staff sign-in through an OpenID Connect provider, and whether passwords still work."""
    issuer = _oidc_issuer(env)
    names = ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_NAME", "OIDC_TRUST_EMAIL",
             "OIDC_ALLOWED_DOMAINS", "OIDC_ADMIN_GROUP")
    if issuer is None and any(env.get(name, "").strip() for name in names):
        raise ConfigError(f"{', '.join(n for n in names if env.get(n, '').strip())} "
                          "set without OIDC_ISSUER")
    if issuer is not None:
        for name in ("OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"):
            if not env.get(name, "").strip():
                raise ConfigError(f"OIDC_ISSUER is set, so {name} is needed too "
                                  "(from the application registered at the provider)")
    domains = frozenset(d.lower().lstrip("@") for d in listed(env, "OIDC_ALLOWED_DOMAINS"))
    for domain in domains:
        if not _DOMAIN.fullmatch(domain):
            raise ConfigError(
                f"OIDC_ALLOWED_DOMAINS lists domains like example.edu, got {domain!r}")
    password_login = switch(env, "PASSWORD_LOGIN", True)
    if not password_login and issuer is None:
        raise ConfigError("PASSWORD_LOGIN=off needs OIDC_ISSUER: nobody could log in")
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": env.get("OIDC_CLIENT_ID", "").strip() or None,
        "OIDC_CLIENT_SECRET": env.get("OIDC_CLIENT_SECRET", "").strip() or None,
        "OIDC_NAME": env.get("OIDC_NAME", "").strip() or "your organisation",
        # For providers that never send email_verified (Entra ID): their emails are checked.
        "OIDC_TRUST_EMAIL": switch(env, "OIDC_TRUST_EMAIL", False),
        "OIDC_ALLOWED_DOMAINS": domains,
        "OIDC_ADMIN_GROUP": env.get("OIDC_ADMIN_GROUP", "").strip() or None,
        "PASSWORD_LOGIN": password_login,
    }


def _sms(env: Mapping[str, str], public_url: str | None) -> SmsAccount | None:
    """SMS_URL (envvars.twilio_url); Twilio calls back at PUBLIC_URL, which must be short
    enough for the follow link to fit a text."""
    account = twilio_url(env, "SMS_URL")
    if account is not None and (not public_url or len(public_url) > 50):
        raise ConfigError("SMS_URL needs PUBLIC_URL (at most 50 characters) for its links "
                          "and Twilio's callbacks")
    return account


_LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}


def _event_log(env: Mapping[str, str]) -> dict[str, Any]:
    """The event log (tablequeue.service.eventlog; docs/deploy.md "What happens when something
    breaks"): how long a quiet worker waits before it reads the log's newest number, how long
    rows are kept for screens that catch up; and two switches only the tests set."""
    return {
        "EVENT_POLL_SECONDS": number(env, "EVENT_POLL_SECONDS", 1, 1, 60),
        "EVENT_KEEP_MINUTES": number(env, "EVENT_KEEP_MINUTES", 60, 1, 24 * 60),
        # A publish of events no transaction numbered is an error, not a late number.
        "EVENT_LOG_STRICT": switch(env, "EVENT_LOG_STRICT", False),
        # Seconds between a commit and its publish: a window to kill a host in (the drill).
        "FAULT_HOLD_PUBLISH_SECONDS": number(env, "FAULT_HOLD_PUBLISH_SECONDS", 0, 0, 600),
    }


def _server(env: Mapping[str, str]) -> dict[str, Any]:
    """What gunicorn.conf.py sets up (it reads them through load too, so each has one
    default and one check); LOG_LEVEL is the app's level as well as gunicorn's."""
    return {
        "BIND": env.get("BIND", "").strip() or "127.0.0.1:8000",
        # One worker unless a Redis relay carries broadcasts between workers (see README).
        "WEB_CONCURRENCY": number(env, "WEB_CONCURRENCY", 1, 1, 1024),
        "WORKER_CONNECTIONS": number(env, "WORKER_CONNECTIONS", 10000, 1, 1_000_000),
        # gunicorn's access lines carry raw paths and client addresses: off unless set.
        "ACCESS_LOG": env.get("ACCESS_LOG", "").strip() or None,
        "LOG_LEVEL": choice(env, "LOG_LEVEL", "info", _LOG_LEVELS),
        # gunicorn's control socket sits at one fixed path per user: off unless asked for.
        "GUNICORN_CONTROL_SOCKET": env.get("GUNICORN_CONTROL_SOCKET", "") != "",
    }


def load(instance_path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment, gunicorn's settings included."""
    env = os.environ if env is None else env
    database_url = _database_url(env, instance_path)
    max_message = number(env, "MAX_MESSAGE_SIZE", 16 * 1024, 4096, 1024 * 1024)
    # JSON logs promise no personal data: keep SQL parameters out of error messages.
    engine_options: dict[str, Any] = {}
    if env.get("LOG_FORMAT", "").strip().lower() == "json":
        engine_options["hide_parameters"] = True  # JSON logs promise no personal data
    if database_url.startswith("postgresql"):
        engine_options = {
            **engine_options,
            "pool_size": number(env, "DB_POOL_SIZE", 10, 1, 1000),
            "max_overflow": number(env, "DB_MAX_OVERFLOW", 5, 0, 1000),
            "pool_timeout": number(env, "DB_POOL_TIMEOUT", 10, 1, 300),
            # Not pool_pre_ping: tablequeue.db pings a connection only after it sat idle.
            "connect_args": {"connect_timeout": number(env, "DB_CONNECT_TIMEOUT", 5, 1, 60)},
        }
    secure_cookies = choice(env, "SECURE_COOKIES", "auto", {"auto", "on", "off"})
    return {
        **_server(env),
        # Texts (SMS_REGION: for numbers typed without +) and webhooks go through the
        # outbox: retried 1 s doubling to OUTBOX_RETRY_MAX_SECONDS, then failed; a claim
        # lasts OUTBOX_LEASE_SECONDS. WEBHOOK_ALLOW_HTTP: http:// or private targets allowed.
        "SMS": _sms(env, _public_url(env)),
        "SMS_REGION": region(env, "SMS_REGION"),
        "OUTBOX_RETRY_MAX_SECONDS": number(env, "OUTBOX_RETRY_MAX_SECONDS", 3600, 1, 86400),
        "OUTBOX_LEASE_SECONDS": number(env, "OUTBOX_LEASE_SECONDS", 60, 3, 3600),
        "WEBHOOK_ALLOW_HTTP": listed(env, "WEBHOOK_ALLOW_HTTP"),
        **_oidc(env),
        "SECRET_KEY": _secret_key(env, instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "REDIS_URL": env.get("REDIS_URL", "").strip() or None,
        # Servers sharing one Redis but not one queue (tests, staging) need their own channel.
        "REDIS_CHANNEL": env.get("REDIS_CHANNEL", "").strip() or "tablequeue",
        # A worker leaves a site's Redis channel this long after its last screen of that
        # site went (one that reconnects meanwhile finds its room still current).
        "SITE_UNSUBSCRIBE_SECONDS": number(env, "SITE_UNSUBSCRIBE_SECONDS", 60, 0, 3600),
        "METRICS_TOKEN": _metrics_token(env),
        "LOG_FORMAT": choice(env, "LOG_FORMAT", "text", {"text", "json"}),
        # TABLE_COUNT, TIMEZONE and SITE_NAME: what a new site starts with (service.sites);
        # each site then keeps its own. SITE_NAME also names the deployment (mail's From).
        "TABLE_COUNT": number(env, "TABLE_COUNT", 10, 1, 1000),
        "DEFAULT_SITE": _default_site(env),
        "SESSION_HOURS": number(env, "SESSION_HOURS", 12, 1, 24 * 365),
        "DISPLAY_SHOWS_EMAIL": switch(env, "DISPLAY_SHOWS_EMAIL", False),
        "RATE_LIMITS": switch(env, "RATE_LIMITS", True),
        # permessage-deflate on the websocket routes (off: every broadcast is framed once).
        "WS_DEFLATE": switch(env, "WS_DEFLATE", False),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # auto: Secure whenever the request came over HTTPS (see tablequeue.security).
        "SECURE_COOKIES": secure_cookies,
        "SESSION_COOKIE_SECURE": secure_cookies == "on",
        "ALLOWED_ORIGINS": origins(env, "ALLOWED_ORIGINS"),
        "TRUSTED_HOSTS": listed(env, "TRUSTED_HOSTS") or None,
        "PROXY_COUNT": number(env, "PROXY_COUNT", 0, 0, 5),
        "DEVICE_KEYS": _device_keys(env),
        "VISITOR_RETENTION_DAYS": number(env, "VISITOR_RETENTION_DAYS", 90, 1, 36500),
        "SESSION_CHECK_SECONDS": number(env, "SESSION_CHECK_SECONDS", 10, 1, 3600),
        # A staff member away from their table this long loses it, as if they sent `unpick`.
        "AWAY_MINUTES": number(env, "AWAY_MINUTES", 30, 1, 24 * 60),
        # No normal ticket is passed by more than this many later priority tickets of its
        # line (docs/lines.md, the order rule).
        "PRIORITY_RUN": number(env, "PRIORITY_RUN", 3, 1, 100),
        "TIMEZONE": zone(env, "TIMEZONE"),
        # How often each worker reads the floor's settings (announcement, hours, line):
        # the bound on how late a change made elsewhere (a `flask` command) is on screen.
        "FLOOR_POLL_SECONDS": number(env, "FLOOR_POLL_SECONDS", 1, 1, 60),
        **_event_log(env),
        # Login attempts (per account from one address or trusted browser, per address, per
        # account from everywhere else), and kiosk commands: limits a real screen never reaches.
        "LIMIT_LOGIN_ACCOUNT": rate(env, "LIMIT_LOGIN_ACCOUNT", "5/900"),
        "LIMIT_LOGIN_ADDRESS": rate(env, "LIMIT_LOGIN_ADDRESS", "20/900"),
        "LIMIT_LOGIN_ACCOUNT_TOTAL": rate(env, "LIMIT_LOGIN_ACCOUNT_TOTAL", "50/900"),
        "LIMIT_QUERY_CONNECTION": rate(env, "LIMIT_QUERY_CONNECTION", "60/60"),
        "LIMIT_QUERY_ADDRESS": rate(env, "LIMIT_QUERY_ADDRESS", "180/60"),
        "LIMIT_NEW_CONNECTION": rate(env, "LIMIT_NEW_CONNECTION", "30/60"),
        "LIMIT_NEW_ADDRESS": rate(env, "LIMIT_NEW_ADDRESS", "300/60"),
        # Frames per websocket connection; over it, the connection is closed (1008).
        "WS_MESSAGE_RATE": rate(env, "WS_MESSAGE_RATE", "1200/60"),
        # Follow links (/v/<code>, /ws/visitor): failed lookups per address, like logins.
        "LIMIT_FOLLOW_ADDRESS": rate(env, "LIMIT_FOLLOW_ADDRESS", "30/300"),
        "PUBLIC_URL": _public_url(env),
        "SITE_NAME": env.get("SITE_NAME", "").strip() or "tablequeue",
        # Email (tablequeue.ops.mail): off unless both are set.
        "SMTP_URL": _smtp_url(env),
        "MAIL_FROM": env.get("MAIL_FROM", "").strip() or None,
        "NOTIFY_AHEAD": number(env, "NOTIFY_AHEAD", 3, 1, 100),
        # A CSRF token lives as long as the browser session: a console left open all day
        # must still be able to log out.
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-Sock: ping keeps idle proxies from dropping the socket and finds dead peers;
        # the size cap closes an oversized frame with 1009 instead of buffering it.
        "SOCK_SERVER_OPTIONS": {
            "ping_interval": number(env, "WS_PING_SECONDS", 25, 1, 300),
            "max_message_size": max_message,
        },
    }
