"""Our side of the OpenID Connect provider's endpoints (Authlib's OAuth 2.0 client over
requests): discovery, the signing keys, the authorization address with PKCE, the code
exchange, userinfo and the logout address. Only the sign-in pages call it, every call
with a timeout; logging out and websockets never wait on the provider."""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic
from typing import Any

import requests
from authlib.common.security import is_secure_transport
from authlib.common.urls import add_params_to_uri
from authlib.integrations.requests_client import OAuth2Session
from authlib.integrations.requests_client import OAuthError as TokenError
from flask import Flask
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tablequeue.extensions import Slot

TIMEOUT = 10  # seconds for any one call to the provider
# A sign-in reads discovery anew at its start (a reachability check) and at its callback
# (every worker sees a changed document at once); the calls in between reuse it.
DISCOVERY_SECONDS = 300
SCOPE = "openid email profile"


class ProviderError(Exception):
    """The provider answered, but not in a way we can accept; the message is for people."""


class ProviderDown(ProviderError):
    """The provider could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Metadata:
    """The parts of the discovery document a sign-in uses."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    auth_method: str  # how the token endpoint wants our secret


class Client:
    """One per app (client_of): the provider's discovery document and keys, cached."""

    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer, self.client_id, self._secret = issuer, client_id, client_secret
        self._metadata: Metadata | None = None
        self._read_at = 0.0
        self._keys: KeySet | None = None

    def _json(self, url: str, **headers: str) -> dict[str, Any]:
        try:
            response = requests.get(url, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise ProviderDown(f"{type(error).__name__}") from error
        if response.status_code >= 500:
            raise ProviderDown(f"HTTP {response.status_code}")
        try:
            body = response.json() if response.ok else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderError(f"{url} answered HTTP {response.status_code} without JSON")
        return body

    def metadata(self, fresh: bool = False) -> Metadata:
        if self._metadata and not fresh and monotonic() - self._read_at < DISCOVERY_SECONDS:
            return self._metadata
        doc = self._json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if doc.get("issuer") != self.issuer:  # OpenID Connect Discovery 1.0, 4.3
            raise ProviderError("its discovery document names another issuer than OIDC_ISSUER")

        def endpoint(name: str, required: bool = True) -> str | None:
            url = doc.get(name)
            if url is None and not required:
                return None
            if not isinstance(url, str) or not is_secure_transport(url):
                raise ProviderError(f"its discovery document has no usable {name}")
            return url

        methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        self._metadata = Metadata(
            str(endpoint("authorization_endpoint")), str(endpoint("token_endpoint")),
            str(endpoint("jwks_uri")), endpoint("userinfo_endpoint", False),
            endpoint("end_session_endpoint", False),
            "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post",
        )
        self._read_at = monotonic()
        return self._metadata

    def keys(self, force: bool) -> KeySet:
        """The provider's signature keys (JWKS); `force` fetches them anew (rotation)."""
        if self._keys is None or force:
            jwks = self._json(self.metadata().jwks_uri)
            usable = [key for key in jwks.get("keys") or [] if isinstance(key, dict)
                      and key.get("kty") in ("RSA", "EC", "OKP") and key.get("use", "sig") == "sig"]
            try:
                self._keys = KeySet.import_key_set({"keys": usable})
            except (JoseError, ValueError, TypeError) as error:
                raise ProviderError("its JWKS holds no usable signature key") from error
        return self._keys

    def _session(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            self.client_id, self._secret, scope=SCOPE, redirect_uri=redirect_uri,
            code_challenge_method="S256", default_timeout=TIMEOUT,
            token_endpoint_auth_method=self.metadata().auth_method,
        )

    def authorize_url(self, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        """Where to send the browser: a code flow request with PKCE (S256), state, nonce."""
        meta = self.metadata(fresh=True)
        with self._session(redirect_uri) as session:
            url, _ = session.create_authorization_url(
                meta.authorization_endpoint, state=state, code_verifier=verifier, nonce=nonce)
        return str(url)

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> dict[str, Any]:
        """The token response for a callback's code (with the PKCE verifier)."""
        with self._session(redirect_uri) as session:
            try:
                token = session.fetch_token(self.metadata().token_endpoint,
                                            grant_type="authorization_code", code=code,
                                            code_verifier=verifier)
            except requests.RequestException as error:
                raise _down(error) from error
            except TokenError as error:
                raise ProviderError(f"its token endpoint refused the code ({error.error})") \
                    from error
        if not isinstance(token.get("id_token"), str):
            raise ProviderError("its token endpoint sent no ID token")
        return dict(token)

    def userinfo(self, access_token: str | None) -> dict[str, Any]:
        """The userinfo endpoint's claims ({} where there is none to ask)."""
        url = self.metadata().userinfo_endpoint
        if url is None or not access_token:
            return {}
        return self._json(url, Authorization=f"Bearer {access_token}")

def _down(error: requests.RequestException) -> ProviderError:
    response = error.response
    if response is None or response.status_code >= 500:
        return ProviderDown(type(error).__name__)
    return ProviderError(f"its token endpoint answered HTTP {response.status_code}")


def logout_url(end_session: str, client_id: str, id_token: str | None, back: str) -> str:
    """Where logging out sends the browser: the provider's end-session endpoint (as its
    discovery named it at the sign-in), RP-Initiated Logout 1.0."""
    params = {"client_id": client_id, "post_logout_redirect_uri": back}
    if id_token:
        params["id_token_hint"] = id_token
    return str(add_params_to_uri(end_session, params))


SLOT: Slot[Client] = Slot("tablequeue.oidc_client")


def install(app: Flask) -> None:
    """With OIDC_ISSUER set: the app's client of the provider (nothing is fetched yet)."""
    config = app.config
    if config["OIDC_ISSUER"]:
        SLOT.put(app, Client(config["OIDC_ISSUER"], config["OIDC_CLIENT_ID"],
                             config["OIDC_CLIENT_SECRET"]))


def client_of(app: Flask) -> Client:
    return SLOT.of(app)
