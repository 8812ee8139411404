"""The ID token's checks (OpenID Connect Core 1.0, 3.1.3.7), each written out here rather
than left to a library's defaults: Authlib's claim check takes a token whose `aud` names
another client as long as `azp` names us, and would take any algorithm discovery lists.

Refused: an algorithm that is not a public-key signature (`none`, and HS256 and the other
HMACs even when discovery lists them: their key would be our client secret, which the
provider is not the only one to hold); a signature by no key of the provider's JWKS (an
unknown `kid` fetches the keys once more, for a provider that has rotated them); `iss` not
OIDC_ISSUER; `aud` not containing OIDC_CLIENT_ID, or naming several clients without `azp`
being us; `azp` naming another client; `exp` passed; `iat` missing or in the future; `nbf`
ahead; `nonce` not the one this browser's sign-in sent; no `sub`."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

# Public-key signatures only; the first is what OpenID Connect requires providers to offer.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
              "ES256", "ES384", "ES512", "EdDSA", "Ed25519")
LEEWAY = 60  # seconds of clock difference with the provider forgiven on exp, iat and nbf

Keys = Callable[[bool], KeySet]  # the provider's signing keys; True: fetch them anew


class TokenRefused(Exception):
    """An ID token not to be believed. `reason`: a word for logs; the message: for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Expected:
    issuer: str
    client_id: str
    nonce: str


def verify(id_token: str, expected: Expected, keys: Keys,
           now: float | None = None) -> dict[str, Any]:
    """The token's claims, once its signature and every claim above have been checked."""
    try:
        header = extract_compact(id_token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        raise TokenRefused("malformed", "its ID token is not a signed token") from None
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise TokenRefused("algorithm", f"its ID token is signed with {str(alg)[:16]!r}, "
                           "which is not a public-key signature") from None
    try:
        try:
            claims = jwt.decode(id_token, keys(False), algorithms=[alg]).claims
        except InvalidKeyIdError:  # rotated keys: fetch them once more, then give up
            claims = jwt.decode(id_token, keys(True), algorithms=[alg]).claims
    except InvalidKeyIdError:
        raise TokenRefused("unknown key", "its ID token is signed with a key the provider "
                           "does not publish") from None
    except (BadSignatureError, JoseError, ValueError):
        raise TokenRefused("signature", "its ID token's signature does not verify") from None
    _check(claims, expected, time.time() if now is None else now)
    return claims


def _time(value: object) -> float | None:
    """A NumericDate, or None (a bool, a string, NaN or infinity is none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _check(claims: dict[str, Any], expected: Expected, now: float) -> None:
    def refuse(reason: str, message: str) -> None:
        raise TokenRefused(reason, message)

    if claims.get("iss") != expected.issuer:
        refuse("issuer", "its ID token was issued by another provider than OIDC_ISSUER")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if expected.client_id not in audiences:
        refuse("audience", "its ID token is meant for another application")
    azp = claims.get("azp")
    if (azp is not None or len(audiences) > 1) and azp != expected.client_id:
        refuse("azp", "its ID token was handed to another application")
    exp, iat, nbf = _time(claims.get("exp")), _time(claims.get("iat")), claims.get("nbf")
    if exp is None or exp <= now - LEEWAY:
        refuse("expired", "its ID token has expired")
    if iat is None:
        refuse("iat", "its ID token does not say when it was issued")
    elif iat > now + LEEWAY:
        refuse("iat", "its ID token says it was issued in the future")
    if nbf is not None and (_time(nbf) is None or float(nbf) > now + LEEWAY):
        refuse("nbf", "its ID token is not valid yet")
    nonce = claims.get("nonce")
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce.encode(),
                                                              expected.nonce.encode()):
        refuse("nonce", "its ID token answers another sign-in (wrong nonce)")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not 0 < len(sub) <= 255:
        refuse("sub", "its ID token does not name the person")
