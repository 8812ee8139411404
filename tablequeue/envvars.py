"""Reading one environment variable, with its default and a clear error: the readers
every setting of tablequeue.config is built from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(ValueError):
    """A configuration value is present but unusable; the message says which and why."""


def number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
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


def switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


def choice(env: Mapping[str, str], name: str, default: str, choices: set[str]) -> str:
    raw = env.get(name, "").strip().lower() or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(sorted(choices))}, got {raw!r}")
    return raw


def listed(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def rate(env: Mapping[str, str], name: str, default: str) -> tuple[int, int]:
    """A rate limit written COUNT/SECONDS, e.g. 30/60: at most 30 in any 60-second window."""
    raw = env.get(name, "").strip() or default
    count, _, seconds = raw.partition("/")
    try:
        limit = int(count), int(seconds)
    except ValueError:
        raise ConfigError(
            f"{name} must look like COUNT/SECONDS (e.g. 30/60), got {raw!r}") from None
    if limit[0] < 1 or not 1 <= limit[1] <= 86400:
        raise ConfigError(f"{name}: COUNT must be at least 1 and SECONDS 1 to 86400, got {raw!r}")
    return limit


class SmsAccount(NamedTuple):
    """SMS_URL read: the Twilio account, its default sender, its API's address."""

    sid: str
    token: str
    sender: str | None  # a site may have its own (`flask sms sender`)
    api_base: str  # https://api.twilio.com, or a stand-in (tests/kit/twilio_server.py)


E164 = re.compile(r"\+[1-9][0-9]{6,14}")


def twilio_url(env: Mapping[str, str], name: str) -> SmsAccount | None:
    """twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+12025550100[&api_base=URL]; the query is read
    without turning `+` into a space (unquote, not unquote_plus)."""
    url = urlsplit(env.get(name, "").strip())
    if not url.scheme:
        return None
    query = {k: unquote(v) for k, _, v in (p.partition("=") for p in url.query.split("&"))}
    sender = query.get("from") or None
    if url.scheme != "twilio" or not (url.username and url.password) or (
            sender and not E164.fullmatch(sender)):
        raise ConfigError(f"{name} looks like twilio://ACCOUNT_SID:AUTH_TOKEN@?from=+1202…")
    return SmsAccount(unquote(url.username), unquote(url.password), sender,
                      query.get("api_base", "").rstrip("/") or "https://api.twilio.com")


def region(env: Mapping[str, str], name: str) -> str | None:
    """A two-letter region code (GB, US), upper-cased; None when unset."""
    code = env.get(name, "").strip().upper()
    if code and not re.fullmatch(r"[A-Z]{2}", code):
        raise ConfigError(f"{name} is a region code such as GB or US, got {code!r}")
    return code or None


def zone(env: Mapping[str, str], name: str) -> ZoneInfo:
    """An IANA zone name (TIMEZONE: the site's; times people read are in it), UTC if unset."""
    raw = env.get(name, "").strip() or "UTC"
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone name such as Europe/Berlin, got {raw!r}"
        ) from None


def origins(env: Mapping[str, str], name: str) -> list[str]:
    """scheme://host[:port] entries (ALLOWED_ORIGINS: compared exactly with `Origin`)."""
    found = [o.rstrip("/").lower() for o in listed(env, name)]
    for origin in found:
        if not (origin.startswith("http://") or origin.startswith("https://")):
            raise ConfigError(
                f"{name} entries look like https://host[:port], got {origin!r}")
    return found
