"""Routes events to handlers the way Lambda's async invocation would, in-process."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from medialens_local.aws import (
    ACCOUNT_ID,
    REGION,
    LocalAws,
    QueueSource,
    handler_environment,
)
from medialens_local.template import ROOT

POLL_INTERVAL_S = 0.05


def forget_cached_clients() -> None:
    """Drop the layer's cached boto3 clients, made for the endpoints of an earlier stack."""
    from medialens.shared import aws as adapters

    for cached in vars(adapters).values():
        if callable(getattr(cached, "cache_clear", None)):
            cached.cache_clear()


def _fresh_sandbox() -> None:
    """Forget what an earlier local stack left in this process.

    The layer caches its boto3 clients (with the endpoints of the stack they were made
    for), and Powertools' logger keeps the stream it first wrote to.
    """
    forget_cached_clients()
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


class LambdaFailedError(RuntimeError):
    """A synchronous invocation raised: Lex would say "Received error response from Lambda"."""


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
            for _ in range(route.max_retries + 1):
                if self._call(handler, delivery):
                    return delivery
            self._send_to_failure_destination(route.failure_queue_url, delivery)
            return delivery
        finally:
            delivery.duration_s = time.perf_counter() - started

    def invoke_sync(self, logical_id: str, event: dict[str, Any]) -> Delivery:
        """Invoke a function once and wait for its answer, as a synchronous caller (Lex) does.

        A synchronous invocation is not retried by Lambda: the error goes to the caller.
        """
        self._environment(logical_id)
        delivery = Delivery(function=logical_id, event=event, attempts=0)
        started = time.perf_counter()
        self._call(self._handler(logical_id), delivery)
        delivery.duration_s = time.perf_counter() - started
        return delivery

    def caller(
        self, logical_id: str, lock: AbstractContextManager[Any] | None = None
    ) -> Callable[[dict[str, Any]], dict[str, Any]]:
        """Invoke ``logical_id`` as a synchronous caller (Lex's code hook) does.

        A handler that raised raises :class:`LambdaFailedError` in the caller. ``lock``
        is held around each invocation, for callers in other threads: a handler's
        environment is the process's.
        """

        def call(event: dict[str, Any]) -> dict[str, Any]:
            with lock or contextlib.nullcontext():
                delivery = self.invoke_sync(logical_id, event)
            if delivery.error is not None:
                raise LambdaFailedError(delivery.error)
            response: dict[str, Any] = delivery.response
            return response

        return call

    def _call(self, handler: ModuleType, delivery: Delivery) -> bool:
        """Run one attempt with a fresh context; ``True`` when the handler returned."""
        delivery.attempts += 1
        try:
            delivery.response = handler.lambda_handler(
                delivery.event, self._context(delivery.function)
            )
        except Exception as error:  # noqa: BLE001 - Lambda catches everything, so do we
            delivery.error = f"{type(error).__name__}: {error}"
            _log_failure(delivery)
            return False
        delivery.error = None
        return True

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
        self,
        *,
        expected: int | None = None,
        until: Callable[[], bool] | None = None,
        timeout_s: float | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> list[Delivery]:
        """Deliver waiting events: once over, or until ``expected`` or ``until()``.

        With neither, one pass over every queue delivers what is waiting. With
        ``expected`` (deliveries) or ``until`` (a condition, such as every video job
        having ended), polling goes on until it holds or ``timeout_s`` passes.
        """
        waiting = expected is not None or until is not None
        if timeout_s is None:
            timeout_s = 120.0 if until is not None else 5.0
        deadline = time.monotonic() + timeout_s
        deliveries: list[Delivery] = []
        while True:
            delivered = self._poll(deliveries, on_delivery)
            if expected is not None and len(deliveries) >= expected:
                return deliveries
            if until is not None and not delivered and until():
                return deliveries
            if delivered:
                continue
            if not waiting or time.monotonic() > deadline:
                return deliveries
            time.sleep(POLL_INTERVAL_S)

    def _poll(
        self, deliveries: list[Delivery], on_delivery: Callable[[Delivery], None] | None
    ) -> int:
        """One pass over every function's queues; return how many invocations ran."""
        before = len(deliveries)
        for logical_id, route in self._aws.functions.items():
            for event in self._take(route.event_queue_url, 10):
                if json.loads(event["Body"]).get("Event") != "s3:TestEvent":
                    deliveries.append(self.invoke(logical_id, json.loads(event["Body"])))
            for subscription, queue_url in route.topic_queue_urls.items():
                for message in self._take(queue_url, 10):
                    event = sns_event(json.loads(message["Body"]), subscription)
                    deliveries.append(self.invoke(logical_id, event))
            for source in route.queue_sources:
                messages = self._receive(source.queue_url, source.batch_size)
                if messages:
                    deliveries.append(self._invoke_polled(logical_id, source, messages))
        if on_delivery is not None:
            for delivery in deliveries[before:]:
                on_delivery(delivery)
        return len(deliveries) - before

    def _receive(self, queue_url: str | None, limit: int) -> list[dict[str, Any]]:
        if queue_url is None:
            return []
        messages: list[dict[str, Any]] = self._sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(limit, 10),
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _take(self, queue_url: str | None, limit: int) -> list[dict[str, Any]]:
        """Receive and delete: Lambda's asynchronous invocation owns the event from here."""
        messages = self._receive(queue_url, limit)
        for message in messages:
            self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def _invoke_polled(
        self, logical_id: str, source: QueueSource, messages: list[dict[str, Any]]
    ) -> Delivery:
        """Invoke once, as an event source mapping does.

        Success deletes the batch; failure makes it visible again, and the queue's
        redrive policy decides when it is parked in the dead-letter queue.
        """
        self._environment(logical_id)
        handler = self._handler(logical_id)
        delivery = Delivery(
            function=logical_id, event=sqs_event(messages, source.queue_arn), attempts=0
        )
        started = time.perf_counter()
        if self._call(handler, delivery):
            for message in messages:
                self._sqs.delete_message(
                    QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        else:
            for message in messages:
                self._sqs.change_message_visibility(
                    QueueUrl=source.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
        delivery.duration_s = time.perf_counter() - started
        return delivery


def _log_failure(delivery: Delivery) -> None:
    """Print the failed attempt as Lambda's runtime would log it: error and traceback."""
    print(
        json.dumps(
            {
                "level": "ERROR",
                "message": "Invocation failed",
                "function": delivery.function,
                "attempt": delivery.attempts,
                "error": delivery.error,
                "stackTrace": traceback.format_exc().splitlines(),
            }
        )
    )


def sns_event(envelope: dict[str, Any], subscription_arn: str) -> dict[str, Any]:
    """Turn the SNS envelope an SQS subscription receives into Lambda's SNS event."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": envelope.get("Type", "Notification"),
                    "MessageId": envelope["MessageId"],
                    "TopicArn": envelope["TopicArn"],
                    "Subject": envelope.get("Subject"),
                    "Message": envelope["Message"],
                    "Timestamp": envelope["Timestamp"],
                    "SignatureVersion": envelope.get("SignatureVersion", "1"),
                    "Signature": envelope.get("Signature", ""),
                    "SigningCertUrl": envelope.get("SigningCertURL", ""),
                    "UnsubscribeUrl": envelope.get("UnsubscribeURL", ""),
                    "MessageAttributes": envelope.get("MessageAttributes", {}),
                },
            }
        ]
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event for a batch received from ``queue_arn``."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }
