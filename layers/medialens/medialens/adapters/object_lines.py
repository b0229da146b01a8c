"""S3 objects read as lines, streaming: Batch Transform inputs and their ``.out`` files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from medialens.adapters.aws import s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3ObjectLines:
    """Lists keys under a prefix and streams an object's lines.

    Parameters
    ----------
    client : S3Client, optional
        Injected client; the shared retrying client otherwise.
    """

    def __init__(self, client: S3Client | None = None) -> None:
        self._client = client or s3_client()

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``, in S3's (lexicographic) order."""
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"]

    def lines(self, bucket: str, key: str) -> Iterator[str] | None:
        """Stream the object's lines; ``None`` when it does not exist."""
        try:
            body = self._client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        return (line.decode("utf-8") for line in body.iter_lines())
