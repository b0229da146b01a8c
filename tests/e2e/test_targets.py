"""The deployed target without AWS: what it reads of a stack, and how it waits."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

import boto3
import pytest
from botocore.stub import Stubber

from tests.e2e.targets import DeployedTarget, StackResources

OUTPUTS = {
    "MediaBucketName": "media-bucket",
    "CatalogTableName": "catalog",
    "BotId": "ABCDEFGHIJ",
    "BotAliasId": "KLMNOPQRST",
    "BatchTransformStateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:transform",
    "LabelMiningStateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:mining",
}


def test_a_deployed_target_reads_the_stacks_outputs_and_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    session = boto3.session.Session(region_name="eu-west-1")
    cloudformation = session.client("cloudformation")
    monkeypatch.setattr(session, "client", lambda service, **_: cloudformation)
    described = {
        "Stacks": [
            {
                "StackName": "medialens-e2e",
                "CreationTime": datetime(2026, 11, 27, tzinfo=UTC),
                "StackStatus": "UPDATE_COMPLETE",
                "Parameters": [{"ParameterKey": "UploadsPrefix", "ParameterValue": "inbox/"}],
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()],
            }
        ]
    }

    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", described, {"StackName": "medialens-e2e"})
        target = DeployedTarget.from_stack("medialens-e2e", session=session)

    assert target.resources == StackResources(
        bucket="media-bucket",
        catalog_table="catalog",
        uploads_prefix="inbox/",
        # Not among the stack's parameters: template.yaml's default.
        model_data_key="models/label_suggester/model.tar.gz",
        bot_id="ABCDEFGHIJ",
        bot_alias_id="KLMNOPQRST",
        batch_transform_state_machine_arn=OUTPUTS["BatchTransformStateMachineArn"],
        label_mining_state_machine_arn=OUTPUTS["LabelMiningStateMachineArn"],
    )
    assert "medialens-e2e" in target.name


def resources() -> StackResources:
    return StackResources(*(["x"] * 8))


def test_settling_a_deployed_stack_polls_until_the_condition_holds() -> None:
    target = DeployedTarget(
        "s", resources(), session=boto3.session.Session(region_name="eu-west-1"), poll_s=0.01
    )
    calls = count(1)

    assert target.settle(lambda: next(calls) == 3, timeout_s=5)
    assert next(calls) == 4
    assert target.settle(lambda: False, timeout_s=0.05) is False


def test_the_emr_journey_is_skipped_without_with_emr(request: pytest.FixtureRequest) -> None:
    session = boto3.session.Session(region_name="eu-west-1")

    with pytest.raises(pytest.skip.Exception):
        DeployedTarget("s", resources(), session=session).prepare_label_mining(request)
    DeployedTarget("s", resources(), session=session, with_emr=True).prepare_label_mining(request)
