"""Media as it arrives: S3 objects from bucket notifications, or inline image bytes."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from medialens.shared.errors import RejectedMediaError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.s3_event import S3EventRecord

S3_MAX_KEY_BYTES = 1024
"""S3's longest object key, in bytes of UTF-8 ("Naming Amazon S3 objects",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html)."""

MAX_CATALOGUED_KEY_BYTES = 1000
"""Longest key the catalog takes: ``<confidence>#<key>`` must fit DynamoDB's 1,024-byte
sort-key limit ("Service, account, and table quotas in Amazon DynamoDB",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html)."""


def check_key_length(key: str, derived_keys: Iterable[str]) -> None:
    """Reject a key too long to catalogue, or whose derived result keys S3 would refuse.

    Parameters
    ----------
    key : str
        The media object's key.
    derived_keys : Iterable[str]
        Every S3 key the analysis would write for it (result documents, result pages);
        at least one.

    Raises
    ------
    RejectedMediaError
        ``key_too_long``, naming the limit that would be passed.
    """
    size = len(key.encode())
    if size > MAX_CATALOGUED_KEY_BYTES:
        raise RejectedMediaError(
            "key_too_long",
            f"the key is {size} bytes; at most {MAX_CATALOGUED_KEY_BYTES} can be catalogued",
        )
    longest = max((len(derived.encode()), derived) for derived in derived_keys)
    if longest[0] > S3_MAX_KEY_BYTES:
        raise RejectedMediaError(
            "key_too_long",
            f"its results would need a {longest[0]}-byte key (…{longest[1][-40:]}), over "
            f"S3's {S3_MAX_KEY_BYTES}-byte limit: shorten the key by "
            f"{longest[0] - S3_MAX_KEY_BYTES} bytes",
        )


@dataclass(frozen=True, slots=True)
class MediaObject:
    """One S3 object named by a bucket notification.

    Attributes
    ----------
    bucket, key : str
        Where the object lives; ``key`` is already URL-decoded.
    size : int
        Object size in bytes, as the notification reports it.
    etag, version_id : str | None
        Identify the exact content; together with bucket and key they form the
        idempotency key, so a redelivered event is analysed once.
    sequencer : str | None
        S3's ordering token for events on one key (see :func:`sequencer_order`).
    """

    bucket: str
    key: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    sequencer: str | None = None

    @classmethod
    def from_s3_record(cls, record: S3EventRecord) -> MediaObject:
        """Build from one record of an S3 event notification.

        S3 URL-encodes keys in notifications (a space arrives as ``+``); Powertools
        decodes only the first record's key, so each record is decoded here.

        Parameters
        ----------
        record : S3EventRecord
            A record of an ``ObjectCreated`` notification.

        Returns
        -------
        MediaObject
        """
        s3_object = record.s3.get_object
        return cls(
            bucket=record.s3.bucket.name,
            key=unquote_plus(s3_object.key),
            size=s3_object.size,
            etag=s3_object.etag or None,
            version_id=s3_object.version_id or None,
            sequencer=s3_object.get("sequencer") or None,
        )

    @property
    def media_id(self) -> str:
        """Catalog identifier of the object: its key."""
        return self.key


SEQUENCER_WIDTH = 64


@dataclass(frozen=True, slots=True)
class RemovedObject:
    """One S3 object (or version) that an ``ObjectRemoved`` notification says is gone.

    Attributes
    ----------
    bucket, key : str
        Where it was; ``key`` is already URL-decoded.
    version_id : str | None
        The version deleted for good (``ObjectRemoved:Delete``), or the delete marker
        created (``ObjectRemoved:DeleteMarkerCreated``).
    sequencer : str | None
        Orders the events of one key (S3's ``sequencer``).
    delete_marker : bool
        Whether a delete marker was created (the object can still be restored).
    """

    bucket: str
    key: str
    version_id: str | None = None
    sequencer: str | None = None
    delete_marker: bool = False

    @property
    def media_id(self) -> str:
        """Catalog identifier of the object: its key."""
        return self.key


def sequencer_order(sequencer: str) -> str:
    """Put an S3 sequencer in a form that compares correctly as a plain string.

    S3 documents that sequencers of one key compare as hexadecimal strings once the
    shorter is right-padded with zeros; padding every one to a fixed width lets the
    catalog compare them with an ordinary string condition.
    """
    return sequencer.upper().ljust(SEQUENCER_WIDTH, "0")


@dataclass(frozen=True, slots=True)
class InlineImage:
    """Image bytes sent by a caller that has no S3 object.

    Attributes
    ----------
    data : bytes
        The encoded image (JPEG or PNG).
    name : str | None
        Optional caller-chosen label kept in the catalog.
    """

    data: bytes
    name: str | None = None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> InlineImage:
        """Decode ``{"image_base64": ..., "name": ...}`` from a direct invocation.

        Raises
        ------
        RejectedMediaError
            ``bad_request`` when the payload is not an object, lacks ``image_base64``
            or does not hold valid base64.
        """
        if not isinstance(payload, Mapping):
            raise RejectedMediaError("bad_request", "the payload must be a JSON object")
        encoded = payload.get("image_base64")
        if not isinstance(encoded, str) or not encoded:
            raise RejectedMediaError("bad_request", "image_base64 (a base64 string) is required")
        name = payload.get("name")
        if name is not None and not isinstance(name, str):
            raise RejectedMediaError("bad_request", "name must be a string")
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as error:
            raise RejectedMediaError(
                "bad_request", f"image_base64 is not valid base64: {error}"
            ) from error
        return cls(data=data, name=name)

    @property
    def sha256(self) -> str:
        """Hex digest of the bytes; identical uploads share one catalog entry."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def media_id(self) -> str:
        """Catalog identifier of inline media: ``inline/<sha256>``."""
        return f"inline/{self.sha256}"


@dataclass(frozen=True, slots=True)
class S3ImageRef:
    """An image Rekognition reads from S3 itself (the bytes never pass through Lambda)."""

    bucket: str
    key: str
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class BytesImageRef:
    """An image passed to Rekognition as raw bytes (at most 5 MB)."""

    data: bytes


ImageRef = S3ImageRef | BytesImageRef
