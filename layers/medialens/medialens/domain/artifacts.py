"""Files the workflows run from S3 (the Spark job), published under content-addressed keys.

A key carries the first 16 hex digits of the file's SHA-256: a deploy that changes the
job writes a new object and repoints the state machine, so a run already on EMR keeps
reading the script it started with, and a rolled-back deploy points at its own again.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from medialens.domain.suggester import ObjectWriter
from medialens.domain.transform_check import split_s3_uri


class ObjectRemover(Protocol):
    """Deletes objects."""

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``key``; no error when it is already gone."""
        ...


def artifact_key(prefix: str, name: str, body: bytes) -> str:
    """``<prefix><stem>-<sha256[:16]><suffix>`` for ``name`` holding ``body``."""
    stem, dot, suffix = name.rpartition(".")
    digest = hashlib.sha256(body).hexdigest()[:16]
    base = f"{stem}-{digest}.{suffix}" if dot else f"{name}-{digest}"
    return f"{prefix}{base}"


def publish_artifact(
    body: bytes, *, name: str, bucket: str, prefix: str, writer: ObjectWriter
) -> str:
    """Store ``body`` under its content-addressed key; return its ``s3://`` URI.

    Raises
    ------
    ValueError
        For an empty body or a prefix that is not a folder (``jobs/``).
    """
    if not body:
        raise ValueError(f"{name} is empty: nothing to publish")
    if prefix and not prefix.endswith("/"):
        raise ValueError(f"prefix {prefix!r} must end with '/'")
    key = artifact_key(prefix, name, body)
    writer.put(
        bucket, key, body, "text/x-python" if name.endswith(".py") else "binary/octet-stream"
    )
    return f"s3://{bucket}/{key}"


def remove_artifact(uri: str, *, bucket: str, prefix: str, remover: ObjectRemover) -> bool:
    """Delete a published artifact; ``False`` (nothing done) for anything it did not publish.

    CloudFormation hands back whatever physical id it holds, including one from a failed
    create; only an ``s3://`` URI in ``bucket`` under ``prefix`` is deleted.
    """
    try:
        uri_bucket, key = split_s3_uri(uri)
    except ValueError:
        return False
    if uri_bucket != bucket or not key.startswith(prefix) or key == prefix:
        return False
    remover.delete(bucket, key)
    return True
