"""What arrives on the ingest queue: S3 notifications, S3's test event, backfill requests.

S3 writes its event notification JSON as the message body ("Event message structure",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
and sends one ``s3:TestEvent`` when a notification configuration is saved. Its
``ObjectRemoved`` records name what was deleted: ``ObjectRemoved:Delete`` a version
deleted for good, ``ObjectRemoved:DeleteMarkerCreated`` a delete marker put over the
current version ("Supported event types", https://docs.aws.amazon.com/AmazonS3/latest/
userguide/notification-how-to-event-types-and-destinations.html). Backfills
send one request per existing object (see :func:`backfill_request`). EventBridge's
"Object Created" shape is accepted too, for buckets that route events that way
("Amazon S3 event notifications with EventBridge",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

from medialens.shared.errors import MalformedNotificationError
from medialens.shared.media import MediaObject, RemovedObject

BACKFILL = "medialens.backfill"


class MessageKind(StrEnum):
    """Where an ingest message came from."""

    DROP = "drop"
    """S3 (or EventBridge) announced a new object."""
    BACKFILL = "backfill"
    """A backfill asked for an existing object; skipped when it is already catalogued."""
    TEST_EVENT = "test_event"
    """S3 checking the queue when the notification configuration was saved."""


@dataclass(frozen=True, slots=True)
class UnreadableRecord:
    """A record of a notification that names no object, and why."""

    record: Any
    reason: str


@dataclass(frozen=True, slots=True)
class IngestMessage:
    """One queue message, parsed: its kind, the objects it names, the records it could not read."""

    kind: MessageKind
    objects: tuple[MediaObject, ...] = ()
    unreadable: tuple[UnreadableRecord, ...] = ()
    removed: tuple[RemovedObject, ...] = ()


def backfill_request(bucket: str, key: str, size: int, etag: str | None) -> dict[str, Any]:
    """Build the body a backfill sends for one existing object (the parser's inverse)."""
    return {"source": BACKFILL, "bucket": bucket, "key": key, "size": size, "etag": etag}


def unsupported_invocation(event: Any) -> str | None:
    """Why an invocation is not a batch from the ingest queue, or ``None`` when it is.

    The function reads S3's notifications from its queue; sent one directly (``sam local
    invoke`` with ``sam local generate-event s3 put``, a test console's template, an
    EventBridge rule) it must say so rather than fail on a missing SQS field.
    """
    records = event.get("Records") if isinstance(event, dict) else None
    if (
        isinstance(records, list)
        and records
        and all(
            isinstance(record, dict) and record.get("eventSource") == "aws:sqs"
            for record in records
        )
    ):
        return None
    shape = "not an SQS batch"
    if isinstance(event, dict) and event.get("Event") == "s3:TestEvent":
        shape = "S3's test event"
    elif isinstance(event, dict) and event.get("source") == "aws.s3":
        shape = f"an EventBridge '{event.get('detail-type', '?')}' event"
    elif isinstance(records, list) and any(
        isinstance(record, dict) and "s3" in record for record in records
    ):
        shape = "an S3 event notification"
    return (
        f"{shape}, sent to the function directly: it reads the ingest queue, so send the "
        "notification as a queue message's body (events/sqs_ingest_drops.json shows one)"
    )


def parse_message(body: str) -> IngestMessage:
    """Parse an ingest queue message body.

    A notification's records are read one by one: one that names no object is kept in
    :attr:`IngestMessage.unreadable` with its reason, and does not hide the others.

    Raises
    ------
    MalformedNotificationError
        When the body is not JSON, or not one of the documented shapes; retrying cannot
        make it readable.
    """
    try:
        document = json.loads(body)
    except ValueError as error:
        raise MalformedNotificationError(f"the body is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise MalformedNotificationError("the body is not a JSON object")
    if document.get("Event") == "s3:TestEvent":
        return IngestMessage(MessageKind.TEST_EVENT)
    if document.get("source") == BACKFILL:
        return IngestMessage(MessageKind.BACKFILL, (_backfill_object(document),))
    if document.get("source") == "aws.s3" and "detail" in document:
        return _eventbridge_message(document)
    records = document.get("Records")
    if not isinstance(records, list) or not records:
        raise MalformedNotificationError("neither an S3 notification nor a backfill request")
    objects: list[MediaObject] = []
    removed: list[RemovedObject] = []
    unreadable: list[UnreadableRecord] = []
    for record in records:
        try:
            if _is_removal(record):
                removed.append(_removed_s3_object(record))
            else:
                objects.append(_s3_object(record))
        except MalformedNotificationError as error:
            unreadable.append(UnreadableRecord(record, str(error)))
    return IngestMessage(MessageKind.DROP, tuple(objects), tuple(unreadable), tuple(removed))


def _is_removal(record: Any) -> bool:
    return isinstance(record, dict) and str(record.get("eventName", "")).startswith(
        "ObjectRemoved:"
    )


def _removed_s3_object(record: dict[str, Any]) -> RemovedObject:
    """Read an ``ObjectRemoved`` record: no size or ETag, only key, version and sequencer."""
    try:
        s3 = record["s3"]
        s3_object = s3["object"]
        return RemovedObject(
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(s3_object["key"])),
            version_id=s3_object.get("versionId") or None,
            sequencer=s3_object.get("sequencer") or None,
            delete_marker=record["eventName"] == "ObjectRemoved:DeleteMarkerCreated",
        )
    except (KeyError, TypeError) as error:
        raise MalformedNotificationError(f"an S3 removal record without {error}") from error


def _eventbridge_message(document: dict[str, Any]) -> IngestMessage:
    detail_type = document.get("detail-type")
    if detail_type == "Object Created":
        return IngestMessage(MessageKind.DROP, (_eventbridge_object(document["detail"]),))
    if detail_type == "Object Deleted":
        return IngestMessage(MessageKind.DROP, removed=(_eventbridge_removal(document["detail"]),))
    raise MalformedNotificationError(
        f"an EventBridge '{detail_type}' event: only Object Created and Object Deleted are read"
    )


def _eventbridge_removal(detail: Any) -> RemovedObject:
    try:
        return RemovedObject(
            bucket=str(detail["bucket"]["name"]),
            key=str(detail["object"]["key"]),
            version_id=detail["object"].get("version-id") or None,
            sequencer=detail["object"].get("sequencer") or None,
            delete_marker=detail.get("deletion-type") == "Delete Marker Created",
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise MalformedNotificationError(f"an EventBridge event without {error}") from error


def _s3_object(record: Any) -> MediaObject:
    if not isinstance(record, dict) or not isinstance(record.get("s3"), dict):
        raise MalformedNotificationError("a record without its 's3' member")
    try:
        return MediaObject.from_s3_record(S3EventRecord(record))
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedNotificationError(f"an S3 record without {error}") from error


def _eventbridge_object(detail: Any) -> MediaObject:
    try:
        return MediaObject(
            bucket=str(detail["bucket"]["name"]),
            key=str(detail["object"]["key"]),
            size=int(detail["object"].get("size", 0)),
            etag=detail["object"].get("etag") or None,
            version_id=detail["object"].get("version-id") or None,
            sequencer=detail["object"].get("sequencer") or None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedNotificationError(f"an EventBridge event without {error}") from error


def _backfill_object(document: dict[str, Any]) -> MediaObject:
    try:
        return MediaObject(
            bucket=str(document["bucket"]),
            key=str(document["key"]),
            size=int(document["size"]),
            # S3's listings quote ETags; its notifications do not.
            etag=str(document["etag"]).strip('"') if document.get("etag") else None,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedNotificationError(f"a backfill request without {error}") from error
