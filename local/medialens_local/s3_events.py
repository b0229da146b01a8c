"""Make moto's S3 event notifications carry what S3's do, deletions included.

moto (5.x) sends an event for each put, but without the ``versionId`` and ``sequencer``
that order a key's events, and on a versioned bucket it sends nothing when a delete
marker is created and nothing when one version of several is deleted for good. Every
guarantee about ordering and deletion would be shown against a kinder S3 than AWS's.
S3 documents both ("Event message structure",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
``versionId`` on a versioned bucket, a ``sequencer`` on every event that grows for later
events of a key, and ``ObjectRemoved:Delete`` / ``ObjectRemoved:DeleteMarkerCreated``
for each deletion, whose records carry no ``size`` or ``eTag``.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_SEQUENCE = itertools.count(0x0055AED6DCD9028000)
_SEQUENCE_LOCK = threading.Lock()
_QUIET = threading.local()


def _next_sequencer() -> str:
    with _SEQUENCE_LOCK:
        return f"{next(_SEQUENCE):018X}"


def s3_events_as_aws_sends_them() -> None:
    """Patch moto's notifications and versioned deletes once per process."""
    from moto.s3 import notifications
    from moto.s3.models import FakeDeleteMarker, S3Backend

    if getattr(notifications, "_as_aws_sends_them", False):
        return
    describe, send = notifications._get_s3_event, notifications.send_event
    event_types = notifications.S3NotificationEvent
    delete_object = S3Backend.delete_object

    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        removal = event_name.startswith("s3:ObjectRemoved")
        named = key
        while isinstance(named, FakeDeleteMarker):  # a marker names no data: its key does
            named = named.key
        event = describe(event_name, bucket, named, notification_id)
        s3_object = event["Records"][0]["s3"]["object"]
        if removal:
            s3_object.pop("size", None)
            s3_object.pop("eTag", None)
        if bucket.is_versioned and getattr(key, "version_id", None):
            s3_object["versionId"] = key.version_id
        s3_object["sequencer"] = key._medialens_sequencer
        return event

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if getattr(_QUIET, "on", False):
            return
        if key is not None and not hasattr(key, "_medialens_sequencer"):
            key._medialens_sequencer = _next_sequencer()
        send(account_id, event_name, bucket, key)

    def versioned_delete_object(
        self: S3Backend,
        bucket_name: str,
        key_name: str,
        version_id: str | None = None,
        bypass: bool = False,
    ) -> Any:
        bucket = self.get_bucket(bucket_name)
        if not bucket.is_versioned:
            if key_name in bucket.keys:
                bucket.keys[key_name]._medialens_sequencer = _next_sequencer()
            return delete_object(self, bucket_name, key_name, version_id, bypass)
        before = list(bucket.keys.getlist(key_name, []))
        deleted = next((k for k in before if str(k.version_id) == str(version_id)), None)
        _QUIET.on = True
        try:
            result = delete_object(self, bucket_name, key_name, version_id, bypass)
        finally:
            _QUIET.on = False
        if not result[0]:
            return result
        if version_id is None:
            marker = bucket.keys.getlist(key_name)[-1]
            marker._medialens_sequencer = _next_sequencer()
            send_event(
                self.account_id,
                event_types.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT,
                bucket,
                marker,
            )
        elif deleted is not None:
            deleted._medialens_sequencer = _next_sequencer()
            send_event(self.account_id, event_types.OBJECT_REMOVED_DELETE_EVENT, bucket, deleted)
        return result

    notifications._get_s3_event = get_s3_event
    notifications.send_event = send_event
    S3Backend.delete_object = versioned_delete_object  # type: ignore[method-assign]
    setattr(notifications, "_as_aws_sends_them", True)  # noqa: B010 - moto declares no such flag
