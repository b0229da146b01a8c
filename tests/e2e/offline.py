"""The offline stack as an e2e target: everything on loopback, in this process.

:func:`offline_target` starts, once:

* moto's server provisioned from ``template.yaml`` (:func:`medialens_local.aws.local_aws`),
  the local Rekognition with its real models, and the router that delivers S3, SNS and
  SQS events to the real handlers;
* the local Lex V2 runtime (:mod:`medialens_local.lex_runtime`) serving the template's
  bot, whose code hook is the real ChatbotFunction;
* the Batch Transform and EMR label-mining state machines, created in moto from the
  real definitions with the template's substitutions, executed by moto's interpreter;
  their Lambda tasks run the real handlers, SageMaker and EMR are the workflow tests'
  stand-ins (``tests/support/workflows.py``), and the EMR step runs the Spark job in
  local mode over the objects in moto's S3.

Everything it changes in the process (environment, moto's configuration, patched moto
classes) is put back when it stops.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import boto3
import pytest
from medialens_local.aws import REGION, LocalAws, local_aws
from medialens_local.lex_runtime import (
    LOCAL_BOT_ALIAS_ID,
    LOCAL_BOT_ID,
    serving,
    template_alias,
)
from medialens_local.router import Router
from medialens_local.stack import local_rekognition

from tests.e2e.targets import LOCALE_ID, StackResources, Target, Timeouts
from tests.support.workflows import (
    MOTO_CONFIG,
    FunctionError,
    StandIns,
    emr_spark_stand_ins,
    label_mining_substitutions,
    moto_functions,
    render,
    sagemaker_stand_ins,
    stand_ins,
)

POLL_S = 0.05
OFFLINE_TIMEOUTS = Timeouts(image_s=120, video_s=300, batch_transform_s=300, label_mining_s=600)
"""Far above what the journeys take here (seconds), far below a deployed stack's waits."""
BATCH_TRANSFORM = ("BatchTransformStateMachine", "batch_transform.asl.json")
LABEL_MINING = ("LabelMiningStateMachine", "label_mining_emr.asl.json")


class OfflineTarget(Target):
    """The offline stack; :meth:`settle` delivers its events while it waits.

    Handlers run in the thread that delivers their event: the router's (``settle``),
    the Lex runtime's and moto's interpreter's. ``lock`` lets one run at a time, since
    a handler's environment is the process's.
    """

    def __init__(
        self,
        aws: LocalAws,
        router: Router,
        resources: StackResources,
        endpoints: Mapping[str, str],
        lock: threading.RLock,
        spark: Any = None,
    ) -> None:
        self.aws = aws
        self.router = router
        self.resources = resources
        self.timeouts = OFFLINE_TIMEOUTS
        self.lock = lock
        self.spark = spark
        self._endpoints = dict(endpoints)
        self._clients: dict[str, Any] = {}

    @property
    def name(self) -> str:
        """Say which stack this is."""
        return f"the offline stack ({self.aws.endpoint})"

    def client(self, service: str) -> Any:
        """Return a client of the local stand-in that serves ``service``, made once."""
        if service not in self._clients:
            self._clients[service] = boto3.client(  # type: ignore[call-overload]
                service,
                endpoint_url=self._endpoints.get(service, self.aws.endpoint),
                region_name=REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",
            )
        return self._clients[service]

    def settle(self, until: Callable[[], bool], timeout_s: float) -> bool:
        """Deliver every waiting event, as Lambda would, until ``until()`` holds."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                self.router.drain()
            if until():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(POLL_S)

    def prepare_label_mining(self, request: pytest.FixtureRequest) -> None:
        """Check that the stack was started with the Spark session the EMR step runs on.

        Raises
        ------
        RuntimeError
            When it was not: starting Spark now could hang (see :func:`offline_target`).
        """
        if self.spark is None:
            raise RuntimeError("the offline stack was started without a Spark session")


def _lambda_functions(
    aws: LocalAws, router: Router, lock: threading.RLock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Create the template's functions in moto's Lambda, each invocation run by the router.

    moto's interpreter invokes them through its Lambda API; the invocation runs the
    real handler with its template environment.
    """
    by_name = {
        aws.resolver.physical_name(logical_id): logical_id
        for logical_id in aws.resolver.resources("AWS::Serverless::Function")
    }

    def run(name: str, event: dict[str, Any]) -> Any:
        with lock:
            delivery = router.invoke_sync(by_name[name], event)
        if delivery.error is not None:
            error_type, _, message = delivery.error.partition(": ")
            raise FunctionError(error_type, message)
        return delivery.response

    arns = moto_functions(
        monkeypatch,
        run,
        by_name,
        lambda_client=aws.client("lambda"),
        iam_client=aws.client("iam"),
    )
    for name, arn in arns.items():
        aws.resolver.attributes[(by_name[name], "Arn")] = arn


def _state_machine(aws: LocalAws, logical_id: str, definition: str) -> str:
    properties = aws.resolver.template["Resources"][logical_id]["Properties"]
    arn: str = aws.client("stepfunctions").create_state_machine(
        name=aws.resolver.physical_name(logical_id),
        definition=definition,
        roleArn=aws.resolver.resolve(properties["Role"]),
    )["stateMachineArn"]
    return arn


def _batch_transform(aws: LocalAws) -> str:
    logical_id, file_name = BATCH_TRANSFORM
    declared = aws.resolver.template["Resources"][logical_id]["Properties"]
    values = {
        name: aws.resolver.resolve(value)
        for name, value in declared["DefinitionSubstitutions"].items()
    }
    return _state_machine(aws, logical_id, render(file_name, values))


def _label_mining(aws: LocalAws) -> str:
    logical_id, file_name = LABEL_MINING
    values = label_mining_substitutions(aws.bucket, aws.resolver.ref("WorkflowsTopic"))
    return _state_machine(aws, logical_id, render(file_name, values))


@contextlib.contextmanager
def _sagemaker_client_for(aws: LocalAws) -> Iterator[None]:
    """Let the SageMaker stand-in's own client, made with boto3's defaults, reach moto."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ENDPOINT_URL_SAGEMAKER": aws.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }.items():
            patch.setenv(name, value)
        patch.delenv("AWS_SESSION_TOKEN", raising=False)
        patch.delenv("AWS_PROFILE", raising=False)
        yield


@contextlib.contextmanager
def offline_target(spark: Any = None) -> Iterator[OfflineTarget]:
    """Start the offline stack with its bot and workflows; stop it and put the process back.

    Parameters
    ----------
    spark : SparkSession, optional
        The local session the EMR step stand-in runs the job on; without one, the EMR
        workflow's step fails. It must be started before the stack: PySpark launches its
        JVM with a ``preexec_fn``, so the child runs Python after ``fork``, and there it
        frees the thread-locals of the local video's decoder threads, whose FFmpeg
        contexts then wait forever on locks held by threads that were not forked.
    """
    from moto.core.config import default_user_config

    saved = dict(os.environ)
    try:
        with (
            local_aws() as aws,
            local_rekognition(aws) as rekognition,
            pytest.MonkeyPatch.context() as monkeypatch,
            mock.patch.dict(default_user_config, MOTO_CONFIG),
        ):
            router = Router(aws, rekognition.endpoint)
            router.drain()  # S3's test event
            lock = threading.RLock()
            # moto's interpreter calls services at localhost:$MOTO_PORT.
            monkeypatch.setenv("MOTO_PORT", str(urlsplit(aws.endpoint).port))
            _lambda_functions(aws, router, lock, monkeypatch)
            s3 = aws.client("s3")
            with _sagemaker_client_for(aws):
                sagemaker = sagemaker_stand_ins(s3, aws.bucket)
            target: OfflineTarget
            emr = emr_spark_stand_ins(s3, lambda: target.spark)
            handlers = StandIns(handlers={**sagemaker.handlers, **emr.handlers})
            with (
                stand_ins(monkeypatch, handlers),
                serving(
                    [template_alias(aws.resolver, lambda fn: router.caller(fn, lock), LOCALE_ID)]
                ) as lex,
            ):
                resources = StackResources(
                    bucket=aws.bucket,
                    catalog_table=aws.resolver.ref("CatalogTable"),
                    uploads_prefix=aws.resolver.ref("UploadsPrefix"),
                    model_data_key=aws.resolver.ref("ModelDataKey"),
                    bot_id=LOCAL_BOT_ID,
                    bot_alias_id=LOCAL_BOT_ALIAS_ID,
                    batch_transform_state_machine_arn=_batch_transform(aws),
                    label_mining_state_machine_arn=_label_mining(aws),
                )
                target = OfflineTarget(
                    aws, router, resources, {"lexv2-runtime": lex.endpoint}, lock, spark
                )
                yield target
    finally:
        os.environ.clear()
        os.environ.update(saved)
