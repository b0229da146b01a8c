"""The web chat's deploy-time upload, driven as CloudFormation drives it, against moto's S3."""

from __future__ import annotations

import json
from typing import Any

import pytest
from medialens.webchat.site import PAGE_FILES as PAGE

from tests.integration.test_pipeline_functions import iam, responses  # noqa: F401 - fixture
from tests.support.stack import (
    ROOT,
    Stack,
    custom_resource_request,
    granted_actions,
    load_handler,
    resource,
)


def site_event(kind: str, bucket: str, **extra: Any) -> dict[str, Any]:
    """A CloudFormation custom-resource request carrying the template's Config shape."""
    config = json.loads(json.dumps(resource("WebChatSite")["Properties"]["Config"], default=str))
    # The template's intrinsic functions, resolved as CloudFormation would.
    config["region"] = "eu-west-1"
    config["botId"], config["botAliasId"] = "MEDIABOT01", "LIVEALIAS1"
    config["lexEndpoint"] = "https://runtime-v2-lex.eu-west-1.amazonaws.com"
    config["cognito"] = {
        "domain": "https://medialens-0f1e.auth.eu-west-1.amazoncognito.com",
        "clientId": "client",
        "userPoolId": "eu-west-1_pool",
        "identityPoolId": "eu-west-1:0000",
        "identityEndpoint": "https://cognito-identity.eu-west-1.amazonaws.com/",
    }
    return custom_resource_request(
        kind, "WebChatSite", {"Bucket": bucket, "Config": config}, **extra
    )


@pytest.fixture
def page_bucket(stack: Stack) -> str:
    stack.s3.create_bucket(
        Bucket="medialens-web-chat", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    return "medialens-web-chat"


def keys(stack: Stack, bucket: str) -> set[str]:
    listed = stack.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {item["Key"] for item in listed}


def test_the_page_and_its_config_are_published_and_stale_files_removed(
    stack: Stack,
    page_bucket: str,
    lambda_context: Any,
    responses: list[dict[str, Any]],  # noqa: F811 - the fixture
    aws_calls: set[str],
) -> None:
    handler = load_handler("web_chat_site")
    stack.s3.put_object(Bucket=page_bucket, Key="old-script.js", Body=b"gone")

    handler.lambda_handler(site_event("Create", page_bucket), lambda_context)

    [created] = responses
    assert created["Status"] == "SUCCESS", created
    assert created["PhysicalResourceId"] == page_bucket
    assert keys(stack, page_bucket) == {*PAGE, "config.json"}
    for name in PAGE:
        served = stack.s3.get_object(Bucket=page_bucket, Key=name)
        assert served["Body"].read() == (ROOT / "web" / name).read_bytes()
        assert served["CacheControl"] == "max-age=60"
    assert stack.s3.get_object(Bucket=page_bucket, Key="chat.js")["ContentType"] == (
        "text/javascript"
    )
    config = json.loads(stack.s3.get_object(Bucket=page_bucket, Key="config.json")["Body"].read())
    assert config["botAliasId"] == "LIVEALIAS1"
    assert config["standIn"] is None
    assert iam(aws_calls) <= granted_actions("WebChatSiteFunction")


def test_a_config_missing_what_the_page_needs_fails_the_deploy_with_the_reason(
    stack: Stack,
    page_bucket: str,
    lambda_context: Any,
    responses: list[dict[str, Any]],  # noqa: F811 - the fixture
) -> None:
    event = site_event("Create", page_bucket)
    del event["ResourceProperties"]["Config"]["cognito"]["clientId"]

    load_handler("web_chat_site").lambda_handler(event, lambda_context)

    [failed] = responses
    assert failed["Status"] == "FAILED"
    assert "cognito.clientId" in failed["Reason"]
    assert keys(stack, page_bucket) == set()


def test_deleting_the_resource_empties_the_bucket_so_the_stack_can_delete_it(
    stack: Stack,
    page_bucket: str,
    lambda_context: Any,
    responses: list[dict[str, Any]],  # noqa: F811 - the fixture
) -> None:
    handler = load_handler("web_chat_site")
    handler.lambda_handler(site_event("Create", page_bucket), lambda_context)

    handler.lambda_handler(
        site_event("Delete", page_bucket, PhysicalResourceId=page_bucket), lambda_context
    )

    assert [r["Status"] for r in responses] == ["SUCCESS", "SUCCESS"]
    assert keys(stack, page_bucket) == set()
