"""Routes events to handlers the way Lambda's async invocation would, in-process."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
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
"""Between the router's passes over its queues (short polls, for single-threaded runs)."""
LONG_POLL_S = 1
"""A sandbox's ``WaitTimeSeconds``: SQS answers as soon as a message arrives, or empty
after this. Lambda long-polls a standard queue ("For standard queues, Lambda uses long
polling to poll the queue until it becomes active", the Lambda Developer Guide's
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), with SQS's 20 s maximum
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/best-practices-setting-up-long-polling.html);
1 s (SQS's minimum long poll) gives the same wake-up on arrival and lets a stopped
sandbox end within a second."""


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
    finished: float = 0.0
    """Wall-clock time (``time.time()``) the invocation ended; set by :class:`Sandboxes`."""


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

    def __init__(
        self,
        aws: LocalAws,
        rekognition_endpoint: str,
        service_endpoints: Mapping[str, str] | None = None,
    ) -> None:
        self._aws = aws
        self._rekognition_endpoint = rekognition_endpoint
        self._service_endpoints = dict(service_endpoints or {})
        self._sqs = aws.client("sqs")
        self._handlers: dict[str, ModuleType] = {}
        _fresh_sandbox()

    def _environment(self, logical_id: str) -> None:
        """Give the handler exactly its Lambda environment, as a fresh sandbox would.

        AWS and Powertools variables from the caller's shell (a profile, another
        endpoint) are removed, so they cannot point the handler elsewhere.
        """
        wanted = handler_environment(
            self._aws, logical_id, self._rekognition_endpoint, self._service_endpoints
        )
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

    @contextlib.contextmanager
    def sandboxes(self, logical_id: str) -> Iterator[Sandboxes]:
        """Run the function's SQS source concurrently, as its event source mapping would.

        See :class:`Sandboxes`; they stop (after their current invocations) on exit.
        """
        [source] = self._aws.functions[logical_id].queue_sources
        running = Sandboxes(self, logical_id, source)
        running.start()
        try:
            yield running
        finally:
            running.stop()

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
            kept = failed_items(delivery.response) if source.partial_batch else set()
            for message in messages:
                if message["MessageId"] not in kept:
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


class Sandboxes:
    """An SQS event source mapping run as Lambda runs it: pollers feeding sandboxes.

    Each sandbox is a thread with its own copy of the handler module (so its own
    module-level state: clients, caches, the pacer), and at most
    ``MaximumConcurrency`` of them run at once. A sandbox receives up to ``BatchSize``
    messages, invokes the handler, deletes what succeeded and leaves what failed to the
    queue: those come back when their visibility timeout (or the back-off the handler
    set) ends, and SQS moves them to the dead-letter queue after ``maxReceiveCount``
    receives. Sandboxes long-poll, as Lambda's pollers do, so a message reaches a free
    sandbox when it arrives, and idle sandboxes do not load the local services with empty
    receives. Handler environments are the process's: only one function runs this way
    at a time. Lambda's function timeout is not enforced (a thread cannot be killed).
    """

    def __init__(self, router: Router, logical_id: str, source: QueueSource) -> None:
        self._router = router
        self._logical_id = logical_id
        self._source = source
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.in_flight = 0
        self.most_in_flight = 0
        """The most invocations that ran at once, which ``MaximumConcurrency`` bounds."""
        count = source.max_concurrency or DEFAULT_CONCURRENCY
        self._threads = [
            threading.Thread(target=self._run, name=f"sandbox-{n}", daemon=True)
            for n in range(count)
        ]

    def start(self) -> None:
        """Start the sandboxes polling."""
        self._router._environment(self._logical_id)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Let every sandbox finish its invocation, then stop polling."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        handler = load_handler(self._router._aws.functions[self._logical_id].code_dir)
        sqs = self._router._aws.client("sqs")
        while not self._stop.is_set():
            messages = sqs.receive_message(
                QueueUrl=self._source.queue_url,
                MaxNumberOfMessages=min(self._source.batch_size, 10),
                WaitTimeSeconds=LONG_POLL_S,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                continue
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                delivery = self._invoke(handler, sqs, messages)
            finally:
                with self._lock:
                    self.in_flight -= 1
            with self._lock:
                self.deliveries.append(delivery)

    def _invoke(self, handler: ModuleType, sqs: Any, messages: list[dict[str, Any]]) -> Delivery:
        delivery = Delivery(
            function=self._logical_id,
            event=sqs_event(messages, self._source.queue_arn),
            attempts=0,
        )
        started = time.perf_counter()
        if self._router._call(handler, delivery):
            try:
                kept = failed_items(delivery.response) if self._source.partial_batch else set()
            except ValueError:
                kept = {message["MessageId"] for message in messages}
            for message in messages:
                if message["MessageId"] not in kept:
                    sqs.delete_message(
                        QueueUrl=self._source.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        delivery.duration_s = time.perf_counter() - started
        delivery.finished = time.time()
        return delivery


DEFAULT_CONCURRENCY = 5
"""Sandboxes for a mapping without ``MaximumConcurrency`` (Lambda would scale further)."""


def failed_items(response: Any) -> set[str]:
    """Message ids a partial batch response asks to keep, as Lambda reads it.

    Lambda treats a response it cannot read (an item without an ``itemIdentifier``, or
    an unknown one) as a failure of the whole batch ("Implementing partial batch
    responses", https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html);
    the caller then keeps every message.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    identifiers = {item.get("itemIdentifier") for item in response["batchItemFailures"]}
    if not all(isinstance(identifier, str) and identifier for identifier in identifiers):
        raise ValueError(f"unreadable partial batch response: {response!r}")
    return {str(identifier) for identifier in identifiers}


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
