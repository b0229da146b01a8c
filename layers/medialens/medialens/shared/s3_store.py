"""S3: the leading bytes of dropped media, the JSON results, and workflow artifacts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from medialens.shared.aws import s3_client
from medialens.shared.errors import RejectedMediaError
from medialens.shared.media import MediaObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

GONE_ERRORS = {"NoSuchKey", "NoSuchVersion", "404"}


class S3MediaStore:
    """Reads object heads and writes result documents.

    Parameters
    ----------
    client : S3Client, optional
        Injected client; the shared retrying client otherwise.
    """

    def __init__(self, client: S3Client | None = None) -> None:
        self._client = client or s3_client()

    def read_head(self, media: MediaObject, length: int) -> bytes:
        """Read the first ``length`` bytes of the exact object version (a ranged GET).

        Raises
        ------
        RejectedMediaError
            ``object_gone`` when the object or version was deleted before analysis.
        """
        params: dict[str, Any] = {
            "Bucket": media.bucket,
            "Key": media.key,
            "Range": f"bytes=0-{length - 1}",
        }
        if media.version_id:
            params["VersionId"] = media.version_id
        try:
            response = self._client.get_object(**params)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in GONE_ERRORS:
                raise RejectedMediaError(
                    "object_gone", "the object was deleted before it could be analysed"
                ) from error
            raise
        body: bytes = response["Body"].read()
        return body

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        """Write ``document`` as UTF-8 JSON (the bucket's default encryption applies)."""
        self._client.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
            ContentType="application/json",
        )

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        """Write ``body`` as one object (a model archive, a job script)."""
        self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def get_if_present(self, bucket: str, key: str) -> bytes | None:
        """Read an object, or ``None`` when there is none under ``key``.

        Listed first: without ``s3:ListBucket`` S3 answers a missing key's GetObject with
        403, indistinguishable from a real denial; a listing scoped to the key's prefix
        tells the two apart.
        """
        listed = self._client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        if not any(entry["Key"] == key for entry in listed.get("Contents", [])):
            return None
        body: bytes = self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body
