"""The ingest path in template.yaml: bucket -> queue -> paced function, and its limits."""

from __future__ import annotations

import inspect
import re
from typing import Any

import botocore.session
from medialens.images.rekognition import RekognitionImageAdapter
from medialens.ingest.pacing import (
    MAX_MAX_CONCURRENCY,
    MIN_MAX_CONCURRENCY,
    RekognitionQuotas,
    ingest_concurrency,
)
from medialens.ingest.settings import IngestSettings

from tests.support.stack import as_list, function_environment, resource, statements_of, template

QUEUE_ARN = {"Fn::GetAtt": ["IngestQueue", "Arn"]}
BUCKET_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:s3:::${NamePrefix}-media-${AWS::AccountId}-${AWS::Region}"
}


def parameter(name: str) -> dict[str, object]:
    found: dict[str, object] = template()["Parameters"][name]
    return found


def image_operations() -> set[str]:
    """Rekognition operations the image adapter calls, by their API names."""
    model = botocore.session.get_session().get_service_model("rekognition")
    by_method = {
        name: operation
        for operation in model.operation_names
        if (name := re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower())
    }
    methods = {
        name
        for name, _ in inspect.getmembers(RekognitionImageAdapter, inspect.isfunction)
        if not name.startswith("_")
    }
    return {by_method[name] for name in methods if name in by_method} - {"DetectCustomLabels"}


def test_uploads_and_faces_go_to_the_ingest_queue_and_results_do_not() -> None:
    configurations = resource("MediaBucket")["Properties"]["NotificationConfiguration"]
    [*queues] = configurations["QueueConfigurations"]
    assert set(configurations) == {"QueueConfigurations"}
    by_event: dict[str, list[str]] = {}
    for queue in queues:
        assert queue["Queue"] == QUEUE_ARN
        [rule] = queue["Filter"]["S3Key"]["Rules"]
        assert rule["Name"] == "prefix"
        by_event.setdefault(queue["Event"], []).append(rule["Value"]["Ref"])
    # Creations are analysed, deletions taken out of the catalog; S3 refuses two rules of
    # one event type whose prefixes overlap, so each prefix appears once per type.
    assert {event: sorted(refs) for event, refs in by_event.items()} == {
        "s3:ObjectCreated:*": ["FacesPrefix", "UploadsPrefix"],
        "s3:ObjectRemoved:*": ["FacesPrefix", "UploadsPrefix"],
    }
    prefixes = {"UploadsPrefix", "FacesPrefix"}
    results = resource("AnalyzeMediaFunction")["Properties"]["Environment"]["Variables"][
        "RESULTS_PREFIX"
    ]
    assert not any(str(parameter(p)["Default"]).startswith(results) for p in prefixes)
    assert resource("MediaBucket")["DependsOn"] == "IngestQueuePolicy"


def test_only_this_bucket_in_this_account_may_send_to_the_ingest_queue() -> None:
    statements = resource("IngestQueuePolicy")["Properties"]["PolicyDocument"]["Statement"]
    [allow] = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {
        "ArnEquals": {"aws:SourceArn": BUCKET_ARN},
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
    }
    for queue in ("IngestQueue", "IngestDeadLetterQueue"):
        assert resource(queue)["Properties"]["SqsManagedSseEnabled"] is True


def test_the_function_consumes_the_queue_in_partial_batches_at_bounded_concurrency() -> None:
    events = resource("AnalyzeMediaFunction")["Properties"]["Events"]
    [event] = events.values()
    assert event["Type"] == "SQS"
    properties = event["Properties"]
    assert properties["Queue"] == QUEUE_ARN
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "IngestMaxConcurrency"}}
    assert "EventInvokeConfig" not in resource("AnalyzeMediaFunction")["Properties"]


def test_max_concurrency_is_held_to_the_event_source_mappings_bounds() -> None:
    model = botocore.session.get_session().get_service_model("lambda")
    scaling: Any = model.shape_for("ScalingConfig")
    bounds = scaling.members["MaximumConcurrency"].metadata
    assert (bounds["min"], bounds["max"]) == (MIN_MAX_CONCURRENCY, MAX_MAX_CONCURRENCY)
    assert parameter("IngestMaxConcurrency")["MinValue"] == bounds["min"]
    assert parameter("IngestMaxConcurrency")["MaxValue"] == bounds["max"]


def test_the_default_concurrency_is_derived_from_the_default_quotas() -> None:
    quotas = RekognitionQuotas.parse(str(parameter("RekognitionTpsQuotas")["Default"]))
    operations = image_operations()
    assert operations <= set(quotas.tps)
    assert parameter("IngestMaxConcurrency")["Default"] == ingest_concurrency(quotas, operations)


def test_the_quota_parameter_names_real_operations_and_accepts_its_default() -> None:
    model = botocore.session.get_session().get_service_model("rekognition")
    default = str(parameter("RekognitionTpsQuotas")["Default"])
    assert re.fullmatch(str(parameter("RekognitionTpsQuotas")["AllowedPattern"]), default)
    assert set(RekognitionQuotas.parse(default).tps) <= set(model.operation_names)


def test_visibility_timeout_is_six_times_the_function_timeout() -> None:
    timeout = resource("AnalyzeMediaFunction")["Properties"].get(
        "Timeout", template()["Globals"]["Function"]["Timeout"]
    )
    assert resource("IngestQueue")["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_failures_dead_letter_after_a_few_receives_and_both_queues_are_alarmed() -> None:
    redrive = resource("IngestQueue")["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["IngestDeadLetterQueue", "Arn"]}
    assert 3 <= redrive["maxReceiveCount"] <= 10
    alarms = {
        (a["Properties"]["MetricName"], str(a["Properties"]["Dimensions"][0]["Value"]))
        for a in template()["Resources"].values()
        if a["Type"] == "AWS::CloudWatch::Alarm" and "Dimensions" in a["Properties"]
    }
    queue_name = "{'Fn::GetAtt': ['%s', 'QueueName']}"
    assert ("ApproximateAgeOfOldestMessage", queue_name % "IngestQueue") in alarms
    assert ("ApproximateNumberOfMessagesVisible", queue_name % "IngestDeadLetterQueue") in alarms


def test_the_role_may_consume_requeue_and_park_and_nothing_more_on_the_queues() -> None:
    granted: dict[str, set[str]] = {}
    for statement in statements_of("AnalyzeMediaFunction"):
        for arn in as_list(statement["Resource"]):
            if isinstance(arn, dict) and arn.get("Fn::GetAtt", [""])[0].startswith("Ingest"):
                granted.setdefault(arn["Fn::GetAtt"][0], set()).update(as_list(statement["Action"]))
    assert granted == {
        "IngestQueue": {
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ChangeMessageVisibility",
            "sqs:SendMessage",
        },
        "IngestDeadLetterQueue": {"sqs:SendMessage"},
    }


def test_the_template_environment_parses_into_ingest_settings() -> None:
    settings = IngestSettings.from_env(function_environment({}))
    assert settings.max_concurrency == parameter("IngestMaxConcurrency")["Default"]
    assert set(settings.quotas.tps) >= image_operations()
