"""Erasure of a person: everything the library holds about one person id goes.

Right to erasure (GDPR article 17) and biometric-retention statutes ask that a person's
biometric data goes when its reason goes. For a person id this removes, in an order that
stops new matches first:

1. every version of every reference photo under ``faces/<person-id>/``, with the photos'
   catalog entries, results and faces;
2. every face of the collection indexed under the person id (a sweep of the collection,
   so faces no catalog entry remembers go too);
3. the person's term on every image and video, and the person's matches inside their
   result documents (image results and video face-search pages), whose older versions
   are deleted too.

An audit record says what was erased and when; it keeps a digest of the person id, not
the id itself. Every step is safe to repeat: a second run finds nothing and says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from medialens.images.faces import is_person_id
from medialens.images.ports import FaceDeleter
from medialens.lifecycle.removal import EntryCatalog, ResultPurger, result_keys, take_out
from medialens.lifecycle.settings import ErasureSettings
from medialens.shared.errors import MedialensError
from medialens.shared.observability import MetricUnit, logger, metrics

PERSON_TERM = "PERSON"
AUDIT_PK = "AUDIT#ERASURE"


class InvalidPersonIdError(MedialensError):
    """The id names no person the stack could have enrolled."""


class ErasureCatalog(EntryCatalog, Protocol):
    """What an erasure reads and deletes in the catalog."""

    def media_with_term(self, kind: str, value: str) -> list[str]:
        """Every media id findable by a term."""
        ...

    def delete_term(self, media_id: str, kind: str, value: str) -> None:
        """Make a media item unfindable by one term."""
        ...

    def record_audit(self, item: dict[str, Any]) -> None:
        """Keep an audit record."""
        ...


class ErasureStore(ResultPurger, Protocol):
    """What an erasure does in S3."""

    def listed_keys(self, bucket: str, prefix: str) -> list[str]:
        """Every key with a version (or delete marker) under ``prefix``."""
        ...

    def get_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        """Read a JSON document; ``None`` when there is none."""
        ...

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        """Write a JSON document."""
        ...

    def purge_older_versions(self, bucket: str, key: str) -> int:
        """Delete every version of ``key`` but the current one."""
        ...


class CollectionFaces(FaceDeleter, Protocol):
    """The face collection, searched by the id faces were indexed under."""

    def faces_of(self, *, collection_id: str, external_id: str) -> list[str]:
        """Face ids indexed under ``external_id``."""
        ...


@dataclass(frozen=True, slots=True)
class ErasurePorts:
    """The adapters an erasure talks to."""

    catalog: ErasureCatalog
    store: ErasureStore
    faces: CollectionFaces


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What one erasure removed."""

    person_digest: str
    erased_at: str
    reference_files: int
    reference_versions: int
    faces: int
    media_untagged: int
    result_documents: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (also the audit record's attributes)."""
        return {
            "person_digest": self.person_digest,
            "erased_at": self.erased_at,
            "reference_files": self.reference_files,
            "reference_versions": self.reference_versions,
            "faces": self.faces,
            "media_untagged": self.media_untagged,
            "result_documents": self.result_documents,
        }


def person_digest(person_id: str) -> str:
    """SHA-256 of the person id: the audit can show an id was erased without holding it."""
    return hashlib.sha256(person_id.encode()).hexdigest()


def check_person_id(person_id: str) -> None:
    """Refuse an id that no reference photo could carry (and that could widen a prefix).

    Raises
    ------
    InvalidPersonIdError
    """
    if not is_person_id(person_id):
        raise InvalidPersonIdError(f"{person_id!r} is not a person id")


def forget_person(
    person_id: str,
    *,
    ports: ErasurePorts,
    settings: ErasureSettings,
    now: Callable[[], str],
) -> ErasureReport:
    """Erase everything about ``person_id``; see the module docstring for the order.

    Parameters
    ----------
    person_id : str
    ports : ErasurePorts
    settings : ErasureSettings
        The bucket, its prefixes and the face collection.
    now : Callable[[], str]
        ISO-8601 timestamp source.

    Returns
    -------
    ErasureReport

    Raises
    ------
    InvalidPersonIdError
        Before anything is deleted.
    """
    check_person_id(person_id)
    folder = f"{settings.faces_prefix}{person_id}/"
    references = set(ports.store.listed_keys(settings.media_bucket, folder))
    versions = ports.store.purge(settings.media_bucket, [], [folder])
    faces = 0
    for key in sorted(references):
        faces += _forget_reference(key, ports, settings)
    leftover = ports.faces.faces_of(
        collection_id=settings.face_collection_id, external_id=person_id
    )
    if leftover:
        ports.faces.delete_faces(collection_id=settings.face_collection_id, face_ids=leftover)
    # Read once the faces are gone: no analysis can tag the person any more.
    tagged: list[str] = []
    documents = 0
    for media_id in ports.catalog.media_with_term(PERSON_TERM, person_id):
        if media_id.startswith(folder):  # a reference the bucket no longer lists
            if media_id not in references:
                references.add(media_id)
                faces += _forget_reference(media_id, ports, settings)
            continue
        documents += _scrub_results(media_id, person_id, ports.store, settings)
        ports.catalog.delete_term(media_id, PERSON_TERM, person_id)
        tagged.append(media_id)
    report = ErasureReport(
        person_digest=person_digest(person_id),
        erased_at=now(),
        reference_files=len(references),
        reference_versions=versions,
        faces=faces + len(leftover),
        media_untagged=len(tagged),
        result_documents=documents,
    )
    ports.catalog.record_audit(
        {"pk": AUDIT_PK, "sk": f"{report.erased_at}#{report.person_digest}", **report.to_dict()}
    )
    logger.info("Person erased", **report.to_dict())
    metrics.add_metric(name="PersonErased", unit=MetricUnit.Count, value=1)
    return report


def _forget_reference(key: str, ports: ErasurePorts, settings: ErasureSettings) -> int:
    """Take a reference photo's entry, faces and results out; answer how many faces went."""
    taken = take_out(
        key,
        sequencer=None,
        reference=True,
        catalog=ports.catalog,
        store=ports.store,
        faces=ports.faces,
        collection_id=settings.face_collection_id,
        results_bucket=settings.media_bucket,
        results_prefix=settings.results_prefix,
    )
    return len(taken.faces)


def _scrub_results(
    media_id: str, person_id: str, store: ErasureStore, settings: ErasureSettings
) -> int:
    """Take the person's matches out of a media item's result documents; count those changed."""
    (document_key,), (pages_prefix,) = result_keys(media_id, settings.results_prefix)
    keys = [document_key, *store.listed_keys(settings.media_bucket, pages_prefix)]
    changed = 0
    for key in keys:
        document = store.get_json(settings.media_bucket, key)
        if document is None:
            continue
        scrubbed = without_person(document, person_id)
        if scrubbed != document:
            store.put_json(settings.media_bucket, key, scrubbed)
            changed += 1
        store.purge_older_versions(settings.media_bucket, key)
    return changed


def without_person(value: Any, person_id: str) -> Any:
    """Copy a result document, leaving out anything that names ``person_id``.

    Image results name the person as ``person_id`` (face matches, indexed faces), in
    ``persons``, and as ``ExternalImageId`` inside Rekognition's raw answers; video
    face-search pages as ``ExternalImageId`` of each match. A list drops every entry
    that names the person; everything else is kept.
    """
    if isinstance(value, dict):
        return {key: without_person(item, person_id) for key, item in value.items()}
    if isinstance(value, list):
        return [without_person(item, person_id) for item in value if not _names(item, person_id)]
    return value


def _names(item: Any, person_id: str) -> bool:
    if item == person_id:
        return True
    if not isinstance(item, dict):
        return False
    if item.get("person_id") == person_id or item.get("ExternalImageId") == person_id:
        return True
    face = item.get("Face")
    return isinstance(face, dict) and face.get("ExternalImageId") == person_id
