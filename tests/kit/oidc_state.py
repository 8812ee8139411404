"""What the test OpenID Connect provider (tests/kit/oidc_provider.py) knows: its people,
codes, keys, switches and log, and the ID tokens it makes, well-formed unless a switch says
otherwise."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

CLIENT_ID = "tablequeue"
CLIENT_SECRET = "test-provider-secret-0123456789abcdef"


@dataclass
class User:
    name: str
    password: str
    claims: dict[str, Any]  # sub, email, email_verified, groups, name: what it says about them


@dataclass
class Code:
    code: str
    redirect_uri: str
    scope: str
    user: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass
class State:
    """Everything the provider knows; the control endpoints change it."""

    issuer: str
    keys: list[RSAKey] = field(default_factory=list)  # published; the first one signs
    unpublished: RSAKey | None = None
    users: dict[str, User] = field(default_factory=dict)
    switches: dict[str, Any] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    access: dict[str, str] = field(default_factory=dict)  # access token -> user name
    log: dict[str, Any] = field(default_factory=dict)
    epoch: int = 0  # bumped by a reset: every browser's provider session ends
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.users, self.switches, self.codes, self.access = {}, {}, {}, {}
        self.log = {"jwks": 0, "authorize": [], "token": [], "userinfo": 0, "end_session": []}
        self.epoch += 1


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def id_token(state: State, user: User, code: Code) -> str:
    """The ID token, as the switches say it should be (well-formed by default)."""
    sw, now = state.switches, int(time.time())
    claims: dict[str, Any] = {
        "iss": sw.get("iss", state.issuer), "sub": user.claims["sub"],
        "aud": sw.get("aud", CLIENT_ID), "exp": now + sw.get("exp", 300), "iat": now,
        "auth_time": code.auth_time, "nonce": code.nonce,
    }
    if "azp" in sw:
        claims["azp"] = sw["azp"]
    if sw.get("iat") == "missing":
        del claims["iat"]
    elif sw.get("iat") == "future":
        claims["iat"] = now + 3600
    if sw.get("nonce") == "wrong":
        claims["nonce"] = f"not-{code.nonce}"
    elif sw.get("nonce") == "missing":
        del claims["nonce"]
    if not sw.get("claims_in_userinfo_only"):
        claims.update({k: v for k, v in user.claims.items() if k != "sub"})
    alg = sw.get("alg", "RS256")
    if alg == "none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    if alg == "HS256":  # the classic confusion: an HMAC keyed with the client secret
        return jwt.encode({"alg": "HS256", "kid": state.keys[0].kid}, claims,
                          OctKey.import_key(CLIENT_SECRET), algorithms=["HS256"])
    key = state.unpublished if sw.get("key") == "unpublished" else state.keys[0]
    assert key is not None
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key, algorithms=["RS256"])
