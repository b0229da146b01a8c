"""The suggester endpoint goes with the stack: the custom resource, driven as CloudFormation
drives it, against moto's SageMaker."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.conftest import SETUP_SESSION_MARK
from tests.integration.test_pipeline_functions import iam, responses  # noqa: F401 - fixture
from tests.support.stack import (
    Stack,
    custom_resource_request,
    granted_actions,
    load_handler,
    resolve,
    resource,
)

PROPERTIES = resource("SuggesterEndpointCleanup")["Properties"]
ENDPOINT = resolve(PROPERTIES["EndpointName"])
DEPLOYED = f"{resolve({'Ref': 'NamePrefix'})}-{'0' * 32}"


def cleanup_event(kind: str, hosting: str, **extra: Any) -> dict[str, Any]:
    """A CloudFormation custom-resource request with the template's properties."""
    return custom_resource_request(
        kind, "SuggesterEndpointCleanup", {"EndpointName": ENDPOINT, "Hosting": hosting}, **extra
    )


@pytest.fixture
def deployed(stack: Stack) -> Any:
    """An endpoint as the deploy workflow leaves it: one model, one configuration."""
    session = boto3.session.Session()
    setattr(session._session, SETUP_SESSION_MARK, True)  # set-up, not the code under test
    sagemaker = session.client("sagemaker")
    sagemaker.create_model(
        ModelName=DEPLOYED,
        ExecutionRoleArn="arn:aws:iam::123456789012:role/sagemaker",
        PrimaryContainer={"Image": "image", "ModelDataUrl": "s3://media/models/m.tar.gz"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=DEPLOYED,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": DEPLOYED,
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 5},
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=DEPLOYED)
    return sagemaker


def left(sagemaker: Any) -> tuple[list[str], list[str], list[str]]:
    return (
        [e["EndpointName"] for e in sagemaker.list_endpoints()["Endpoints"]],
        [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]],
        [m["ModelName"] for m in sagemaker.list_models()["Models"]],
    )


def test_deleting_the_stack_deletes_the_endpoint_its_configuration_and_model(
    deployed: Any,
    lambda_context: Any,
    responses: list[dict[str, Any]],  # noqa: F811 - the fixture
    aws_calls: set[str],
) -> None:
    handler = load_handler("suggester_endpoint")

    handler.lambda_handler(
        cleanup_event("Delete", "Serverless", PhysicalResourceId=ENDPOINT), lambda_context
    )

    assert [r["Status"] for r in responses] == ["SUCCESS"]
    assert left(deployed) == ([], [], [])
    assert iam(aws_calls) <= granted_actions("SuggesterEndpointCleanupFunction")
    assert "sagemaker:DeleteEndpoint" in aws_calls


def test_creating_changes_nothing_and_a_second_delete_finds_nothing_to_do(
    deployed: Any,
    lambda_context: Any,
    responses: list[dict[str, Any]],  # noqa: F811 - the fixture
) -> None:
    handler = load_handler("suggester_endpoint")

    handler.lambda_handler(cleanup_event("Create", "Serverless"), lambda_context)
    assert left(deployed) == ([ENDPOINT], [DEPLOYED], [DEPLOYED])
    for _ in range(2):
        handler.lambda_handler(
            cleanup_event("Delete", "Serverless", PhysicalResourceId=ENDPOINT), lambda_context
        )

    assert [r["Status"] for r in responses] == ["SUCCESS"] * 3
    assert responses[0]["PhysicalResourceId"] == ENDPOINT
    assert left(deployed) == ([], [], [])


@pytest.mark.parametrize(
    ("old", "new", "removed"),
    [
        ("Serverless", "Serverless", False),
        ("Serverless", "Provisioned", True),
        ("Provisioned", "Serverless", True),
    ],
)
def test_an_update_removes_the_endpoint_only_when_hosting_changes_kind(
    deployed: Any,
    lambda_context: Any,
    responses: list[dict[str, Any]],  # noqa: F811 - the fixture
    old: str,
    new: str,
    removed: bool,
) -> None:
    event = cleanup_event(
        "Update",
        new,
        PhysicalResourceId=ENDPOINT,
        OldResourceProperties={"ServiceToken": "x", "EndpointName": ENDPOINT, "Hosting": old},
    )

    load_handler("suggester_endpoint").lambda_handler(event, lambda_context)

    assert [r["Status"] for r in responses] == ["SUCCESS"]
    assert left(deployed) == (([], [], []) if removed else ([ENDPOINT], [DEPLOYED], [DEPLOYED]))


def test_the_clean_up_exists_only_when_the_stack_hosts_the_endpoint() -> None:
    for logical_id in (
        "SuggesterEndpointCleanup",
        "SuggesterEndpointCleanupFunction",
        "SuggesterEndpointCleanupRole",
        "DeploySuggesterStateMachine",
        "DeploySuggesterWorkflowRole",
    ):
        assert resource(logical_id)["Condition"] == "HostsSuggester", logical_id
