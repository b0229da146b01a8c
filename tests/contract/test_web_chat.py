"""The web chat's resources hold what the issue and AWS ask of them.

Who can chat: members of the user pool's chat group, and only through the identity
pool's token-based role mapping; what they can do: RecognizeText on the live alias.
The page is private behind CloudFront, and its configuration is what the page reads.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from medialens.webchat.site import REQUIRED_COGNITO, REQUIRED_CONFIG, config_file

from tests.support.stack import ROOT, as_list, resource, template

# "Using the Amazon Cognito prefix domain" (Cognito Developer Guide): lowercase letters,
# numbers and hyphens, not first or last, 1-63 characters; "aws", "amazon" and "cognito"
# are reserved words a prefix may not contain.
DOMAIN_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_WORDS = ("aws", "amazon", "cognito")
# CloudFront API reference, OriginAccessControlConfig: Name, at most 64 characters.
OAC_NAME_LIMIT = 64
# "Use managed cache policies" (CloudFront Developer Guide): CachingOptimized's id.
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def properties(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = resource(logical_id)["Properties"]
    return found


def test_the_web_role_may_only_send_text_to_the_live_alias() -> None:
    role = properties("WebChatRole")
    [policy] = role["Policies"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert as_list(statement["Action"]) == ["lex:RecognizeText"]
    assert statement["Resource"] == {"Fn::GetAtt": ["MediaBotAlias", "Arn"]}
    assert properties("MediaBotAlias")["BotAliasName"] == "live"
    assert role["ManagedPolicyArns"] == []


def test_the_web_role_is_assumable_only_by_this_identity_pools_signed_in_users() -> None:
    [trust] = properties("WebChatRole")["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert trust["Condition"] == {
        "StringEquals": {"cognito-identity.amazonaws.com:aud": {"Ref": "WebChatIdentityPool"}},
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
    }


def test_only_the_chat_group_gets_the_role_and_everyone_else_nothing() -> None:
    group = properties("WebChatUsersGroup")
    assert group["RoleArn"] == {"Fn::GetAtt": ["WebChatRole", "Arn"]}
    pool = properties("WebChatIdentityPool")
    assert pool["AllowUnauthenticatedIdentities"] is False
    assert pool["AllowClassicFlow"] is False
    [provider] = pool["CognitoIdentityProviders"]
    assert provider["ServerSideTokenCheck"] is True
    attachment = properties("WebChatIdentityPoolRoles")
    # The only role: a token without the group's preferred role is refused (Deny), never
    # given this one.
    assert attachment["Roles"] == {"authenticated": {"Fn::GetAtt": ["WebChatRole", "Arn"]}}
    [mapping] = attachment["RoleMappings"].values()
    assert mapping["Type"] == "Token"
    assert mapping["AmbiguousRoleResolution"] == "Deny"
    # No other role in the stack can be reached through Cognito.
    federated = [
        logical_id
        for logical_id, r in template()["Resources"].items()
        if r["Type"] == "AWS::IAM::Role"
        and "cognito-identity" in str(r["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert federated == ["WebChatRole"]


def test_users_cannot_sign_themselves_up_and_the_client_keeps_no_secret() -> None:
    pool = properties("WebChatUserPool")
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = properties("WebChatUserPoolClient")
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["SupportedIdentityProviders"] == ["COGNITO"]
    # The page is the only place a code may be sent back to, over HTTPS.
    assert client["CallbackURLs"] == [{"Fn::Sub": "https://${WebChatDistribution.DomainName}/"}]


@given(st.uuids())
def test_the_user_pool_domain_prefix_is_valid_for_every_stack_id(stack_uuid: uuid.UUID) -> None:
    domain = properties("WebChatUserPoolDomain")["Domain"]
    stack_uuid_part = {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
    assert domain == {"Fn::Join": ["", ["medialens-", stack_uuid_part]]}
    # A stack id is arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>.
    stack_id = f"arn:aws:cloudformation:eu-west-1:123456789012:stack/any-name/{stack_uuid}"
    value = "medialens-" + stack_id.split("/")[2]
    assert DOMAIN_PREFIX.match(value), value
    assert not any(word in value for word in RESERVED_WORDS), value


def test_the_page_is_private_behind_cloudfront() -> None:
    bucket = properties("WebChatBucket")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    statements = properties("WebChatBucketPolicy")["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "cloudfront.amazonaws.com"}]
    assert allows[0]["Action"] == "s3:GetObject"
    assert (
        "WebChatDistribution" in allows[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    )
    config = properties("WebChatDistribution")["DistributionConfig"]
    [origin] = config["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["WebChatOriginAccessControl", "Id"]}
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    behaviour = config["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behaviour["CachePolicyId"] == CACHING_OPTIMIZED
    oac = properties("WebChatOriginAccessControl")["OriginAccessControlConfig"]
    assert oac["SigningBehavior"] == "always"
    longest = oac["Name"]["Fn::Sub"].replace("${NamePrefix}", "n" * 29)
    assert len(longest.replace("${AWS::Region}", "ap-southeast-5")) <= OAC_NAME_LIMIT


def test_the_pages_policy_allows_no_script_but_its_own() -> None:
    policy = properties("WebChatResponseHeaders")["ResponseHeadersPolicyConfig"]
    csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    directives = dict(d.strip().split(" ", 1) for d in csp["Fn::Sub"].split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert "runtime-v2-lex.${AWS::Region}.amazonaws.com" in directives["connect-src"]


def test_the_config_the_stack_writes_is_what_the_page_reads() -> None:
    config = properties("WebChatSite")["Config"]
    assert set(REQUIRED_CONFIG) <= set(config)
    assert set(REQUIRED_COGNITO) <= set(config["cognito"])
    config_file(config)  # would raise on a missing key
    script = (ROOT / "web" / "chat.js").read_text()
    for key in (*REQUIRED_CONFIG, *REQUIRED_COGNITO):
        assert re.search(rf"\b{key}\b", script), key
