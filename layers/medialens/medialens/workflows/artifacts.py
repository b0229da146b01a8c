"""Files the workflows read from S3, published at deploy time.

The EMR workflow's job script, bootstrap script and requirements go under
content-addressed keys: a key carries the first 16 hex digits of the file's SHA-256, so
a deploy that changes a file writes a new object and repoints the state machine.
Published objects are never deleted, so an execution started before a deploy (still
waiting for its cluster) reads the files it started with, and a rolled-back deploy points
at its own again.

The TLS certificates for EMR's in-transit encryption are the exception: they go under
one fixed key, which the security configuration names, and are kept from deploy to deploy
until they near expiry (:func:`medialens.workflows.tls.current_or_new`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

from medialens.workflows.suggester import ObjectWriter
from medialens.workflows.tls import current_or_new

TLS_ARCHIVE = "certificates.zip"
CONTENT_TYPES = {
    ".py": "text/x-python",
    ".sh": "text/x-shellscript",
    ".txt": "text/plain",
    ".zip": "application/zip",
}


class ObjectReader(Protocol):
    """Reads an object that may not exist."""

    def get_if_present(self, bucket: str, key: str) -> bytes | None:
        """Return the object's bytes, or ``None`` when there is none."""
        ...


@dataclass(frozen=True)
class Artifact:
    """A file to publish: its name (which its key keeps) and its bytes."""

    name: str
    body: bytes


@dataclass(frozen=True)
class ArtifactTarget:
    """Where the files go: the custom resource's ``Bucket``, ``Prefix`` and ``TlsPrefix``."""

    bucket: str
    prefix: str
    tls_prefix: str

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> ArtifactTarget:
        """Read a CloudFormation custom resource's ``ResourceProperties``.

        Raises
        ------
        ValueError
            For a missing or empty property, or a prefix that is not a folder.
        """
        bucket, prefix, tls_prefix = (
            _required(properties, name) for name in ("Bucket", "Prefix", "TlsPrefix")
        )
        return cls(bucket, _folder(prefix), _folder(tls_prefix))


@dataclass(frozen=True)
class PublishedArtifacts:
    """The ``s3://`` URIs of what was published, and when the TLS certificate expires."""

    job_script_uri: str
    bootstrap_script_uri: str
    requirements_uri: str
    tls_certificates_uri: str
    tls_certificates_expire: datetime
    tls_certificates_renewed: bool

    def attributes(self) -> dict[str, str]:
        """Return the custom resource's attributes, as the template reads them with GetAtt."""
        return {
            "JobScriptUri": self.job_script_uri,
            "BootstrapScriptUri": self.bootstrap_script_uri,
            "RequirementsUri": self.requirements_uri,
            "TlsCertificatesUri": self.tls_certificates_uri,
            "TlsCertificatesExpire": self.tls_certificates_expire.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def content_type(name: str) -> str:
    """Return the ``Content-Type`` for a file called ``name`` (by its suffix)."""
    return CONTENT_TYPES.get(PurePosixPath(name).suffix, "binary/octet-stream")


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
    key = artifact_key(_folder(prefix), name, body)
    writer.put(bucket, key, body, content_type(name))
    return f"s3://{bucket}/{key}"


def publish_workflow_artifacts(
    *,
    job_script: Artifact,
    bootstrap_script: Artifact,
    requirements: Artifact,
    target: ArtifactTarget,
    region: str,
    now: datetime,
    writer: ObjectWriter,
    reader: ObjectReader,
) -> PublishedArtifacts:
    """Publish the EMR workflow's files, and TLS certificates for its clusters if due.

    Parameters
    ----------
    job_script, bootstrap_script, requirements : Artifact
        Published under ``target.prefix``, each under its content's key.
    target : ArtifactTarget
        The bucket and the two prefixes.
    region : str
        The clusters' Region: the certificate names its internal DNS wildcard.
    now : datetime
        Timezone-aware; the certificate is valid from (about) then.
    writer : ObjectWriter
        Where the objects are written.
    reader : ObjectReader
        Where the certificates in place are read from.

    Returns
    -------
    PublishedArtifacts
        The URIs, the certificates' at ``<tls_prefix>certificates.zip`` (kept, or
        renewed when due), and the certificate's expiry.

    Raises
    ------
    ValueError
        For an empty file, a prefix that is not a folder, or a bad Region name.
    """

    def publish(artifact: Artifact) -> str:
        return publish_artifact(
            artifact.body,
            name=artifact.name,
            bucket=target.bucket,
            prefix=target.prefix,
            writer=writer,
        )

    key = f"{_folder(target.tls_prefix)}{TLS_ARCHIVE}"
    certificates, renewed = current_or_new(reader.get_if_present(target.bucket, key), region, now)
    job_script_uri, bootstrap_script_uri, requirements_uri = (
        publish(artifact) for artifact in (job_script, bootstrap_script, requirements)
    )
    if renewed:
        writer.put(target.bucket, key, certificates.archive, content_type(TLS_ARCHIVE))
    return PublishedArtifacts(
        job_script_uri=job_script_uri,
        bootstrap_script_uri=bootstrap_script_uri,
        requirements_uri=requirements_uri,
        tls_certificates_uri=f"s3://{target.bucket}/{key}",
        tls_certificates_expire=certificates.expires,
        tls_certificates_renewed=renewed,
    )


def _required(properties: Mapping[str, Any], name: str) -> str:
    value = properties.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the resource property {name} is missing or empty")
    return value


def _folder(prefix: str) -> str:
    if prefix and not prefix.endswith("/"):
        raise ValueError(f"prefix {prefix!r} must end with '/'")
    return prefix
