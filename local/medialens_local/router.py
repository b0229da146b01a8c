"""Routes events to handlers the way Lambda's async invocation would, in-process."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from medialens_local.aws import (
    ACCOUNT_ID,
    REGION,
    FunctionRoute,
    LocalAws,
    handler_environment,
)
from medialens_local.template import ROOT


def _fresh_sandbox() -> None:
    """Forget what an earlier local stack left in this process.

    The layer caches its boto3 clients (with the endpoints of the stack they were made
    for), and Powertools' logger keeps the stream it first wrote to.
    """
    from medialens.adapters import aws as adapters

    adapters._client.cache_clear()
    adapters.dynamodb_resource.cache_clear()
    for handler in logging.getLogger(
        os.environ.get("POWERTOOLS_SERVICE_NAME", "medialens")
    ).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.stream = sys.stdout  # setStream would flush the old, closed one


@dataclass
class LocalContext:
    """The parts of Lambda's context object the handlers use, from the template."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_ms: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's countdown from the function's Timeout (the router enforces none)."""
        elapsed_ms = (time.monotonic() - self.started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))


@dataclass
class Delivery:
    """One event delivered to one function, and how it ended."""

    function: str
    event: dict[str, Any]
    attempts: int
    response: Any = None
    error: str | None = None
    duration_s: float = 0.0


def load_handler(code_dir: str) -> ModuleType:
    """Import a function's ``handler.py`` from its CodeUri, as Lambda would."""
    path = ROOT / code_dir / "handler.py"
    spec = importlib.util.spec_from_file_location(f"{Path(code_dir).name}_handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Router:
    """Polls each function's event queue and invokes its handler with Lambda's retry rules.

    A failing invocation is retried ``MaximumRetryAttempts`` times, then the event is
    sent to the function's on-failure destination in the record shape Lambda uses.
    """

    def __init__(self, aws: LocalAws, rekognition_endpoint: str) -> None:
        self._aws = aws
        self._rekognition_endpoint = rekognition_endpoint
        self._sqs = aws.client("sqs")
        self._handlers: dict[str, ModuleType] = {}
        _fresh_sandbox()

    def _environment(self, logical_id: str) -> None:
        """Give the handler exactly its Lambda environment, as a fresh sandbox would.

        AWS and Powertools variables from the caller's shell (a profile, another
        endpoint) are removed, so they cannot point the handler elsewhere.
        """
        wanted = handler_environment(self._aws, logical_id, self._rekognition_endpoint)
        for name in list(os.environ):
            if name.startswith(("AWS_", "POWERTOOLS_")) and name not in wanted:
                del os.environ[name]
        os.environ.update(wanted)

    def _handler(self, logical_id: str) -> ModuleType:
        if logical_id not in self._handlers:
            self._handlers[logical_id] = load_handler(self._aws.functions[logical_id].code_dir)
        return self._handlers[logical_id]

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Delivery:
        """Invoke a function once per attempt until it succeeds or retries run out."""
        route = self._aws.functions[logical_id]
        self._environment(logical_id)
        handler = self._handler(logical_id)
        delivery = Delivery(function=logical_id, event=event, attempts=0)
        started = time.perf_counter()
        try:
            return self._attempt(handler, route, delivery)
        finally:
            delivery.duration_s = time.perf_counter() - started

    def _attempt(self, handler: ModuleType, route: FunctionRoute, delivery: Delivery) -> Delivery:
        for _ in range(route.max_retries + 1):
            delivery.attempts += 1
            context = self._context(route.logical_id)
            try:
                delivery.response = handler.lambda_handler(delivery.event, context)
            except Exception as error:  # noqa: BLE001 - Lambda catches everything, so do we
                delivery.error = f"{type(error).__name__}: {error}"
                continue
            delivery.error = None
            return delivery
        self._send_to_failure_destination(route.failure_queue_url, delivery)
        return delivery

    def _function_arn(self, logical_id: str) -> str:
        name = self._aws.resolver.physical_name(logical_id)
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"

    def _context(self, logical_id: str) -> LocalContext:
        globals_ = self._aws.resolver.template.get("Globals", {}).get("Function", {})
        own = self._aws.resolver.template["Resources"][logical_id]["Properties"]
        return LocalContext(
            function_name=self._aws.resolver.physical_name(logical_id),
            invoked_function_arn=self._function_arn(logical_id),
            memory_limit_in_mb=int(own.get("MemorySize", globals_.get("MemorySize", 128))),
            timeout_ms=int(own.get("Timeout", globals_.get("Timeout", 3))) * 1000,
        )

    def _send_to_failure_destination(self, queue_url: str | None, delivery: Delivery) -> None:
        if queue_url is None:
            return
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{self._function_arn(delivery.function)}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": delivery.attempts,
            },
            "requestPayload": delivery.event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": delivery.error,
                "errorType": (delivery.error or "").split(":", 1)[0],
            },
        }
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

    def drain(
        self, *, expected: int | None = None, on_delivery: Callable[[Delivery], None] | None = None
    ) -> list[Delivery]:
        """Deliver every waiting event; with ``expected``, keep polling until that many arrived."""
        deliveries: list[Delivery] = []
        idle_polls = 0
        while True:
            delivered = 0
            for logical_id, route in self._aws.functions.items():
                if route.event_queue_url is None:
                    continue
                messages = self._sqs.receive_message(
                    QueueUrl=route.event_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                for message in messages:
                    event = json.loads(message["Body"])
                    self._sqs.delete_message(
                        QueueUrl=route.event_queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
                    if event.get("Event") == "s3:TestEvent":
                        continue
                    delivery = self.invoke(logical_id, event)
                    deliveries.append(delivery)
                    delivered += 1
                    if on_delivery is not None:
                        on_delivery(delivery)
            if expected is not None and len(deliveries) >= expected:
                return deliveries
            idle_polls = 0 if delivered else idle_polls + 1
            if expected is None and idle_polls >= 1:
                return deliveries
            if idle_polls > 50:
                return deliveries
