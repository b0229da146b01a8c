"""A template parameter that feeds an AWS field accepts only what that field accepts.

cfn-lint checks the template's literal values against CloudFormation's schemas, but not
every value a parameter admits. The bounds here are botocore's model of the field
(``min``, ``max``, ``enum``), or, where the model states a limit only in its
documentation, that sentence, which the test finds in the model's text.
"""

from __future__ import annotations

import re
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape, StringShape
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from tests.support.stack import template

RULE = ("LifecycleConfiguration", "Rules", "[]")
"""Path to one lifecycle rule; ``[]`` steps into a list's member."""

# Parameter -> (service, operation, path to the request member it becomes).
FEEDS = {
    "LabelsMinConfidence": ("rekognition", "DetectLabels", ("MinConfidence",)),
    "MaxLabels": ("rekognition", "DetectLabels", ("MaxLabels",)),
    "TextMinConfidence": ("rekognition", "DetectText", ("Filters", "WordFilter", "MinConfidence")),
    "ModerationMinConfidence": ("rekognition", "DetectModerationLabels", ("MinConfidence",)),
    "FaceMatchThreshold": ("rekognition", "SearchFacesByImage", ("FaceMatchThreshold",)),
    "FaceSearchMaxFaces": ("rekognition", "SearchFaces", ("MaxFaces",)),
    "TransformInstanceCount": (
        "sagemaker",
        "CreateTransformJob",
        ("TransformResources", "InstanceCount"),
    ),
    "TransformMaxConcurrent": ("sagemaker", "CreateTransformJob", ("MaxConcurrentTransforms",)),
    "TransformMaxPayloadInMB": ("sagemaker", "CreateTransformJob", ("MaxPayloadInMB",)),
    "TransformInstanceType": (
        "sagemaker",
        "CreateTransformJob",
        ("TransformResources", "InstanceType"),
    ),
    "EmrIdleTimeoutSeconds": ("emr", "RunJobFlow", ("AutoTerminationPolicy", "IdleTimeout")),
    **{
        name: ("s3", "PutBucketLifecycleConfiguration", (*RULE, "Expiration", "Days"))
        for name in (
            "ExportsRetentionDays",
            "MiningRetentionDays",
            "TransformsRetentionDays",
            "EmrLogsRetentionDays",
        )
    },
    "NoncurrentVersionRetentionDays": (
        "s3",
        "PutBucketLifecycleConfiguration",
        (*RULE, "NoncurrentVersionExpiration", "NoncurrentDays"),
    ),
}
# Limits the model gives only in words: (parameter, sentence, least, greatest).
DOCUMENTED = [
    ("TransformMaxPayloadInMB", "cannot be greater than 100 MB", None, 100),
    (
        "EmrIdleTimeoutSeconds",
        "minimum of 60 seconds and a maximum of 604800 seconds",
        60,
        604800,
    ),
    *(
        (name, "must be a non-zero positive integer", 1, None)
        for name in (
            "ExportsRetentionDays",
            "MiningRetentionDays",
            "TransformsRetentionDays",
            "EmrLogsRetentionDays",
            "NoncurrentVersionRetentionDays",
        )
    ),
]


def member(service: str, operation: str, path: tuple[str, ...]) -> Shape:
    model = botocore.session.get_session().get_service_model(service)
    shape: Any = model.operation_model(operation).input_shape
    for name in path:
        shape = shape.member if name == "[]" else shape.members[name]
    found: Shape = shape
    return found


def parameter(name: str) -> dict[str, Any]:
    declared: dict[str, Any] = template()["Parameters"][name]
    return declared


@pytest.mark.parametrize("name", sorted(FEEDS))
def test_a_parameter_stays_within_the_field_it_feeds(name: str) -> None:
    shape = member(*FEEDS[name])
    declared = parameter(name)
    enum = shape.enum if isinstance(shape, StringShape) else []
    if "min" in shape.metadata:
        assert float(declared["MinValue"]) >= shape.metadata["min"]
    if "max" in shape.metadata:
        assert float(declared["MaxValue"]) <= shape.metadata["max"]
    if enum:
        assert set(declared["AllowedValues"]) <= set(enum)
    if not (enum or {"min", "max"} & set(shape.metadata)):
        assert name in {documented for documented, *_ in DOCUMENTED}, "no bound to hold it to"


@pytest.mark.parametrize(("name", "sentence", "least", "greatest"), DOCUMENTED)
def test_limits_the_model_states_in_words_hold(
    name: str, sentence: str, least: int | None, greatest: int | None
) -> None:
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", member(*FEEDS[name]).documentation))
    assert sentence in text
    declared = parameter(name)
    if greatest is not None:
        assert int(declared["MaxValue"]) <= greatest
    if least is not None:
        assert int(declared["MinValue"]) >= least


def test_log_retention_is_one_cloudwatch_logs_accepts() -> None:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", "AWS::Logs::LogGroup")
    accepted = schema.schema["properties"]["RetentionInDays"]["enum"]
    assert set(parameter("LogRetentionDays")["AllowedValues"]) <= set(accepted)
