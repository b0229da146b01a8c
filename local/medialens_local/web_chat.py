"""The web chat offline: the page in ``web/``, served with local stand-ins for sign-in.

On AWS the page is served by CloudFront from a private bucket, its users sign in with
the stack's Cognito user pool (OAuth 2.0 authorization code with PKCE), and the
identity pool gives members of the chat group credentials that may call RecognizeText
on the bot's live alias. Offline there is no Cognito, so this server stands in for the
three parts the page calls, speaking their documented protocols:

* ``/local-sign-in/oauth2/authorize``, ``/oauth2/token`` and ``/logout``: the user
  pool's managed login and token endpoints. The page lets you pick a member of the chat
  group or someone outside it; the token endpoint checks the PKCE verifier.
* ``/local-identity/``: the identity pool's ``GetId`` and ``GetCredentialsForIdentity``
  (JSON 1.1, ``X-Amz-Target``), refusing a token whose ``cognito:groups`` lacks the chat
  group, as the identity pool's role mapping (``AmbiguousRoleResolution: Deny``) does.

The page, its script and ``config.json`` are the same as on AWS: only the endpoints in
``config.json`` differ, and it says on the page that sign-in is a stand-in.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from medialens.webchat.site import PAGE_FILES, content_type

from medialens_local.loopback import QuietHandler, Served, start

WEB = Path(__file__).resolve().parents[2] / "web"
"""The page's files: the same ones the stack deploys."""

SIGN_IN_PATH = "/local-sign-in"
IDENTITY_PATH = "/local-identity/"
CLIENT_ID = "localwebchatclient"
USER_POOL_ID = "local_webchat"
IDENTITY_POOL_ID = "local:00000000-0000-4000-8000-000000000000"
TOKEN_LIFETIME_S = 3600
STAND_IN_NOTE = (
    "Offline: sign-in is a local stand-in for the stack's Cognito user pool and identity "
    "pool, and the bot is the local Lex runtime over the samples' catalog."
)


@dataclass(frozen=True)
class StandInUser:
    """Someone the stand-in sign-in page offers."""

    username: str
    email: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class WebChatSetting:
    """What the page needs to know about the bot and the local endpoints.

    Attributes
    ----------
    lex_endpoint : str
        The local Lex runtime.
    media_endpoint : str
        Where the bot's links to media point (local S3), allowed by the page's CSP.
    bot_id, bot_alias_id, locale_id, region : str
    chat_group : str
        The user pool group whose members may chat (the template's).
    """

    lex_endpoint: str
    media_endpoint: str
    bot_id: str
    bot_alias_id: str
    chat_group: str
    locale_id: str = "en_US"
    region: str = "eu-west-1"

    def users(self) -> tuple[StandInUser, ...]:
        """Offer a member of the chat group, and someone outside it."""
        return (
            StandInUser("demo", "demo@example.com", (self.chat_group,)),
            StandInUser("outsider", "outsider@example.com", ()),
        )


def content_security_policy(
    *, connect: list[str], media: list[str], sign_in: str, self_source: str = "'self'"
) -> str:
    """Write the page's Content-Security-Policy: only its own files, and the hosts it calls.

    Parameters
    ----------
    connect : list[str]
        Origins the script may call (Lex runtime, identity pool, token endpoint).
    media : list[str]
        Origins thumbnails and videos come from (the media bucket).
    sign_in : str
        The managed login's origin, where the page sends the browser to sign in.
    self_source : str, optional

    Returns
    -------
    str
    """
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {self_source}",
            f"style-src {self_source}",
            f"connect-src {self_source} {' '.join(connect)}",
            f"img-src {self_source} {' '.join(media)}",
            f"media-src {' '.join(media)}",
            f"form-action {self_source} {sign_in}",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class _SignIns:
    """Codes handed out by the authorize page, and the ID tokens issued for them."""

    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    tokens: dict[str, StandInUser] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def serve(setting: WebChatSetting, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve the page, ``config.json`` and the sign-in stand-ins on a loopback port.

    Parameters
    ----------
    setting : WebChatSetting
    host : str, optional
    port : int, optional
        0 picks a free port.

    Returns
    -------
    Served
    """
    sign_ins = _SignIns()
    users = {user.username: user for user in setting.users()}
    origin: dict[str, str] = {}

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            if url.path == "/config.json":
                self._send(HTTPStatus.OK, "application/json", json.dumps(_config()).encode())
            elif url.path == f"{SIGN_IN_PATH}/oauth2/authorize":
                self._authorize(query)
            elif url.path == f"{SIGN_IN_PATH}/approve":
                self._approve(query)
            elif url.path == f"{SIGN_IN_PATH}/logout":
                self._redirect(query.get("logout_uri") or "/")
            else:
                self._file(url.path)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            if path == f"{SIGN_IN_PATH}/oauth2/token":
                self._token({k: v[-1] for k, v in parse_qs(body.decode()).items()})
            elif path == IDENTITY_PATH:
                self._identity(self.headers.get("X-Amz-Target", ""), body)
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")

        # ---------------------------------------------------------- the page

        def _file(self, path: str) -> None:
            name = "index.html" if path in ("", "/") else path.lstrip("/")
            if name not in PAGE_FILES:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found")
                return
            self._send(HTTPStatus.OK, content_type(name), (WEB / name).read_bytes())

        # ---------------------------------------------------------- managed login

        def _authorize(self, query: Mapping[str, str]) -> None:
            problem = None
            if query.get("client_id") != CLIENT_ID:
                problem = "unknown client_id"
            elif query.get("response_type") != "code":
                problem = "response_type must be code"
            elif query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                problem = "PKCE with S256 is required"
            elif not query.get("redirect_uri", "").startswith(origin["page"]):
                problem = "redirect_uri is not the page's"
            if problem is not None:
                self._send(HTTPStatus.BAD_REQUEST, "text/plain", problem.encode())
                return
            choices = "".join(
                f'<li><a href="{SIGN_IN_PATH}/approve?'
                f'{html.escape(urlencode({**query, "user": user.username}))}">'
                f"Sign in as {html.escape(user.email)}</a> "
                f"({'in' if setting.chat_group in user.groups else 'not in'} the "
                f"{html.escape(setting.chat_group)} group)</li>"
                for user in setting.users()
            )
            page = (
                "<!doctype html><html lang=en><meta charset=utf-8>"
                '<meta name=viewport content="width=device-width, initial-scale=1">'
                '<link rel=icon href="/favicon.svg" type="image/svg+xml">'
                "<title>Local sign-in stand-in</title>"
                "<h1>Local sign-in stand-in</h1>"
                "<p>There is no Cognito offline. On AWS this is the user pool's sign-in "
                "page; here you choose who you are.</p>"
                f"<ul>{choices}</ul>"
            )
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode())

        def _approve(self, query: Mapping[str, str]) -> None:
            user = users.get(query.get("user", ""))
            if user is None:
                self._send(HTTPStatus.BAD_REQUEST, "text/plain", b"unknown user")
                return
            code = secrets.token_urlsafe(24)
            with sign_ins.lock:
                sign_ins.codes[code] = {
                    "user": user.username,
                    "challenge": query["code_challenge"],
                    "redirect_uri": query["redirect_uri"],
                }
            answer = urlencode({"code": code, "state": query.get("state", "")})
            self._redirect(f"{query['redirect_uri']}?{answer}")

        def _token(self, form: Mapping[str, str]) -> None:
            with sign_ins.lock:
                grant = sign_ins.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != CLIENT_ID
                or form.get("redirect_uri") != grant["redirect_uri"]
                or _base64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]
            ):
                self._json(HTTPStatus.BAD_REQUEST, {"error": "invalid_grant"})
                return
            user = users[grant["user"]]
            token = _id_token(user, setting)
            with sign_ins.lock:
                sign_ins.tokens[token] = user
            self._json(
                HTTPStatus.OK,
                {
                    "id_token": token,
                    "access_token": secrets.token_urlsafe(32),
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME_S,
                },
            )

        # ---------------------------------------------------------- identity pool

        def _identity(self, target: str, body: bytes) -> None:
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                self._error("ValidationException", "The request body is not JSON.")
                return
            provider = f"cognito-idp.{setting.region}.amazonaws.com/{USER_POOL_ID}"
            token = (request.get("Logins") or {}).get(provider)
            with sign_ins.lock:
                user = sign_ins.tokens.get(token or "")
            if user is None:
                self._error("NotAuthorizedException", "Invalid login token.")
                return
            operation = target.rsplit(".", 1)[-1]
            identity_id = f"{setting.region}:{uuid.uuid5(uuid.NAMESPACE_URL, user.username)}"
            if operation == "GetId":
                if request.get("IdentityPoolId") != IDENTITY_POOL_ID:
                    self._error("ResourceNotFoundException", "IdentityPool not found.")
                    return
                self._json(HTTPStatus.OK, {"IdentityId": identity_id}, amz=True)
            elif operation == "GetCredentialsForIdentity":
                if setting.chat_group not in user.groups:
                    # The role mapping finds no cognito:preferred_role and denies.
                    self._error(
                        "NotAuthorizedException",
                        "Unable to resolve a role from the token's groups (role mapping Deny).",
                    )
                    return
                credentials = {
                    "AccessKeyId": "ASIALOCALWEBCHAT",
                    "SecretKey": secrets.token_urlsafe(30),
                    "SessionToken": secrets.token_urlsafe(60),
                    "Expiration": int(time.time()) + TOKEN_LIFETIME_S,
                }
                self._json(
                    HTTPStatus.OK, {"IdentityId": identity_id, "Credentials": credentials}, amz=True
                )
            else:
                self._error("UnknownOperationException", f"{target} is not served here.")

        # ---------------------------------------------------------- replies

        def _error(self, code: str, message: str) -> None:
            self._json(HTTPStatus.BAD_REQUEST, {"__type": code, "message": message}, amz=True)

        def _json(self, status: int, document: Any, *, amz: bool = False) -> None:
            kind = "application/x-amz-json-1.1" if amz else "application/json"
            self._send(status, kind, json.dumps(document).encode())

        def _redirect(self, location: str) -> None:
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _send(self, status: int, kind: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-cache")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", _policy())
            self.end_headers()
            self.wfile.write(payload)

    def _config() -> dict[str, Any]:
        return page_config(
            region=setting.region,
            bot_id=setting.bot_id,
            bot_alias_id=setting.bot_alias_id,
            locale_id=setting.locale_id,
            lex_endpoint=setting.lex_endpoint,
            sign_in_domain=origin["page"] + SIGN_IN_PATH,
            client_id=CLIENT_ID,
            user_pool_id=USER_POOL_ID,
            identity_pool_id=IDENTITY_POOL_ID,
            identity_endpoint=origin["page"] + IDENTITY_PATH,
            stand_in=STAND_IN_NOTE,
        )

    def _policy() -> str:
        return content_security_policy(
            connect=[setting.lex_endpoint], media=[setting.media_endpoint], sign_in="'self'"
        )

    served = start("web-chat", Handler, host, port)
    origin["page"] = served.endpoint
    return served


def page_config(
    *,
    region: str,
    bot_id: str,
    bot_alias_id: str,
    locale_id: str,
    lex_endpoint: str,
    sign_in_domain: str,
    client_id: str,
    user_pool_id: str,
    identity_pool_id: str,
    identity_endpoint: str,
    stand_in: str | None = None,
) -> dict[str, Any]:
    """Write the page's ``config.json``: the same shape on AWS and offline.

    Returns
    -------
    dict[str, Any]
    """
    return {
        "region": region,
        "botId": bot_id,
        "botAliasId": bot_alias_id,
        "localeId": locale_id,
        "lexEndpoint": lex_endpoint,
        "cognito": {
            "domain": sign_in_domain,
            "clientId": client_id,
            "userPoolId": user_pool_id,
            "identityPoolId": identity_pool_id,
            "identityEndpoint": identity_endpoint,
        },
        "standIn": stand_in,
    }


def _id_token(user: StandInUser, setting: WebChatSetting) -> str:
    """Issue an ID token with the claims the page and the identity pool read (unsigned)."""
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, user.username)),
        "cognito:username": user.username,
        "cognito:groups": list(user.groups),
        "email": user.email,
        "aud": CLIENT_ID,
        "iss": f"https://cognito-idp.{setting.region}.amazonaws.com/{USER_POOL_ID}",
        "token_use": "id",
        "iat": now,
        "exp": now + TOKEN_LIFETIME_S,
    }
    header = _base64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _base64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{secrets.token_urlsafe(16)}"
