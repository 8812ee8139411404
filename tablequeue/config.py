"""Configuration read from the environment once, with defaults and clear errors."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """A configuration value is present but unusable; the message says which and why."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


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


def load(instance_path: Path, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = os.environ if env is None else env
    database_url = _database_url(env, instance_path)
    max_message = _int(env, "MAX_MESSAGE_SIZE", 16 * 1024, 4096, 1024 * 1024)
    engine_options: dict[str, Any] = {}
    if database_url.startswith("postgresql"):
        engine_options = {
            "pool_size": _int(env, "DB_POOL_SIZE", 10, 1, 1000),
            "max_overflow": _int(env, "DB_MAX_OVERFLOW", 5, 0, 1000),
            "pool_timeout": _int(env, "DB_POOL_TIMEOUT", 10, 1, 300),
            "pool_pre_ping": True,
            "connect_args": {"connect_timeout": _int(env, "DB_CONNECT_TIMEOUT", 5, 1, 60)},
        }
    return {
        "SECRET_KEY": _secret_key(env, instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "REDIS_URL": env.get("REDIS_URL", "").strip() or None,
        "TABLE_COUNT": _int(env, "TABLE_COUNT", 10, 1, 1000),
        "SESSION_HOURS": _int(env, "SESSION_HOURS", 12, 1, 24 * 365),
        "DISPLAY_SHOWS_EMAIL": _bool(env, "DISPLAY_SHOWS_EMAIL", False),
        "RATE_LIMITS": _bool(env, "RATE_LIMITS", True),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env, "SECURE_COOKIES", False),
        # Flask-Sock: ping keeps idle proxies from dropping the socket and finds dead peers;
        # the size cap closes an oversized frame with 1009 instead of buffering it.
        "SOCK_SERVER_OPTIONS": {"ping_interval": 25, "max_message_size": max_message},
    }
