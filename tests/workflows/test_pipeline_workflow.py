"""The ML pipeline, end to end in moto's ASL interpreter, on the real definitions.

Everything moto can run runs for real: the catalog table's point-in-time export to S3
(``aws-sdk:dynamodb``), the two stage workflows as nested ``startExecution.sync:2``
executions, the Lambda tasks (the real PublishSuggestions and VerifyTransform
handlers), SNS. EMR and SageMaker are stand-ins that check each request against
botocore's model and then do the work here: the Spark job in local mode over the
export, and the trained model's own inference code over the records the job wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table_export import TableExport
from pyspark.sql import SparkSession

from jobs import synthetic_catalog
from tests.support.stack import create_table, resolve, resource
from tests.support.workflows import (
    EMR_CLUSTER_ID,
    MOTO_CONFIG,
    Execution,
    HostingLifecycle,
    StandIns,
    deployed_job_uri,
    emr_spark_stand_ins,
    execute,
    label_mining_substitutions,
    nested_executions,
    notifications,
    real_handlers,
    render,
    sagemaker_stand_ins,
    stand_ins,
    subscribed_topic,
)

BUCKET = "media"
RECORDS = 400
IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, lambda_context: Any) -> Iterator[dict[str, Any]]:
    with mock_aws(config=MOTO_CONFIG):
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        dynamodb = boto3.client("dynamodb")
        # Created as the template declares it: point-in-time recovery on.
        table = create_table(dynamodb, "CatalogTable")
        monkeypatch.setenv("CATALOG_TABLE", table)
        topic, queue = subscribed_topic()
        functions = real_handlers(
            monkeypatch,
            lambda_context,
            {"publish-suggestions": "publish_suggestions", "verify-transform": "verify_transform"},
        )
        yield {
            "sfn": boto3.client("stepfunctions"),
            "s3": s3,
            "dynamodb": boto3.resource("dynamodb").Table(table),
            "table_arn": dynamodb.describe_table(TableName=table)["Table"]["TableArn"],
            "topic": topic,
            "queue": queue,
            "publish": functions["publish-suggestions"],
            "verify": functions["verify-transform"],
        }


def fill_catalog(aws: dict[str, Any], count: int = RECORDS) -> list[dict[str, Any]]:
    generated = list(synthetic_catalog.records(count, seed=5))
    with aws["dynamodb"].batch_writer() as batch:
        for record in generated:
            for item in synthetic_catalog.catalog_items(record):
                batch.put_item(Item=item)
    return generated


def declared(logical_id: str, *supplied: str) -> dict[str, str]:
    """The template's substitutions, but for the resources' attributes the test supplies."""
    substitutions = resource(logical_id)["Properties"]["DefinitionSubstitutions"]
    return {
        name: resolve(value)
        for name, value in substitutions.items()
        if name not in {"TopicArn", *supplied}
    }


def deploy(
    aws: dict[str, Any], *, poll_seconds: int = 1, max_polls: int = 30, hosting: str = ""
) -> str:
    """Create the stage workflows and the pipeline; return the pipeline's definition.

    ``hosting`` is the stack's SuggesterHosting (the template's default when empty); the
    deploy workflow exists only when it is not Disabled, as in the template.
    """
    sfn = aws["sfn"]
    hosting = hosting or resolve({"Ref": "SuggesterHosting"})
    deployer = "none"
    if hosting != "Disabled":
        deployer = sfn.create_state_machine(
            name="deploy-suggester",
            definition=render(
                "deploy_suggester.asl.json",
                {
                    **declared(
                        "DeploySuggesterStateMachine",
                        "Bucket",
                        "InferenceImage",
                        "SageMakerRoleArn",
                        "Hosting",
                        "PollSeconds",
                    ),
                    "Bucket": BUCKET,
                    "InferenceImage": IMAGE,
                    "SageMakerRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
                    "Hosting": hosting,
                    "PollSeconds": "0",
                    "TopicArn": aws["topic"],
                },
            ),
            roleArn="arn:aws:iam::123456789012:role/deploy",
        )["stateMachineArn"]
    mining = sfn.create_state_machine(
        name="label-mining",
        definition=render(
            "label_mining_emr.asl.json",
            label_mining_substitutions(BUCKET, aws["topic"]),
        ),
        roleArn="arn:aws:iam::123456789012:role/mining",
    )["stateMachineArn"]
    transform_values = declared(
        "BatchTransformStateMachine",
        "Bucket",
        "InferenceImage",
        "SageMakerRoleArn",
        "VerifyFunctionArn",
    )
    batch = sfn.create_state_machine(
        name="batch-transform",
        definition=render(
            "batch_transform.asl.json",
            {
                **transform_values,
                "Bucket": BUCKET,
                "InferenceImage": IMAGE,
                "SageMakerRoleArn": "arn:aws:iam::123456789012:role/sagemaker",
                "VerifyFunctionArn": aws["verify"],
                "TopicArn": aws["topic"],
            },
        ),
        roleArn="arn:aws:iam::123456789012:role/transform",
    )["stateMachineArn"]
    return render(
        "ml_pipeline.asl.json",
        {
            "Bucket": BUCKET,
            "CatalogTableArn": aws["table_arn"],
            "ExportPollSeconds": str(poll_seconds),
            "ExportMaxPolls": str(max_polls),
            "LabelMiningStateMachineArn": mining,
            "PublishSuggestionsFunctionArn": aws["publish"],
            "BatchTransformStateMachineArn": batch,
            "SuggesterHosting": hosting,
            "DeploySuggesterStateMachineArn": deployer,
            "TopicArn": aws["topic"],
        },
    )


def emr(aws: dict[str, Any], spark: SparkSession | None = None, *, fail: bool = False) -> StandIns:
    """The EMR stand-ins, running the Spark job over moto's S3; without a session a step fails."""
    return emr_spark_stand_ins(aws["s3"], lambda: spark, fail=fail or spark is None)


def sagemaker(aws: dict[str, Any], standins: StandIns) -> StandIns:
    """createModel on moto; the job serves the archive at the model's ModelDataUrl."""
    standins.handlers.update(sagemaker_stand_ins(aws["s3"], BUCKET).handlers)
    return standins


def run(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, standins: StandIns, **deployed: Any
) -> Execution:
    with stand_ins(monkeypatch, standins), nested_executions(monkeypatch):
        return execute(aws["sfn"], deploy(aws, **deployed), {}, name="nightly", timeout_s=240)


def pipeline_message(aws: dict[str, Any]) -> dict[str, Any]:
    [message] = [m for m in notifications(aws["queue"]) if m["workflow"] == "ml-pipeline"]
    return message


def test_the_pipeline_exports_mines_trains_and_suggests(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, spark: SparkSession
) -> None:
    generated = fill_catalog(aws)
    standins = sagemaker(aws, emr(aws, spark))

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "SUCCEEDED", execution.history[-4:]
    entered = execution.entered()
    assert entered[:4] == ["Settings", "ExportCatalog", "WaitForExport", "DescribeExport"]
    assert entered[-6:] == [
        "MineLabels",
        "TrainSuggester",
        "SuggestLabels",
        "SuggesterHosted",
        "NotifySuccess",
        "Done",
    ]
    [step] = standins.called("elasticmapreduce", "addStep")
    args = step["Step"]["HadoopJarStep"]["Args"]
    assert args[3] == deployed_job_uri(BUCKET, "JobScriptUri")
    assert args[-2:] == ["--input-format", "dynamodb"]
    assert args[args.index("--input") + 1] == (
        f"s3://{BUCKET}/exports/pipeline/nightly/AWSDynamoDB/*/data/"
    )
    assert standins.called("elasticmapreduce", "terminateCluster") == [
        {"ClusterId": EMR_CLUSTER_ID}
    ]
    [model] = standins.called("sagemaker", "createModel")
    model_url = f"s3://{BUCKET}/models/label_suggester/runs/nightly/model.tar.gz"
    assert model["PrimaryContainer"]["ModelDataUrl"] == model_url

    combined = [
        json.loads(line)
        for line in aws["s3"]
        .get_object(Bucket=BUCKET, Key="transforms/pipeline/nightly/suggestions.jsonl")["Body"]
        .read()
        .splitlines()
    ]
    assert sorted(r["media_id"] for r in combined) == sorted(r["media_id"] for r in generated)
    suggested = {
        r["media_id"]: [s["label"] for s in r["SageMakerOutput"]["suggestions"]] for r in combined
    }
    beach_without_sea = [
        r["media_id"]
        for r in generated
        if {"Beach"} <= {label["name"] for label in r["labels"]}
        and "Sea" not in {label["name"] for label in r["labels"]}
    ]
    assert beach_without_sea
    assert all("sea" in suggested[media] for media in beach_without_sea)

    item = aws["dynamodb"].get_item(Key={"pk": "RELATED#beach", "sk": "SUGGESTIONS"})["Item"]
    assert item["run"] == "nightly"
    assert "sea" in [r["label"] for r in item["related"]]

    message = pipeline_message(aws)
    assert message["status"] == "SUCCEEDED"
    assert message["model_data_url"] == model_url
    assert message["transform"]["ok"] is True
    assert message["transform"]["records"] == len(generated)
    assert message["transform"]["combined"] == (
        f"s3://{BUCKET}/transforms/pipeline/nightly/suggestions.jsonl"
    )
    assert message["suggester"]["labels_suggested"] > 0


def test_an_export_that_cannot_start_fails_the_run_before_any_cluster(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("dynamodb").update_continuous_backups(
        TableName=aws["dynamodb"].name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False},
    )
    standins = sagemaker(aws, emr(aws, None))

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "FAILED"
    assert execution.error == "PipelineFailed"
    assert "MineLabels" not in execution.entered()
    assert standins.calls == []
    message = pipeline_message(aws)
    assert message["status"] == "FAILED"
    assert "PointInTimeRecovery" in json.dumps(message["error"])


def test_an_export_that_never_completes_stops_the_wait(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_catalog(aws, 10)
    monkeypatch.setattr(TableExport, "run", lambda self: None)  # stays IN_PROGRESS
    standins = sagemaker(aws, emr(aws, None))

    execution = run(aws, monkeypatch, standins, poll_seconds=0, max_polls=3)

    assert execution.status == "FAILED"
    assert execution.entered().count("DescribeExport") == 3
    assert "ExportTooSlow" in execution.entered()
    assert "MineLabels" not in execution.entered()
    assert pipeline_message(aws)["error"]["Error"] == "ExportTimedOut"


def test_a_failed_mining_step_stops_the_pipeline_before_training(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_catalog(aws, 10)
    standins = sagemaker(aws, emr(aws, None, fail=True))

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "FAILED"
    assert execution.entered()[-4:] == ["ExportDone", "MineLabels", "NotifyFailure", "Failed"]
    # The stage's own workflow terminated its cluster before failing.
    assert standins.called("elasticmapreduce", "terminateCluster") == [
        {"ClusterId": EMR_CLUSTER_ID}
    ]
    assert standins.called("sagemaker", "createModel") == []
    assert (
        aws["dynamodb"].scan()["Items"]
        == aws["dynamodb"].scan(
            FilterExpression="begins_with(pk, :media)",
            ExpressionAttributeValues={":media": "MEDIA#"},
        )["Items"]
    ), "no suggestions were published"


def test_with_hosting_the_checked_model_goes_to_the_endpoint(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, spark: SparkSession
) -> None:
    fill_catalog(aws)
    lifecycle = HostingLifecycle()
    standins = sagemaker(aws, emr(aws, spark))
    standins.handlers.update(lifecycle.stand_ins(monkeypatch).handlers)

    execution = run(aws, monkeypatch, standins, hosting="Serverless")

    assert execution.status == "SUCCEEDED", execution.history[-4:]
    assert execution.entered()[-5:] == [
        "SuggestLabels",
        "SuggesterHosted",
        "DeploySuggester",
        "NotifySuccess",
        "Done",
    ]
    transform_model, endpoint_model = standins.called("sagemaker", "createModel")
    assert (
        endpoint_model["PrimaryContainer"]["ModelDataUrl"]
        == transform_model["PrimaryContainer"]["ModelDataUrl"]
    ), "the endpoint serves the archive the Batch Transform ran and the check verified"
    assert (
        endpoint_model["PrimaryContainer"]["Image"] == transform_model["PrimaryContainer"]["Image"]
    )
    endpoint = boto3.client("sagemaker").describe_endpoint(
        EndpointName=resolve({"Fn::Sub": "${NamePrefix}-suggester"})
    )
    assert endpoint["EndpointStatus"] == "InService"
    assert pipeline_message(aws)["deploy"]["endpoint"]["serving"] == endpoint["EndpointConfigName"]


def test_a_failed_deploy_fails_the_run_after_the_batch_suggestions_are_in(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, spark: SparkSession
) -> None:
    fill_catalog(aws)
    standins = sagemaker(aws, emr(aws, spark))
    standins.handlers.update(
        HostingLifecycle(fail_create="Image not found.").stand_ins(monkeypatch).handlers
    )

    execution = run(aws, monkeypatch, standins, hosting="Serverless")

    assert execution.status == "FAILED"
    assert execution.entered()[-3:] == ["DeploySuggester", "NotifyFailure", "Failed"]
    assert aws["s3"].get_object(Bucket=BUCKET, Key="transforms/pipeline/nightly/suggestions.jsonl")
    assert pipeline_message(aws)["status"] == "FAILED"
    assert boto3.client("sagemaker").list_endpoints()["Endpoints"] == []
