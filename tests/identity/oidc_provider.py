"""A real OpenID Connect provider for the tests, on loopback: Authlib's server side (Flask
integration: authorization code grant, PKCE required, OpenID Connect `code` flow with nonce
required) with RSA keys made by joserfc, served by werkzeug in a thread.

It is a provider, not a mock of our client: our code talks HTTP to it exactly as to FranceConnect
(discovery, authorize, token, JWKS, userinfo, end session). Knobs make it misbehave the ways a
forged or broken token would: `sign_with` another key, another `audience`, an `expires_in` in the
past, a `nonce` other than the one asked.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.grants.util import create_half_hash
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import make_server


@dataclass
class User:
    sub: str
    email: str
    given_name: str
    family_name: str


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in {"openid", "email", "profile"})

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class Provider:
    def __init__(self, client_id: str = "carnet", client_secret: str = "secret-de-test") -> None:  # noqa: S107
        self.key = RSAKey.generate_key(2048, parameters={"kid": "cle-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "cle-1", "use": "sig", "alg": "RS256"})
        self.client_id, self.client_secret = client_id, client_secret
        self.user = User("sub-0001", "marie.durand@exemple.fr", "Marie", "Durand")
        self.codes: dict[str, AuthCode] = {}
        self.tokens: dict[str, User] = {}
        self.logouts: list[dict[str, str]] = []
        # knobs
        self.sign_with: RSAKey | None = None
        self.audience: str | None = None
        self.expires_in = 600
        self.nonce: str | None = None
        self.end_session = True
        self.redirect_uris: list[str] = []
        self.app = self._make_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def reset(self) -> None:
        self.sign_with, self.audience, self.expires_in, self.nonce, self.end_session = (
            None,
            None,
            600,
            None,
            True,
        )

    # --- the server ---------------------------------------------------------------------------

    def _make_app(self) -> Flask:
        provider = self
        app = Flask("oidc-provider-de-test")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600}

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                data = req.payload.data
                provider.codes[code] = AuthCode(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope,
                    user=req.user,
                    nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"),
                    code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code: str, client: Client) -> AuthCode | None:
                item = provider.codes.get(code)
                return item if item and item.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: AuthCode) -> None:
                provider.codes.pop(authorization_code.code, None)  # a code works once

            def authenticate_user(self, authorization_code: AuthCode) -> User:
                return authorization_code.user

        class IdToken(OpenIDCode):
            def exists_nonce(self, nonce: str, req: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def generate_user_info(self, user: User, scope: str) -> dict[str, Any]:
                return {"sub": user.sub}

            def encode_id_token(self, token: dict[str, Any], req: Any) -> str:
                now = int(time.time())
                claims: dict[str, Any] = {
                    "iss": provider.issuer,
                    "sub": req.user.sub,
                    "aud": provider.audience or provider.client_id,
                    "iat": now,
                    "exp": now + provider.expires_in,
                    "auth_time": req.authorization_code.get_auth_time(),
                    "nonce": provider.nonce or req.authorization_code.get_nonce(),
                }
                at_hash = create_half_hash(token["access_token"], "RS256")
                claims["at_hash"] = at_hash.decode() if at_hash else None
                key = provider.sign_with or provider.key
                return jwt.encode({"alg": "RS256", "kid": "cle-1"}, claims, key)

        def query_client(client_id: str) -> Client | None:
            if client_id != provider.client_id:
                return None
            return Client(provider.client_id, provider.client_secret, provider.redirect_uris)

        def save_token(token: dict[str, Any], req: Any) -> None:
            provider.tokens[token["access_token"]] = req.user

        server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
        server.register_grant(CodeGrant, [CodeChallenge(required=True), IdToken(require_nonce=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            metadata = {
                "issuer": provider.issuer,
                "authorization_endpoint": f"{provider.issuer}/authorize",
                "token_endpoint": f"{provider.issuer}/token",
                "userinfo_endpoint": f"{provider.issuer}/userinfo",
                "jwks_uri": f"{provider.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["openid", "email", "profile"],
            }
            if provider.end_session:
                metadata["end_session_endpoint"] = f"{provider.issuer}/logout"
            return jsonify(metadata)

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify(KeySet([provider.key]).as_dict(private=False))

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            if request.method == "GET":
                server.get_consent_grant(end_user=provider.user)  # refuses a bad request now
                return (
                    "<!doctype html><html lang='fr'><title>Fournisseur d'identité de test</title>"
                    f"<form method='post' action='/authorize?{request.query_string.decode()}'>"
                    f"<p>Connexion de {provider.user.given_name} {provider.user.family_name}</p>"
                    "<button type='submit'>Continuer vers le service</button></form></html>"
                )
            return server.create_authorization_response(grant_user=provider.user)

        @app.post("/token")
        def issue_token() -> Any:
            return server.create_token_response()

        @app.get("/userinfo")
        def userinfo() -> Any:
            bearer = request.headers.get("Authorization", "")
            user = provider.tokens.get(bearer.removeprefix("Bearer ").strip())
            if user is None:
                return jsonify({"error": "invalid_token"}), 401
            return jsonify(
                {
                    "sub": user.sub,
                    "email": user.email,
                    "email_verified": True,
                    "given_name": user.given_name,
                    "family_name": user.family_name,
                }
            )

        @app.get("/logout")
        def logout() -> Any:
            provider.logouts.append(dict(request.args))
            target = request.args.get("post_logout_redirect_uri") or "/"
            state = request.args.get("state")
            return redirect(f"{target}?{urlencode({'state': state})}" if state else target)

        return app
