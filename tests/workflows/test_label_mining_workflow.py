"""The EMR workflow's control flow, run by moto's ASL interpreter on the real definition.

EMR's ``.sync`` tasks are answered by stand-ins (moto has no EMR integration); the
assertions are on the execution history and on what each task was sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.stack import ROOT, resolve, resource
from tests.support.workflows import (
    SUBNET_ID,
    Execution,
    StandIns,
    TaskError,
    deployed_job_uri,
    execute,
    label_mining_substitutions,
    notifications,
    render,
    stand_ins,
    subscribed_topic,
    validate,
)

DEFINITION = "label_mining_emr.asl.json"
RUN = {
    "export_uri": "s3://media/exports/2026-11-27/catalog.jsonl",
    "output_uri": "s3://media/mining/2026-11-27/",
}
CLUSTER = "j-2AXXXXXXGAPLF"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        topic, queue = subscribed_topic()
        yield {"sfn": boto3.client("stepfunctions"), "queue": queue, "topic": topic}


def substitutions(topic: str) -> dict[str, str]:
    """The template's DefinitionSubstitutions, resolved as CloudFormation would."""
    return label_mining_substitutions("media", topic)


def emr(standins: StandIns, *, step: Any = None, create: Any = None) -> StandIns:
    def created(params: dict[str, Any]) -> dict[str, Any]:
        # createCluster takes RunJobFlow's request (without Steps).
        validate("emr", "RunJobFlow", params)
        if create is not None:
            create(params)
        return {
            "ClusterId": CLUSTER,
            "ClusterArn": f"arn:aws:elasticmapreduce:x:1:cluster/{CLUSTER}",
        }

    def stepped(params: dict[str, Any]) -> dict[str, Any]:
        validate(
            "emr", "AddJobFlowSteps", {"JobFlowId": params["ClusterId"], "Steps": [params["Step"]]}
        )
        if step is not None:
            step(params)
        return {"StepId": "s-1"}

    standins.handlers.update(
        {
            ("elasticmapreduce", "createCluster"): created,
            ("elasticmapreduce", "addStep"): stepped,
            ("elasticmapreduce", "terminateCluster"): lambda params: {"terminated": True},
        }
    )
    return standins


def run(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, standins: StandIns, **extra: Any
) -> Execution:
    with stand_ins(monkeypatch, standins):
        return execute(
            aws["sfn"], render(DEFINITION, substitutions(aws["topic"])), {**RUN, **extra}
        )


def test_the_happy_path_creates_runs_terminates_and_notifies(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    standins = emr(StandIns())

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "SUCCEEDED"
    assert execution.scheduled() == [
        ("elasticmapreduce", "createCluster.sync"),
        ("elasticmapreduce", "addStep.sync"),
        ("elasticmapreduce", "terminateCluster.sync"),
        ("sns", "publish"),
    ]
    [cluster] = standins.called("elasticmapreduce", "createCluster")
    parameters = resource("LabelMiningStateMachine")["Properties"]["DefinitionSubstitutions"]
    groups = {g["InstanceRole"]: g for g in cluster["Instances"]["InstanceGroups"]}
    assert groups["CORE"]["InstanceCount"] == int(resolve(parameters["CoreInstanceCount"]))
    assert groups["TASK"]["Market"] == "SPOT"
    assert groups["MASTER"]["Market"] == "ON_DEMAND"
    assert cluster["Instances"]["KeepJobFlowAliveWhenNoSteps"] is True
    assert cluster["AutoTerminationPolicy"]["IdleTimeout"] == int(
        resolve(parameters["IdleTimeoutSeconds"])
    )
    assert cluster["Applications"] == [{"Name": "Spark"}]
    assert cluster["ReleaseLabel"].startswith("emr-")
    assert cluster["Instances"]["Ec2SubnetId"] == SUBNET_ID
    # The v2 managed service policy acts only on resources carrying this tag.
    assert {"Key": "for-use-with-amazon-emr-managed-policies", "Value": "true"} in cluster["Tags"]
    assert cluster["ServiceRole"] == resolve({"Ref": "EmrServiceRole"})
    assert cluster["JobFlowRole"] == resolve({"Ref": "EmrInstanceProfile"})
    assert cluster["SecurityConfiguration"] == resolve({"Ref": "EmrSecurityConfiguration"})
    [bootstrap] = cluster["BootstrapActions"]
    assert bootstrap["ScriptBootstrapAction"] == {
        "Path": deployed_job_uri("media", "BootstrapScriptUri"),
        "Args": [deployed_job_uri("media", "RequirementsUri")],
    }
    [spark_env] = cluster["Configurations"]
    [export] = spark_env["Configurations"]
    python = export["Properties"]["PYSPARK_PYTHON"]
    # The bootstrap installs the job's requirements into the interpreter Spark runs.
    assert f"sudo {python} -m pip install" in (ROOT / "jobs" / "emr_bootstrap.sh").read_text()
    [step] = standins.called("elasticmapreduce", "addStep")
    assert step["ClusterId"] == CLUSTER
    args = step["Step"]["HadoopJarStep"]["Args"]
    # Client mode: the driver runs on the on-demand primary node, never on a Spot node.
    assert args[:3] == ["spark-submit", "--deploy-mode", "client"]
    assert args[3] == deployed_job_uri("media", "JobScriptUri")
    assert args[4:] == [
        "--input",
        RUN["export_uri"],
        "--output",
        RUN["output_uri"],
        "--input-format",
        "jsonl",
    ]
    assert standins.called("elasticmapreduce", "terminateCluster") == [{"ClusterId": CLUSTER}]
    [message] = notifications(aws["queue"])
    assert message["status"] == "SUCCEEDED"
    assert message["cluster_id"] == CLUSTER


def test_a_failed_step_terminates_the_cluster_then_fails(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(params: dict[str, Any]) -> None:
        raise TaskError("States.TaskFailed", "Step s-1 FAILED: ExitCode 1")

    standins = emr(StandIns(), step=fail)

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "FAILED"
    assert execution.error == "LabelMiningFailed"
    assert execution.entered()[-3:] == ["TerminateAfterFailure", "NotifyFailure", "Failed"]
    # A failed Spark step is not retried: it would fail again.
    assert len(standins.called("elasticmapreduce", "addStep")) == 1
    assert standins.called("elasticmapreduce", "terminateCluster") == [{"ClusterId": CLUSTER}]
    [message] = notifications(aws["queue"])
    assert message["status"] == "FAILED"
    assert message["error"]["Error"] == "States.TaskFailed"
    assert "ExitCode 1" in message["error"]["Cause"]


def test_a_step_that_times_out_terminates_the_cluster(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def time_out(params: dict[str, Any]) -> None:
        raise TaskError("States.Timeout", "step ran past its timeout")

    standins = emr(StandIns(), step=time_out)

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "FAILED"
    assert standins.called("elasticmapreduce", "terminateCluster") == [{"ClusterId": CLUSTER}]
    assert notifications(aws["queue"])[0]["error"]["Error"] == "States.Timeout"


def test_a_throttled_step_call_is_retried(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def throttled_once(params: dict[str, Any]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise TaskError(
                "EMR.AmazonElasticMapReduceException", "ThrottlingException: Rate exceeded"
            )

    standins = emr(StandIns(), step=throttled_once)
    definition = json.loads(render(DEFINITION, substitutions(aws["topic"])))
    for retrier in definition["States"]["RunJob"]["Retry"]:
        retrier["IntervalSeconds"] = 1  # keeps the test short; the policy is otherwise as deployed

    with stand_ins(monkeypatch, standins):
        execution = execute(aws["sfn"], json.dumps(definition), RUN)

    assert execution.status == "SUCCEEDED"
    assert len(standins.called("elasticmapreduce", "addStep")) == 2


def test_a_cluster_that_fails_to_start_is_reported_without_a_terminate(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(params: dict[str, Any]) -> None:
        raise TaskError("States.TaskFailed", "TERMINATED_WITH_ERRORS: bootstrap failed")

    standins = emr(StandIns(), create=fail)

    execution = run(aws, monkeypatch, standins)

    assert execution.status == "FAILED"
    assert standins.called("elasticmapreduce", "addStep") == []
    assert standins.called("elasticmapreduce", "terminateCluster") == []
    assert notifications(aws["queue"])[0]["status"] == "FAILED"


def test_every_state_that_follows_the_cluster_reaches_a_terminate() -> None:
    """Static check of the definition: no path from CreateCluster skips termination."""
    states = json.loads(render(DEFINITION, substitutions("arn:aws:sns:eu-west-1:1:t")))["States"]
    terminators = {"TerminateCluster", "TerminateAfterFailure"}

    def successors(name: str) -> set[str]:
        state = states[name]
        found = {state["Next"]} if "Next" in state else set()
        found |= {c["Next"] for c in state.get("Catch", [])}
        return found

    pending, seen = ["RunJob"], set()
    while pending:
        name = pending.pop()
        if name in seen or name in terminators:
            continue
        seen.add(name)
        assert states[name]["Type"] not in ("Succeed", "Fail"), f"{name} ends with a cluster up"
        pending.extend(successors(name))


@pytest.mark.parametrize(
    "payload",
    [
        {"export_uri": RUN["export_uri"]},
        {**RUN, "output_uri": "s3://media/mining/2026-11-27"},
        {**RUN, "export_uri": "/tmp/catalog.jsonl"},
    ],
)
def test_bad_input_fails_before_any_cluster_exists(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, payload: dict[str, Any]
) -> None:
    standins = emr(StandIns())

    with stand_ins(monkeypatch, standins):
        execution = execute(aws["sfn"], render(DEFINITION, substitutions(aws["topic"])), payload)

    assert execution.status == "FAILED"
    assert execution.error == "BadInput"
    assert standins.calls == []


def test_the_input_format_reaches_the_job(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    standins = emr(StandIns())

    execution = run(aws, monkeypatch, standins, input_format="dynamodb")

    assert execution.status == "SUCCEEDED"
    [step] = standins.called("elasticmapreduce", "addStep")
    assert step["Step"]["HadoopJarStep"]["Args"][-2:] == ["--input-format", "dynamodb"]


@pytest.mark.parametrize("input_format", ["parquet", 3, None])
def test_an_unknown_input_format_is_refused_before_any_cluster(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch, input_format: Any
) -> None:
    standins = emr(StandIns())

    execution = run(aws, monkeypatch, standins, input_format=input_format)

    assert execution.status == "FAILED"
    assert execution.error == "BadInput"
    assert standins.calls == []
