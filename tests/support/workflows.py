"""Run the state machines in moto's ASL interpreter, with stand-ins for EMR and SageMaker.

moto executes Pass, Choice, Retry, Catch, intrinsics, SNS and Lambda tasks itself, but
not the ``.sync`` EMR and SageMaker integrations. Those are answered here by Python
stand-ins that record the parameters the interpreter resolved, so a test asserts on
what the real definition would have sent and on the execution history.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import io
import json
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from botocore.validate import validate_parameters
from medialens.workflows.artifacts import artifact_key
from medialens_local.batch_transform import TransformFailedError, TransformSettings, transform
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
    CustomErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (  # noqa: E501
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from scripts.lint_state_machines import PLACEHOLDER, substitute
from tests.support.stack import ROOT, load_handler, resolve, resource

STATE_MACHINES = ROOT / "statemachine"
SUBNET_ID = "subnet-0123456789abcdef0"
# What WorkflowArtifacts publishes under jobs/, by the attribute that names its URI.
DEPLOYED_JOB_FILES = {
    "JobScriptUri": "label_mining.py",
    "BootstrapScriptUri": "emr_bootstrap.sh",
    "RequirementsUri": "requirements-emr.txt",
}


def deployed_job_uri(bucket: str, attribute: str) -> str:
    """Where the deploy put a file of ``jobs/``: its content-addressed key."""
    name = DEPLOYED_JOB_FILES[attribute]
    return f"s3://{bucket}/{artifact_key('jobs/', name, (ROOT / 'jobs' / name).read_bytes())}"


def label_mining_substitutions(bucket: str, topic_arn: str) -> dict[str, str]:
    """The EMR workflow's substitutions as the template resolves them in ``bucket``.

    The custom resource's attributes are the keys it would publish the files under, and
    the subnet (a parameter without a default) a well-formed id.
    """
    declared = resource("LabelMiningStateMachine")["Properties"]["DefinitionSubstitutions"]
    values = {
        name: resolve(value, {"EmrSubnetId": SUBNET_ID})
        for name, value in declared.items()
        if name not in {*DEPLOYED_JOB_FILES, "TopicArn"}
    }
    values.update(
        {attribute: deployed_job_uri(bucket, attribute) for attribute in DEPLOYED_JOB_FILES}
    )
    values["TopicArn"] = topic_arn
    return values


def validate(service: str, operation: str, params: dict[str, Any]) -> None:
    """Raise botocore's ParamValidationError for a request its service model refuses."""
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).input_shape
    assert shape is not None
    validate_parameters(params, shape)


class TaskError(Exception):
    """Raised by a stand-in: the task fails with this error name and cause."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


StandIn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class StandIns:
    """Answers for service actions, by ``(service, action)``; every call is recorded."""

    handlers: dict[tuple[str, str], StandIn] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def called(self, service: str, action: str) -> list[dict[str, Any]]:
        """Parameters of every call of one action, in order."""
        return [p for s, a, p in self.calls if (s, a) == (service, action)]


@contextmanager
def stand_ins(monkeypatch: pytest.MonkeyPatch, handlers: StandIns) -> Iterator[StandIns]:
    """Let moto's interpreter run the EMR and SageMaker tasks through ``handlers``."""

    def init(self: Any) -> None:
        StateTaskServiceCallback.__init__(
            self,
            # moto declares these constants as str but annotates the set as the class.
            supported_integration_patterns={
                ResourceCondition.WaitForTaskToken,  # type: ignore[arg-type]
                ResourceCondition.Sync,  # type: ignore[arg-type]
            },
        )

    def evaluate(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        key = (self.resource.service_name, self.resource.api_action)
        handlers.calls.append((*key, json.loads(json.dumps(normalised_parameters))))
        try:
            answer = handlers.handlers[key](normalised_parameters)
        except TaskError as failure:
            name = (
                StatesErrorName.from_name(failure.error)
                if failure.error.startswith("States.")
                else CustomErrorName(failure.error)
            )
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=name,
                    event_type=HistoryEventType.TaskFailed,
                    # A total=True TypedDict in moto, filled with one key as moto does.
                    event_details=EventDetails(  # type: ignore[typeddict-item]
                        taskFailedEventDetails=TaskFailedEventDetails(
                            error=failure.error,
                            cause=failure.cause,
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                        )
                    ),
                )
            ) from failure
        # moto's sync loop waits while the answer is falsy.
        env.stack.append(answer or {"done": True})

    def resolver(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Callable[[], Any]:
        answer = env.stack.pop()
        return lambda: answer

    service = unsupported.StateTaskServiceUnsupported
    monkeypatch.setattr(service, "__init__", init)
    monkeypatch.setattr(service, "_eval_service_task", evaluate)
    monkeypatch.setattr(service, "_build_sync_resolver", resolver)
    yield handlers


@contextmanager
def nested_executions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Let moto run ``states:startExecution.sync:2`` tasks as Step Functions does.

    moto 5.2.5's port of the interpreter hands the task's PascalCase parameters
    (``StateMachineArn``) to boto3 unchanged, which expects ``stateMachineArn``, and
    returns boto3's camelCase answer where Step Functions gives ``ExecutionArn``,
    ``Output``. The two name mappings (first letter's case, as Step Functions' API
    naming convention states) are all that is added; the nested execution is moto's.
    """
    normalise_parameters = StateTaskServiceSfn._normalise_parameters
    call = StateTaskServiceSfn._eval_service_task

    def pascal_case(response: Any) -> None:
        if isinstance(response, dict):
            for name in list(response):
                response[name[0].upper() + name[1:]] = response.pop(name)

    def parameters(self: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        normalise_parameters(self, parameters, *args, **kwargs)
        for name in list(parameters):
            parameters[name[0].lower() + name[1:]] = parameters.pop(name)

    def started(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        call(self, env, *args, **kwargs)
        pascal_case(env.stack[-1])

    monkeypatch.setattr(StateTaskServiceSfn, "_normalise_parameters", parameters)
    monkeypatch.setattr(StateTaskServiceSfn, "_eval_service_task", started)
    monkeypatch.setattr(
        StateTaskServiceSfn,
        "_normalise_response",
        lambda self, response, *_, **__: pascal_case(response),
    )
    yield


MOTO_CONFIG: Any = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
"""moto runs executions, and Lambda tasks without Docker (through :func:`real_handlers`)."""


class FunctionError(Exception):
    """A function's unhandled error, by the type and message Lambda reports."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


FunctionRun = Callable[[str, dict[str, Any]], Any]
"""Runs a function's handler: ``(function name, event) -> answer``; raising is its error."""


def moto_functions(
    monkeypatch: pytest.MonkeyPatch,
    run: FunctionRun,
    names: Iterable[str],
    *,
    lambda_client: Any = None,
    iam_client: Any = None,
) -> dict[str, str]:
    """Create moto Lambda functions (no Docker) whose invocations call ``run``.

    An error ``run`` raises comes back as Lambda's unhandled function error
    (``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage"}``), which is
    what a Step Functions task then fails with. Returns each function's ARN.
    """

    def invoke(
        backend: Any,
        function_name: str,
        qualifier: Any,
        body: Any,
        headers: Any = None,
        response_headers: dict[str, str] | None = None,
    ) -> bytes:
        name = backend.get_function(function_name, qualifier).function_name
        try:
            return json.dumps(run(name, json.loads(body or "{}"))).encode()
        except Exception as error:  # noqa: BLE001 - answered as Lambda answers it
            if response_headers is not None:
                response_headers["x-amz-function-error"] = "Unhandled"
            kind, message = (
                (error.error_type, error.message)
                if isinstance(error, FunctionError)
                else (type(error).__name__, str(error))
            )
            return json.dumps({"errorType": kind, "errorMessage": message}).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    iam = iam_client or boto3.client("iam")
    lambda_ = lambda_client or boto3.client("lambda")
    role = iam.create_role(RoleName="functions", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "")
    return {
        name: lambda_.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        for name in names
    }


def real_handlers(
    monkeypatch: pytest.MonkeyPatch, context: Any, functions: Mapping[str, str]
) -> dict[str, str]:
    """Create moto Lambda functions whose invocations run ``functions/<dir>/handler.py``.

    ``functions`` maps a function name to its directory; call inside ``mock_aws``.
    Returns each function's ARN, for the definitions' substitutions.
    """
    handlers = {name: load_handler(directory) for name, directory in functions.items()}

    def run(name: str, event: dict[str, Any]) -> Any:
        return handlers[name].lambda_handler(event, context)

    return moto_functions(monkeypatch, run, functions)


def sagemaker_stand_ins(
    s3: Any, bucket: str, *, archive: Path | None = None, tamper: bool = False
) -> StandIns:
    """createModel on moto's SageMaker; createTransformJob run here over moto's S3.

    Each request is checked against botocore's model. The job runs the model's own
    inference code through the local Batch Transform over the objects under its
    ``S3Uri`` and writes the ``.out`` files under ``S3OutputPath``; a job the emulator
    refuses fails the task as SageMaker's ClientError would.

    Parameters
    ----------
    s3 : S3Client
        moto's S3.
    bucket : str
        The bucket inputs, outputs and model archives are in.
    archive : Path, optional
        The model archive to serve; by default the one at the model's ``ModelDataUrl``.
    tamper : bool
        Drop each ``.out``'s last line, as a broken job would.
    """
    sagemaker = boto3.client("sagemaker")

    def key_of(uri: str) -> str:
        return uri.split(f"s3://{bucket}/", 1)[1]

    def create_model(params: dict[str, Any]) -> dict[str, Any]:
        validate("sagemaker", "CreateModel", params)
        return dict(sagemaker.create_model(**params))

    def create_transform_job(params: dict[str, Any]) -> dict[str, Any]:
        validate("sagemaker", "CreateTransformJob", params)
        prefix = key_of(params["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"])
        out_prefix = key_of(params["TransformOutput"]["S3OutputPath"])
        with tempfile.TemporaryDirectory() as folder:
            inputs, outputs = Path(folder, "in"), Path(folder, "out")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    local = inputs / item["Key"].removeprefix(prefix)
                    local.parent.mkdir(parents=True, exist_ok=True)
                    local.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
            served = archive
            if served is None:
                model = sagemaker.describe_model(ModelName=params["ModelName"])
                served = Path(folder, "model.tar.gz")
                served.write_bytes(
                    s3.get_object(
                        Bucket=bucket, Key=key_of(model["PrimaryContainer"]["ModelDataUrl"])
                    )["Body"].read()
                )
            settings = TransformSettings(
                batch_strategy=params["BatchStrategy"], max_payload_mb=params["MaxPayloadInMB"]
            )
            try:
                transform(inputs, outputs, served, settings)
            except TransformFailedError as error:
                raise TaskError("States.TaskFailed", f"ClientError: {error}") from error
            for path in sorted(p for p in outputs.rglob("*") if p.is_file()):
                body = path.read_bytes()
                if tamper:
                    body = b"".join(body.splitlines(keepends=True)[:-1])
                key = out_prefix + path.relative_to(outputs).as_posix()
                s3.put_object(Bucket=bucket, Key=key, Body=body)
        return {"TransformJobName": params["TransformJobName"], "TransformJobStatus": "Completed"}

    return StandIns(
        handlers={
            ("sagemaker", "createModel"): create_model,
            ("sagemaker", "createTransformJob"): create_transform_job,
        }
    )


EMR_CLUSTER_ID = "j-2AXXXXXXGAPLF"


def emr_spark_stand_ins(s3: Any, spark: Callable[[], Any], *, fail: bool = False) -> StandIns:
    """createCluster and terminateCluster answered; addStep runs the step's Spark job here.

    Each request is checked against botocore's EMR model. The arguments after the step's
    script are the job's own: the objects its ``--input`` names (an ``s3://`` prefix, or
    a glob as Spark reads one) are fetched into a folder, the job runs on ``spark()`` in
    local mode, and what it wrote (not Hadoop's ``.crc`` files) goes to its ``--output``.
    Nothing to read fails the step as Spark does; so does every step with ``fail``.
    """
    from jobs import label_mining

    def create_cluster(params: dict[str, Any]) -> dict[str, Any]:
        validate("emr", "RunJobFlow", params)
        return {"ClusterId": EMR_CLUSTER_ID}

    def add_step(params: dict[str, Any]) -> dict[str, Any]:
        validate(
            "emr", "AddJobFlowSteps", {"JobFlowId": params["ClusterId"], "Steps": [params["Step"]]}
        )
        if fail:
            raise TaskError("States.TaskFailed", "Step s-1 FAILED: ExitCode 1")
        args = params["Step"]["HadoopJarStep"]["Args"]
        script = next(i for i, arg in enumerate(args) if arg.endswith(".py"))
        options, _ = label_mining.parse_args(args[script + 1 :])
        with tempfile.TemporaryDirectory() as folder:
            inputs, outputs = Path(folder, "in"), Path(folder, "out")
            bucket, pattern = _s3_location(options.input)
            listed = pattern.split("*", 1)[0]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=listed):
                for item in page.get("Contents", []):
                    if fnmatch.fnmatch(item["Key"], pattern + "*"):
                        local = inputs / item["Key"].removeprefix(listed).replace("/", "_")
                        local.parent.mkdir(parents=True, exist_ok=True)
                        body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                        local.write_bytes(body)
            if not inputs.exists():
                raise TaskError("States.TaskFailed", f"Path does not exist: {options.input}")
            label_mining.run(
                spark(), dataclasses.replace(options, input=str(inputs), output=str(outputs))
            )
            bucket, prefix = _s3_location(options.output.rstrip("/") + "/")
            for path in sorted(p for p in outputs.rglob("*") if p.is_file()):
                if not path.name.endswith(".crc"):
                    key = prefix + path.relative_to(outputs).as_posix()
                    s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        return {"StepId": "s-1"}

    return StandIns(
        handlers={
            ("elasticmapreduce", "createCluster"): create_cluster,
            ("elasticmapreduce", "addStep"): add_step,
            ("elasticmapreduce", "terminateCluster"): lambda params: {"terminated": True},
        }
    )


def _s3_location(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, parts.path.lstrip("/")


def render(name: str, substitutions: Mapping[str, str]) -> str:
    """A definition from ``statemachine/`` with its ``${...}`` substitutions applied."""
    text = (STATE_MACHINES / name).read_text()
    missing = set(PLACEHOLDER.findall(text)) - set(substitutions)
    if missing:
        raise KeyError(f"no substitution for {sorted(missing)}")
    return substitute(text, dict(substitutions))


@dataclass
class Execution:
    """How an execution ended, and its history."""

    status: str
    output: dict[str, Any] | None
    error: str | None
    history: list[dict[str, Any]]

    def entered(self) -> list[str]:
        """Names of the states entered, in order."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.history
            if "stateEnteredEventDetails" in event
        ]

    def scheduled(self) -> list[tuple[str, str]]:
        """``(resourceType, resource)`` of every task scheduled, in order."""
        return [
            (
                event["taskScheduledEventDetails"]["resourceType"],
                event["taskScheduledEventDetails"]["resource"],
            )
            for event in self.history
            if event["type"] == "TaskScheduled"
        ]


def execute(
    sfn: Any,
    definition: str,
    payload: Mapping[str, Any],
    *,
    name: str = "run",
    timeout_s: float = 60,
) -> Execution:
    """Create the state machine, run it once with ``payload`` and wait for the end."""
    machine = sfn.create_state_machine(
        name=f"machine-{name}",
        definition=definition,
        roleArn="arn:aws:iam::123456789012:role/workflow",
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=json.dumps(payload))[
        "executionArn"
    ]
    deadline = time.monotonic() + timeout_s
    while True:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    output = described.get("output")
    return Execution(
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error"),
        history=history,
    )


def subscribed_topic(name: str = "workflows") -> tuple[str, str]:
    """An SNS topic with an SQS queue subscribed, to read the notifications from."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{name}-notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


def notifications(queue: str) -> list[dict[str, Any]]:
    """The JSON messages published to the topic so far."""
    messages = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages.get("Messages", [])]


def definition_path(name: str) -> Path:
    """Path of a definition in ``statemachine/``."""
    return STATE_MACHINES / name


@dataclass
class HostingLifecycle:
    """SageMaker hosting as a deploy meets it, harsher than moto's endpoints.

    moto's endpoints are in service the moment they are created and cannot be updated.
    Here CreateEndpoint leaves the endpoint ``Creating`` and UpdateEndpoint ``Updating``
    for ``polls`` DescribeEndpoint calls; then it is ``InService`` on the new
    configuration, or, with ``fail_create``, ``Failed``, or, with ``fail_update``,
    ``InService`` on the configuration it had, with the ``FailureReason``, as SageMaker
    reports a failed update (API Reference, EndpointMetadata.FailureReason: "the status
    is InService but update operation fails"). An update of an endpoint that is not in
    service is refused; so is a second endpoint of the same name.
    """

    polls: int = 2
    fail_create: str | None = None
    fail_update: str | None = None
    pending: dict[str, list[Any]] = field(default_factory=dict)

    def stand_ins(self, monkeypatch: pytest.MonkeyPatch) -> StandIns:
        """Answers for the optimized SageMaker tasks; DescribeEndpoint steps the lifecycle."""
        from moto.sagemaker.models import SageMakerModelBackend

        sagemaker = boto3.client("sagemaker")
        describe = SageMakerModelBackend.describe_endpoint
        lifecycle = self

        def stepped(backend: Any, endpoint_name: str) -> dict[str, Any]:
            pending = lifecycle.pending.get(endpoint_name)
            if pending is not None and endpoint_name in backend.endpoints:
                pending[0] -= 1
                if pending[0] <= 0:
                    endpoint = backend.endpoints[endpoint_name]
                    _, status, config, reason = lifecycle.pending.pop(endpoint_name)
                    endpoint.endpoint_status = status
                    endpoint.endpoint_config_name = config
                    endpoint.failure_reason = reason
            return describe(backend, endpoint_name)

        monkeypatch.setattr(SageMakerModelBackend, "describe_endpoint", stepped)
        sdk_answers_as_json(monkeypatch)

        def refused(message: str) -> TaskError:
            return TaskError("SageMaker.AmazonSageMakerException", message)

        def create_model(params: dict[str, Any]) -> dict[str, Any]:
            validate("sagemaker", "CreateModel", params)
            return dict(sagemaker.create_model(**params))

        def create_endpoint_config(params: dict[str, Any]) -> dict[str, Any]:
            validate("sagemaker", "CreateEndpointConfig", params)
            return dict(sagemaker.create_endpoint_config(**params))

        def backend() -> Any:
            from moto.sagemaker.models import sagemaker_backends

            return sagemaker_backends["123456789012"]["eu-west-1"]

        def create_endpoint(params: dict[str, Any]) -> dict[str, Any]:
            validate("sagemaker", "CreateEndpoint", params)
            name = params["EndpointName"]
            if name in backend().endpoints:
                raise refused(f"Cannot create already existing endpoint {name}.")
            created = dict(sagemaker.create_endpoint(**params))
            backend().endpoints[name].endpoint_status = "Creating"
            outcome = (
                ["Failed", params["EndpointConfigName"], lifecycle.fail_create]
                if lifecycle.fail_create
                else ["InService", params["EndpointConfigName"], None]
            )
            lifecycle.pending[name] = [lifecycle.polls, *outcome]
            return created

        def update_endpoint(params: dict[str, Any]) -> dict[str, Any]:
            validate("sagemaker", "UpdateEndpoint", params)
            name, config = params["EndpointName"], params["EndpointConfigName"]
            endpoint = backend().endpoints.get(name)
            if endpoint is None:
                raise refused(f"Could not find endpoint {name}.")
            if endpoint.endpoint_status != "InService":
                raise refused(f"Cannot update in-progress endpoint {name}.")
            if config not in backend().endpoint_configs:
                raise refused(f"Could not find endpoint configuration {config}.")
            endpoint.endpoint_status = "Updating"
            outcome = (
                ["InService", endpoint.endpoint_config_name, lifecycle.fail_update]
                if lifecycle.fail_update
                else ["InService", config, None]
            )
            lifecycle.pending[name] = [lifecycle.polls, *outcome]
            return {"EndpointArn": endpoint.arn}

        return StandIns(
            handlers={
                ("sagemaker", "createModel"): create_model,
                ("sagemaker", "createEndpointConfig"): create_endpoint_config,
                ("sagemaker", "createEndpoint"): create_endpoint,
                ("sagemaker", "updateEndpoint"): update_endpoint,
            }
        )


def sdk_answers_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """Give AWS SDK tasks' answers as Step Functions does: JSON, timestamps as text.

    moto's interpreter hands boto3's answer on as it is, with ``datetime`` objects that
    an intrinsic such as ``States.JsonToString`` then cannot serialise.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (  # noqa: E501
        StateTaskServiceAwsSdk,
    )

    call = StateTaskServiceAwsSdk._eval_service_task

    def as_json(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        call(self, env, *args, **kwargs)
        env.stack.append(json.loads(json.dumps(env.stack.pop(), default=str)))

    monkeypatch.setattr(StateTaskServiceAwsSdk, "_eval_service_task", as_json)
