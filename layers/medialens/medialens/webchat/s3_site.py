"""The page's bucket in S3 (the only boto3 user of the web chat)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import boto3

from medialens.webchat.site import PageFile

DELETE_BATCH = 1000
"""Most keys one DeleteObjects call takes (S3 API reference, DeleteObjects)."""


class S3SiteStore:
    """A :class:`~medialens.webchat.site.SiteStore` over one bucket."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")

    def put(self, file: PageFile, *, cache_control: str) -> None:
        """Write one file with its content type and cache lifetime."""
        self._client.put_object(
            Bucket=self._bucket,
            Key=file.key,
            Body=file.body,
            ContentType=file.content_type,
            CacheControl=cache_control,
        )

    def keys(self) -> list[str]:
        """List every key in the bucket."""
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self._bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def delete(self, keys: Iterable[str]) -> None:
        """Delete these keys, a thousand per call."""
        batch = list(keys)
        for start in range(0, len(batch), DELETE_BATCH):
            objects: list[Any] = [{"Key": key} for key in batch[start : start + DELETE_BATCH]]
            self._client.delete_objects(
                Bucket=self._bucket, Delete={"Objects": objects, "Quiet": True}
            )
