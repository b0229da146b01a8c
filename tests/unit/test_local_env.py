from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from scripts.local_env import FUNCTIONS, VARIABLES, environment
from tests.support.stack import template


def stack_with(outputs: dict[str, str]) -> Any:
    client = boto3.client("cloudformation", region_name="eu-west-1")
    stubber = Stubber(client)
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "medialens",
                    "CreationTime": "2026-11-27T10:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": "medialens"},
    )
    stubber.activate()
    return client


def test_every_variable_comes_from_an_output_the_template_declares() -> None:
    declared = set(template()["Outputs"])
    assert set(VARIABLES.values()) <= declared
    outputs = {name: f"value-of-{name}" for name in declared}

    resolved = environment("medialens", stack_with(outputs))

    assert set(resolved) == set(FUNCTIONS)
    assert resolved["AnalyzeMediaFunction"]["CATALOG_TABLE"] == "value-of-CatalogTableName"


def test_a_stack_without_the_outputs_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match="FaceCollectionId"):
        environment("medialens", stack_with({"CatalogTableName": "t"}))
