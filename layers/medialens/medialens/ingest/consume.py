"""The ingest queue's consumer: analyse what each message names, and never lose one.

Three ways a message ends besides being analysed:

- **throttled** (Rekognition or DynamoDB said slow down after botocore's own retries):
  back pressure, not a failure. A copy goes back on the queue with a growing delay and
  the original is acknowledged, so throttling never uses up the receives after which
  SQS dead-letters a message.
- **failed** (anything else raised): reported as a batch item failure, made invisible for
  a growing back-off; after the queue's ``maxReceiveCount`` receives SQS moves it to the
  dead-letter queue, from which one command redrives it.
- **malformed** (no retry could read it): copied to the dead-letter queue with the reason,
  and acknowledged. A notification's records are handled one by one: an unreadable or
  failing record does not stop the others, and each is logged and counted on its own.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from botocore.exceptions import ClientError
from botocore.retries.standard import RetryContext, ThrottledRetryableChecker

from medialens.ingest.messages import IngestMessage, MessageKind, parse_message
from medialens.shared.errors import MalformedNotificationError
from medialens.shared.media import MediaObject, RemovedObject
from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.shared.outcome import AnalysisOutcome, OutcomeStatus

MAX_DELAY_S = 900
"""SQS's longest DelaySeconds and the cap of the back-offs here (SendMessage,
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html)."""

THROTTLE_BASE_DELAY_S = 2
FAILURE_BASE_DELAY_S = 30
_THROTTLING = ThrottledRetryableChecker()


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """One SQS message as the consumer needs it."""

    message_id: str
    body: str
    receipt_handle: str
    receive_count: int = 1
    throttled_before: int = 0
    """How many times the message was put back for throttling (a message attribute)."""


class IngestQueue(Protocol):
    """The ingest queue and its dead-letter queue."""

    def put_back(self, body: str, *, delay_s: int, throttled: int) -> None:
        """Send ``body`` again after ``delay_s``, noting how often it was throttled."""
        ...

    def delay_retry(self, receipt_handle: str, delay_s: int) -> None:
        """Keep a failed message invisible for ``delay_s`` before SQS redelivers it."""
        ...

    def dead_letter(self, body: str, reason: str) -> None:
        """Park an unreadable message, with the reason, in the dead-letter queue."""
        ...


@dataclass(frozen=True, slots=True)
class IngestPorts:
    """What the consumer needs: the analysis itself, the catalog's memory, the queues."""

    analyze: Callable[[MediaObject], AnalysisOutcome]
    remove: Callable[[RemovedObject], AnalysisOutcome]
    """Takes a deleted object out of the catalog (``ObjectRemoved``)."""
    catalogued: Callable[[str], bool]
    """Whether the catalog already holds a finished entry for a media id."""
    queue: IngestQueue
    jitter: Callable[[float, float], float] = field(default=random.uniform)


class MessageFailedError(Exception):
    """The message's analysis failed; SQS will redeliver it after a back-off."""


def is_throttling(error: BaseException) -> bool:
    """Whether AWS answered "slow down" (botocore's own list of throttling codes)."""
    if not isinstance(error, ClientError):
        return False
    context = RetryContext(attempt_number=1, parsed_response=error.response)
    return bool(_THROTTLING.is_retryable(context))


def back_off(base_s: float, attempt: int, jitter: Callable[[float, float], float]) -> int:
    """Exponential back-off with jitter, capped at :data:`MAX_DELAY_S`."""
    ceiling = min(MAX_DELAY_S, base_s * 2 ** max(0, attempt - 1))
    return int(min(MAX_DELAY_S, jitter(ceiling / 2, ceiling)))


def consume_message(message: QueueMessage, ports: IngestPorts) -> list[AnalysisOutcome]:
    """Handle one ingest queue message.

    Parameters
    ----------
    message : QueueMessage
    ports : IngestPorts

    Returns
    -------
    list[AnalysisOutcome]
        One outcome per object the message names (none when it was put back or parked).

    Raises
    ------
    MessageFailedError
        When a record's analysis failed for a reason other than throttling; the message's
        redelivery was delayed first.
    """
    try:
        parsed = parse_message(message.body)
    except MalformedNotificationError as error:
        logger.error("Unreadable ingest message", message_id=message.message_id, reason=str(error))
        metrics.add_metric(name="IngestMessageMalformed", unit=MetricUnit.Count, value=1)
        ports.queue.dead_letter(message.body, str(error))
        return []
    if parsed.kind is MessageKind.TEST_EVENT:
        logger.info("S3 test event acknowledged", message_id=message.message_id)
        metrics.add_metric(name="S3TestEvent", unit=MetricUnit.Count, value=1)
        return []
    outcomes: list[AnalysisOutcome] = []
    failures: list[tuple[MediaObject | RemovedObject, Exception]] = []
    for media in parsed.objects:
        try:
            outcomes.append(_analyze(media, parsed, ports))
        except Exception as error:  # noqa: BLE001 - each is logged and retried below
            failures.append((media, error))
    for removed in parsed.removed:
        try:
            outcomes.append(ports.remove(removed))
        except Exception as error:  # noqa: BLE001 - each is logged and retried below
            failures.append((removed, error))
    if failures:
        _retry_later(message, failures, ports)
        return []
    if parsed.unreadable:
        _park_unreadable(message, parsed, ports)
    return outcomes


def _retry_later(
    message: QueueMessage,
    failures: list[tuple[MediaObject | RemovedObject, Exception]],
    ports: IngestPorts,
) -> None:
    """Send a message with failed records round again.

    The records that passed answer from the idempotency table then, so only the failed
    ones are analysed again.

    Raises
    ------
    MessageFailedError
        Unless every failure was throttling (then a copy was put back instead).
    """
    for media, error in failures:
        logger.warning(
            "Ingest record failed",
            message_id=message.message_id,
            key=media.key,
            throttled=is_throttling(error),
            error=f"{type(error).__name__}: {error}",
            exc_info=None if is_throttling(error) else error,
        )
    metrics.add_metric(name="IngestRecordFailed", unit=MetricUnit.Count, value=len(failures))
    if all(is_throttling(error) for _, error in failures):
        throttled = message.throttled_before + 1
        delay = back_off(THROTTLE_BASE_DELAY_S, throttled, ports.jitter)
        ports.queue.put_back(message.body, delay_s=delay, throttled=throttled)
        logger.warning(
            "Throttled: put back on the queue",
            message_id=message.message_id,
            delay_s=delay,
            throttled=throttled,
        )
        metrics.add_metric(name="IngestThrottled", unit=MetricUnit.Count, value=1)
        return
    delay = back_off(FAILURE_BASE_DELAY_S, message.receive_count, ports.jitter)
    ports.queue.delay_retry(message.receipt_handle, delay)
    logger.error(
        "Ingest message failed; SQS redelivers it",
        message_id=message.message_id,
        receive_count=message.receive_count,
        retry_in_s=delay,
        failed_keys=[media.key for media, _ in failures],
    )
    metrics.add_metric(name="IngestFailed", unit=MetricUnit.Count, value=1)
    media, error = next((m, e) for m, e in failures if not is_throttling(e))
    raise MessageFailedError(
        f"{len(failures)} record(s) failed, first {media.key}: {type(error).__name__}: {error}"
    ) from error


def _park_unreadable(message: QueueMessage, parsed: IngestMessage, ports: IngestPorts) -> None:
    """Dead-letter the records that name no object, once the message's others are done.

    Parked only when the message will not come round again, so a redelivery does not park
    them twice; a message that ends in the dead-letter queue carries them anyway.
    """
    reason = "; ".join(record.reason for record in parsed.unreadable)
    logger.error(
        "Unreadable notification records parked",
        message_id=message.message_id,
        records=len(parsed.unreadable),
        reason=reason,
    )
    metrics.add_metric(
        name="IngestRecordMalformed", unit=MetricUnit.Count, value=len(parsed.unreadable)
    )
    body = json.dumps({"Records": [record.record for record in parsed.unreadable]})
    ports.queue.dead_letter(body, reason)


def _analyze(media: MediaObject, message: IngestMessage, ports: IngestPorts) -> AnalysisOutcome:
    if message.kind is MessageKind.BACKFILL and ports.catalogued(media.media_id):
        logger.info("Backfill skipped: already catalogued", key=media.key)
        metrics.add_metric(name="BackfillSkipped", unit=MetricUnit.Count, value=1)
        return AnalysisOutcome(
            media_id=media.media_id, status=OutcomeStatus.IGNORED, reason="already_catalogued"
        )
    return ports.analyze(media)
