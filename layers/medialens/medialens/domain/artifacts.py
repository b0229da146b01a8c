"""Files the workflows run from S3 (the Spark job), published under content-addressed keys.

A key carries the first 16 hex digits of the file's SHA-256: a deploy that changes the
job writes a new object and repoints the state machine. Published objects are never
deleted, so an execution started before a deploy (still waiting for its cluster) reads
the script it started with, and a rolled-back deploy points at its own again.
"""

from __future__ import annotations

import hashlib

from medialens.domain.suggester import ObjectWriter


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
