"""Every error name a Retry or Catch waits for is one its task can raise.

A Retry on a name that is never raised is a silent no-op: the error goes straight to
the Catch. Step Functions names errors by integration kind:

* AWS SDK integrations (``arn:aws:states:::aws-sdk:<service>:<action>``) raise
  ``<ServicePrefix>.<ErrorCode>``, the prefix as the guide's table spells it and the
  code with ``Exception`` appended where it lacks it (Step Functions Developer Guide,
  "AWS SDK service integrations", handling errors:
  https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
  The codes are checked against botocore's model of the action, plus the common errors
  the service's API reference lists for every action.
* Optimized integrations raise names no rule derives; each one used here is listed with
  the page that shows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest

from tests.support.stack import ROOT

DEFINITIONS = sorted((ROOT / "statemachine").glob("*.asl.json"))

# "States.*" names any task may raise (Developer Guide, "Handling errors in Step
# Functions workflows": https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
STATES_ERRORS = {"States.ALL", "States.TaskFailed", "States.Timeout", "States.Permissions"}

# The service prefixes of the AWS SDK integrations used, as the guide's table spells them.
SDK_PREFIXES = {"dynamodb": "DynamoDb", "sagemaker": "SageMaker"}
# Errors every action of a service can answer, which botocore does not model per action
# (SageMaker API Reference, "Common Errors":
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html).
COMMON_ERRORS = {"sagemaker": {"ThrottlingException"}, "dynamodb": set()}

SAGEMAKER = (
    "Step Functions guide, SageMaker integration, whose example retries "
    "SageMaker.AmazonSageMakerException and SageMaker.ResourceLimitExceededException "
    "(https://docs.aws.amazon.com/step-functions/latest/dg/connect-sagemaker.html); a "
    "throttled SageMaker call in a .sync task was reported under the first name "
    "(aws/aws-step-functions-data-science-sdk-python issue #191)"
)
LAMBDA = (
    "Step Functions guide, 'Handle transient Lambda service exceptions' "
    "(https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html)"
)
OPTIMIZED: dict[str, dict[str, str]] = {
    "lambda:invoke": {
        "Lambda.ClientExecutionTimeoutException": LAMBDA,
        "Lambda.ServiceException": LAMBDA,
        "Lambda.AWSLambdaException": LAMBDA,
        "Lambda.SdkClientException": LAMBDA,
        "Lambda.TooManyRequestsException": LAMBDA,
    },
    "sagemaker:createModel": {
        "SageMaker.AmazonSageMakerException": SAGEMAKER,
        "SageMaker.ResourceLimitExceededException": SAGEMAKER,
    },
    "sagemaker:createTransformJob.sync": {
        "SageMaker.AmazonSageMakerException": SAGEMAKER,
        "SageMaker.ResourceLimitExceededException": SAGEMAKER,
    },
    # The endpoint tasks are the same optimized integration (request-response: they have
    # no .sync); the guide's example names no error of its own for them.
    **{
        f"sagemaker:{action}": {
            "SageMaker.AmazonSageMakerException": SAGEMAKER,
            "SageMaker.ResourceLimitExceededException": SAGEMAKER,
        }
        for action in ("createEndpointConfig", "createEndpoint", "updateEndpoint")
    },
    # No AWS page lists EMR's: the name follows the SageMaker pattern above (the AWS
    # SDK for Java's base exception of the service, AmazonElasticMapReduceException),
    # which engineers who met a real EMR throttle in Step Functions report too.
    "elasticmapreduce:addStep.sync": {
        "EMR.AmazonElasticMapReduceException": "by analogy with SageMaker; see the comment",
    },
    "states:startExecution.sync:2": {
        "StepFunctions.ExecutionLimitExceeded": (
            "Step Functions guide, nested workflows "
            "(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-nested-workflows.html)"
        ),
    },
}


def tasks() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every Task state, by definition file and state name."""
    for path in DEFINITIONS:
        for name, state in json.loads(path.read_text())["States"].items():
            if state["Type"] == "Task":
                yield path.name, name, state


def waited_for(state: dict[str, Any]) -> set[str]:
    return {
        error
        for handler in [*state.get("Retry", []), *state.get("Catch", [])]
        for error in handler["ErrorEquals"]
    }


def sdk_errors(service: str, action: str) -> set[str]:
    """``<Prefix>.<Code>Exception`` for every error botocore lists for the action."""
    model = botocore.session.get_session().get_service_model(service)
    operation = model.operation_model(action[0].upper() + action[1:])
    codes = {shape.name for shape in operation.error_shapes} | COMMON_ERRORS[service]
    return {
        f"{SDK_PREFIXES[service]}.{code if code.endswith('Exception') else code + 'Exception'}"
        for code in codes
    }


def raisable(resource: str) -> set[str]:
    sdk = re.fullmatch(r"arn:aws:states:::aws-sdk:([a-z0-9]+):(\w+)", resource)
    if sdk:
        return sdk_errors(*sdk.groups())
    integration = resource.removeprefix("arn:aws:states:::")
    return set(OPTIMIZED.get(integration, {}))


@pytest.mark.parametrize(
    ("definition", "state_name", "state"),
    list(tasks()),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_error_waited_for_can_be_raised_by_its_task(
    definition: str, state_name: str, state: dict[str, Any]
) -> None:
    unknown = waited_for(state) - STATES_ERRORS - raisable(state["Resource"])
    assert unknown == set(), f"{definition} {state_name}: {sorted(unknown)}"


def test_the_sdk_rule_names_the_exports_errors_as_the_retries_do() -> None:
    errors = sdk_errors("dynamodb", "exportTableToPointInTime")
    assert {"DynamoDb.LimitExceededException", "DynamoDb.InternalServerErrorException"} <= errors


def test_throttles_of_the_sagemaker_and_emr_calls_are_retried() -> None:
    """The review's finding: the throttles waited for were named as nothing raises them."""
    retried = {
        (definition, name): {e for r in state.get("Retry", []) for e in r["ErrorEquals"]}
        for definition, name, state in tasks()
    }
    for task in [
        ("batch_transform.asl.json", "CreateModel"),
        ("batch_transform.asl.json", "Transform"),
    ]:
        assert "SageMaker.AmazonSageMakerException" in retried[task]
    assert "EMR.AmazonElasticMapReduceException" in retried[("label_mining_emr.asl.json", "RunJob")]


def test_a_lambda_task_retries_every_transient_error_the_guide_lists() -> None:
    for definition, name, state in tasks():
        if state["Resource"] == "arn:aws:states:::lambda:invoke":
            retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
            assert set(OPTIMIZED["lambda:invoke"]) <= retried, (definition, name)
