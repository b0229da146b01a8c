"""S3: the leading bytes of dropped media, the JSON results, and workflow artifacts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from medialens.shared.aws import s3_client
from medialens.shared.errors import SupersededError
from medialens.shared.media import MediaObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

GONE_ERRORS = {"NoSuchKey", "NoSuchVersion", "404"}
DENIED_ERRORS = {"AccessDenied", "403"}

MAX_KEYS_PER_DELETE = 1000
"""DeleteObjects takes at most 1,000 keys per request
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html)."""


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
        """Read the first ``length`` bytes of the object, if the version named is current.

        The current version is read (a ranged GET without a version id) and its version
        compared with the event's: S3 does not deliver events in order, and a late event
        for a version that was replaced or deleted since must not be catalogued, however
        late it comes. One request, as reading the named version would be.

        Raises
        ------
        SupersededError
            ``superseded`` when another version is current; ``object_gone`` when the
            object was deleted (its removal event updates the catalog).
        """
        try:
            response = self._client.get_object(
                Bucket=media.bucket, Key=media.key, Range=f"bytes=0-{length - 1}"
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            # Without s3:ListBucket on the whole bucket, S3 answers a missing key with 403
            # (GetObject, https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
            gone = code in GONE_ERRORS or (
                code in DENIED_ERRORS and self.current_object(media.bucket, media.key) is None
            )
            if gone:
                raise SupersededError(
                    f"{media.key} was deleted before it could be analysed", "object_gone"
                ) from error
            raise
        current = response.get("VersionId")
        if media.version_id and current and current != media.version_id:
            response["Body"].close()
            raise SupersededError(f"{media.key} has a newer version than {media.version_id}")
        body: bytes = response["Body"].read()
        return body

    def current_object(self, bucket: str, key: str) -> MediaObject | None:
        """Describe the key's current version; ``None`` when it was deleted.

        Read from a listing of the key's versions, not HeadObject: a missing key's
        HeadObject answers 403 unless the caller may list the whole bucket, and a listing
        can be granted for the watched prefixes alone (``s3:prefix``). The key sorts
        before every longer key it prefixes, so its newest version or delete marker comes
        first.
        """
        listed = self._client.list_object_versions(Bucket=bucket, Prefix=key, MaxKeys=2)
        for marker in listed.get("DeleteMarkers", []):
            if marker["Key"] == key and marker.get("IsLatest"):
                return None
        for version in listed.get("Versions", []):
            if version["Key"] == key and version.get("IsLatest"):
                version_id = version.get("VersionId")
                return MediaObject(
                    bucket=bucket,
                    key=key,
                    size=int(version.get("Size", 0)),
                    etag=str(version.get("ETag", "")).strip('"') or None,
                    version_id=None if version_id in (None, "null") else version_id,
                )
        return None

    def purge(self, bucket: str, keys: Iterable[str], prefixes: Iterable[str]) -> int:
        """Delete every version (and delete marker) of ``keys`` and of keys under ``prefixes``.

        Returns
        -------
        int
            How many versions were deleted.
        """
        exact, under = set(keys), tuple(prefixes)
        return self._delete_versions(
            bucket,
            {*exact, *under},
            lambda entry: entry["Key"] in exact or entry["Key"].startswith(under),
        )

    def listed_keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key with a version or a delete marker under ``prefix``, each once."""
        return list(dict.fromkeys(entry["Key"] for entry in self._versions(bucket, prefix)))

    def purge_older_versions(self, bucket: str, key: str) -> int:
        """Delete every version of ``key`` but the current one; return how many went."""
        return self._delete_versions(
            bucket, {key}, lambda entry: entry["Key"] == key and not entry.get("IsLatest")
        )

    def _delete_versions(
        self, bucket: str, prefixes: set[str], chosen: Callable[[Mapping[str, Any]], bool]
    ) -> int:
        doomed: dict[tuple[str, str], ObjectIdentifierTypeDef] = {}
        for prefix in prefixes:
            for entry in self._versions(bucket, prefix):
                if chosen(entry):
                    doomed[(entry["Key"], entry["VersionId"])] = {
                        "Key": entry["Key"],
                        "VersionId": entry["VersionId"],
                    }
        batch_all = list(doomed.values())
        for start in range(0, len(batch_all), MAX_KEYS_PER_DELETE):
            batch = batch_all[start : start + MAX_KEYS_PER_DELETE]
            answer = self._client.delete_objects(
                Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(
                    f"S3 kept {len(answer['Errors'])} of {len(batch)} versions; first "
                    f"{first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
        return len(batch_all)

    def _versions(self, bucket: str, prefix: str) -> Iterator[Mapping[str, Any]]:
        """Every version and delete marker under ``prefix``, page after page."""
        paginator = self._client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            yield from page.get("Versions", [])
            yield from page.get("DeleteMarkers", [])

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        """Write ``document`` as UTF-8 JSON (the bucket's default encryption applies)."""
        self._client.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(),
            ContentType="application/json",
        )

    def get_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """Read a JSON document; ``None`` when there is none."""
        try:
            response = self._client.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in GONE_ERRORS:
                return None
            raise
        document: dict[str, Any] = json.loads(response["Body"].read())
        return document

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
