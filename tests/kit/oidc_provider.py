"""A real OpenID Connect provider for the tests, in its own process
(`python -m tests.kit.oidc_provider PORT`): a small Flask app built on Authlib's
authorization server (authorization code grant, PKCE required, the OpenID Connect code
extension). It serves discovery, JWKS, /authorize with a login form, /token, /userinfo and
/logout (end session), and its switches make it misbehave the way the tests need: another
issuer (in the token or in discovery), another audience, `azp`, expiry, a missing or future
`iat`, `alg: none`, HS256 signed with the client secret, a wrong or missing nonce, a key it
does not publish, rotated keys, claims only in userinfo, userinfo about someone else, no
end-session endpoint. tests/kit/oidc.py drives it through /_control."""

from __future__ import annotations

import hmac
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, redirect, render_template_string, request, session
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from tests.kit.oidc_state import CLIENT_ID, CLIENT_SECRET, Code, State, User, id_token, new_key


class Client:
    """The one registered client: tablequeue on any 127.0.0.1 port."""

    client_id = CLIENT_ID

    def get_client_id(self) -> str:
        return CLIENT_ID

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in {"openid", "email", "profile"})

    def check_redirect_uri(self, uri: str) -> bool:
        parts = urlsplit(uri)
        return parts.hostname == "127.0.0.1" and parts.path == "/login/oidc/callback"

    def check_client_secret(self, secret: str) -> bool:
        return hmac.compare_digest(secret, CLIENT_SECRET)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


def create_app(port: int) -> Flask:
    app = Flask(__name__)
    app.secret_key = "provider-session-key"
    # Cookies ignore ports: the provider's session must not be called "session" as
    # tablequeue's is, or each would overwrite the other's in the browser.
    app.config["SESSION_COOKIE_NAME"] = "provider_session"
    state = State(issuer=f"http://127.0.0.1:{port}", keys=[new_key("key-1")],
                  unpublished=new_key("never-published"))
    state.reset()

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            state.codes[code] = Code(code, req.payload.redirect_uri, req.payload.scope,
                                     req.user.name, data.get("nonce"), data.get("code_challenge"),
                                     data.get("code_challenge_method"), int(time.time()))

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            return state.codes.get(code)

        def delete_authorization_code(self, code: Code) -> None:
            state.codes.pop(code.code, None)

        def authenticate_user(self, code: Code) -> User | None:
            return state.users.get(code.user)

    class RequirePkce(CodeChallenge):
        """PKCE with S256 for every client here, confidential ones too."""

        def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
            if grant.request.payload.data.get("code_challenge_method") != "S256":
                raise InvalidRequestError("PKCE (S256) is required")
            super().validate_code_challenge(grant, redirect_uri)

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce: str, req: Any) -> bool:
            return any(c.nonce == nonce for c in state.codes.values())

        def generate_user_info(self, user: User, scope: str) -> dict[str, Any]:
            return dict(user.claims)

        def process_token(self, grant: Any, response: Any) -> Any:
            _, token, _ = response
            code = grant.request.authorization_code
            state.access[token["access_token"]] = code.user
            token["id_token"] = id_token(state, state.users[code.user], code)
            return token

    server = AuthorizationServer(app, query_client=lambda cid: Client() if cid == CLIENT_ID
                                 else None, save_token=lambda token, req: None)
    server.register_grant(CodeGrant, [RequirePkce(required=True), IdToken(require_nonce=True)])

    def signed_in() -> User | None:
        if session.get("epoch") != state.epoch:
            return None
        return state.users.get(session.get("user", ""))

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Response:
        base, sw = state.issuer, state.switches
        doc = {
            "issuer": sw.get("discovery_issuer", base),
            "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo", "jwks_uri": f"{base}/jwks",
            "end_session_endpoint": f"{base}/logout",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            # HS256 listed on purpose: a client must still refuse HMAC-signed ID tokens.
            "id_token_signing_alg_values_supported": ["RS256", "HS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
        }
        if sw.get("no_end_session"):
            del doc["end_session_endpoint"]
        return jsonify(doc)

    @app.get("/jwks")
    def jwks() -> Response:
        with state.lock:
            state.log["jwks"] += 1
        return jsonify({"keys": [k.as_dict(private=False) for k in state.keys]})

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        if request.method == "GET":
            state.log["authorize"].append(request.args.to_dict())
        user = signed_in()
        if request.method == "POST":
            candidate = state.users.get(request.form.get("username", ""))
            if candidate and hmac.compare_digest(candidate.password,
                                                 request.form.get("password", "")):
                session.update(user=candidate.name, epoch=state.epoch)
                user = candidate
        try:
            grant = server.get_consent_grant(end_user=user)  # a bad request is refused here
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        if user is None:
            return render_template_string(LOGIN_PAGE, failed=request.method == "POST",
                                          query=request.query_string.decode())
        return server.create_authorization_response(grant_user=user, grant=grant)

    @app.post("/token")
    def token() -> Response:
        state.log["token"].append({k: v for k, v in request.form.items() if k != "code"})
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo() -> Response | tuple[Response, int]:
        state.log["userinfo"] += 1
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        name = state.access.get(bearer)
        if name is None:
            return jsonify(error="invalid_token"), 401
        claims = dict(state.users[name].claims)
        if state.switches.get("userinfo_sub"):
            claims["sub"] = state.switches["userinfo_sub"]
        return jsonify(claims)

    @app.get("/logout")
    def end_session() -> Any:
        state.log["end_session"].append(request.args.to_dict())
        session.clear()
        back = request.args.get("post_logout_redirect_uri", "")
        if urlsplit(back).hostname == "127.0.0.1" and urlsplit(back).path == "/login":
            return redirect(back)
        return "<!doctype html><title>Signed out</title><p>You are signed out.</p>"

    @app.post("/_control/<action>")
    def control(action: str) -> Response:
        body = request.get_json(silent=True) or {}
        with state.lock:
            if action == "reset":
                state.reset()
            elif action == "switches":
                state.switches = body
            elif action == "user":
                user = User(body.pop("username"), body.pop("password"), body)
                state.users[user.name] = user
            elif action == "rotate":  # a new signing key; the old one is no longer published
                state.keys = [new_key(f"key-{state.epoch}-{time.monotonic_ns()}")]
        return jsonify(ok=True)

    @app.get("/_control/log")
    def log() -> Response:
        return jsonify(state.log)

    return app


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test University · sign in</title></head>
<body><main>
<h1>Test University</h1>
{% if failed %}<p role="alert">Wrong username or password.</p>{% endif %}
<form method="post" action="/authorize?{{ query }}">
  <label>Username <input name="username" id="provider-username"></label>
  <label>Password <input name="password" type="password" id="provider-password"></label>
  <button type="submit" id="provider-submit">Sign in</button>
</form>
</main></body></html>"""


if __name__ == "__main__":
    port = int(sys.argv[1])
    make_server("127.0.0.1", port, create_app(port), threaded=True).serve_forever()
