"""The web chat's local sign-in stand-ins refuse what Cognito refuses.

The page's sign-in is checked offline only against these stand-ins, so they must be as
strict as the documented protocols: a code is used once, with its PKCE verifier and
redirect URI; the identity pool takes only tokens it issued, and gives credentials only
to the chat group.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from medialens_local.loopback import Served
from medialens_local.web_chat import (
    CLIENT_ID,
    IDENTITY_PATH,
    IDENTITY_POOL_ID,
    SIGN_IN_PATH,
    USER_POOL_ID,
    WebChatSetting,
    serve,
)

DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
VERIFIER = "a-verifier-of-enough-entropy-for-the-test-0123456789"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[Served]:
    setting = WebChatSetting(
        lex_endpoint="http://127.0.0.1:1",
        media_endpoint="http://127.0.0.1:2",
        bot_id="LOCALBOTID",
        bot_alias_id="LOCALALIAS",
        chat_group="chat",
    )
    served = serve(setting)
    yield served
    served.stop()


def code_for(server: Served, user: str, verifier: str = VERIFIER) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": server.endpoint + "/",
            "state": "s1",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "user": user,
        }
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"{server.endpoint}{SIGN_IN_PATH}/approve?{query}", timeout=10)
    location = redirect.value.headers["Location"]
    answer = parse_qs(urlsplit(location).query)
    assert answer["state"] == ["s1"]
    return answer["code"][0]


def token(server: Served, code: str, verifier: str = VERIFIER) -> tuple[int, dict[str, Any]]:
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "code": code,
            "redirect_uri": server.endpoint + "/",
            "code_verifier": verifier,
        }
    ).encode()
    request = urllib.request.Request(f"{server.endpoint}{SIGN_IN_PATH}/oauth2/token", data=form)
    try:
        with DIRECT.open(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def identity(server: Served, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        server.endpoint + IDENTITY_PATH,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"AWSCognitoIdentityService.{target}",
        },
    )
    try:
        with DIRECT.open(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def logins(id_token: str) -> dict[str, str]:
    return {f"cognito-idp.eu-west-1.amazonaws.com/{USER_POOL_ID}": id_token}


def test_a_member_signs_in_and_gets_credentials(server: Served) -> None:
    status, tokens = token(server, code_for(server, "demo"))
    assert status == 200

    _, got = identity(
        server, "GetId", {"IdentityPoolId": IDENTITY_POOL_ID, "Logins": logins(tokens["id_token"])}
    )
    status, credentials = identity(
        server,
        "GetCredentialsForIdentity",
        {"IdentityId": got["IdentityId"], "Logins": logins(tokens["id_token"])},
    )

    assert status == 200
    assert set(credentials["Credentials"]) == {
        "AccessKeyId",
        "SecretKey",
        "SessionToken",
        "Expiration",
    }


def test_a_code_needs_its_verifier_and_is_used_once(server: Served) -> None:
    code = code_for(server, "demo")

    assert token(server, code, verifier="someone-elses-verifier")[0] == 400
    # The failed attempt used the code up, as an authorization code is single-use.
    assert token(server, code)[0] == 400


def test_the_identity_pool_refuses_a_token_it_did_not_issue_and_outsiders(
    server: Served,
) -> None:
    status, refused = identity(
        server, "GetId", {"IdentityPoolId": IDENTITY_POOL_ID, "Logins": logins("forged.token.x")}
    )
    assert (status, refused["__type"]) == (400, "NotAuthorizedException")

    _, tokens = token(server, code_for(server, "outsider"))
    _, got = identity(
        server, "GetId", {"IdentityPoolId": IDENTITY_POOL_ID, "Logins": logins(tokens["id_token"])}
    )
    status, refused = identity(
        server,
        "GetCredentialsForIdentity",
        {"IdentityId": got["IdentityId"], "Logins": logins(tokens["id_token"])},
    )
    assert (status, refused["__type"]) == (400, "NotAuthorizedException")
