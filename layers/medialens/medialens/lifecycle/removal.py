"""A deleted object leaves the catalog: its entry, search terms, results and reference faces.

S3 says what was deleted (``ObjectRemoved``), but not in order and not once; S3 itself
says what is current. So a removal first asks the catalog whether a later event is
recorded (a re-upload wins), then asks S3 which version is current now:

- none (a delete marker, or nothing): the entry, its terms, its results (every version)
  and, for a reference photo, its faces in the collection go;
- the version the catalog holds: an older version was deleted; nothing changes;
- another one (the current version was deleted for good, or a delete marker was removed
  to restore the object): that version is catalogued instead, as a drop would be.

Every step is safe to repeat, so a retry after a failure finishes the job, and a
redelivery of a finished one is counted as ignored (``not_catalogued``), not removed
twice. A video's jobs still running at Rekognition cannot be stopped (there is no Stop
operation for stored-video analyses); with the entry gone they are treated as
superseded, so their results are never written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from medialens.catalog.writer import EntryRemoval
from medialens.images.analyze import ignore_reason
from medialens.images.faces import forget_reference_faces
from medialens.images.ports import FaceDeleter, ReferenceFaces
from medialens.images.settings import ImageAnalysisSettings
from medialens.shared.media import MediaObject, RemovedObject, sequencer_order
from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.shared.outcome import AnalysisOutcome, OutcomeStatus


class EntryCatalog(ReferenceFaces, Protocol):
    """What taking a media item out deletes in the catalog."""

    def remove_entry(self, media_id: str, *, sequencer: str | None) -> EntryRemoval:
        """Delete the entry and its terms unless a later event is recorded."""
        ...


class RemovalCatalog(EntryCatalog, Protocol):
    """What a removal reads and deletes in the catalog."""

    def recorded_sequencer(self, media_id: str) -> str | None:
        """Return the S3 sequencer (in order form) recorded for ``media_id``, if any."""
        ...

    def current_version(self, media_id: str) -> str | None:
        """Return the entry's version id (``""`` without one); ``None`` without an entry."""
        ...


class ResultPurger(Protocol):
    """Deletes derived objects with every version."""

    def purge(self, bucket: str, keys: Iterable[str], prefixes: Iterable[str]) -> int:
        """Delete every version of ``keys`` and of the keys under ``prefixes``."""
        ...


class RemovalStore(ResultPurger, Protocol):
    """What a removal asks of S3."""

    def current_object(self, bucket: str, key: str) -> MediaObject | None:
        """Describe the key's current version; ``None`` when it was deleted."""
        ...


@dataclass(frozen=True, slots=True)
class TakenOut:
    """What :func:`take_out` deleted."""

    entry: EntryRemoval
    faces: tuple[str, ...] = ()
    result_versions: int = 0


def take_out(
    media_id: str,
    *,
    sequencer: str | None,
    reference: bool,
    catalog: EntryCatalog,
    store: ResultPurger,
    faces: FaceDeleter,
    collection_id: str,
    results_bucket: str,
    results_prefix: str,
) -> TakenOut:
    """Delete a media item's entry and terms, then its reference faces and every result version.

    Nothing is deleted when a later event than ``sequencer`` is recorded (``superseded``).
    Shared by a removal and by the erasure of a person's reference photos.
    """
    entry = catalog.remove_entry(media_id, sequencer=sequencer)
    if entry == "superseded":
        return TakenOut(entry)
    deleted: tuple[str, ...] = ()
    if reference:
        deleted = forget_reference_faces(
            media_id, recognizer=faces, catalog=catalog, collection_id=collection_id
        )
    keys, prefixes = result_keys(media_id, results_prefix)
    return TakenOut(entry, deleted, store.purge(results_bucket, keys, prefixes))


@dataclass(frozen=True, slots=True)
class RemovalPorts:
    """The adapters a removal talks to, and the analysis that catalogues a restored version."""

    catalog: RemovalCatalog
    store: RemovalStore
    faces: FaceDeleter
    analyze: Callable[[MediaObject], AnalysisOutcome]


def result_keys(key: str, results_prefix: str) -> tuple[list[str], list[str]]:
    """Keys and prefixes of what the analysis derived from ``key`` under ``results/``.

    Returns
    -------
    tuple[list[str], list[str]]
        The image's result document, and the prefix of a video's result pages.
    """
    return [f"{results_prefix}{key}.json"], [f"{results_prefix}{key}/"]


def remove_media(
    removed: RemovedObject, *, ports: RemovalPorts, settings: ImageAnalysisSettings
) -> AnalysisOutcome:
    """Take a deleted object out of the catalog, or catalogue what is current instead.

    Parameters
    ----------
    removed : RemovedObject
        What the ``ObjectRemoved`` notification names.
    ports : RemovalPorts
    settings : ImageAnalysisSettings
        Prefixes, the results location and the face collection.

    Returns
    -------
    AnalysisOutcome
        ``removed``; ``ignored`` (outside the watched prefixes, superseded by a later
        event, or an older version deleted); or the analysis of the version now current.
    """
    media_id = removed.media_id
    probe = MediaObject(bucket=removed.bucket, key=removed.key, size=1)
    reason = ignore_reason(probe, settings)
    sequencer = sequencer_order(removed.sequencer) if removed.sequencer else None
    if reason is None and sequencer is not None:
        recorded = ports.catalog.recorded_sequencer(media_id)
        if recorded is not None and recorded > sequencer:
            reason = "superseded"
    if reason is not None:
        return _ignored(media_id, reason)
    current = ports.store.current_object(removed.bucket, removed.key)
    if current is not None:
        catalogued = ports.catalog.current_version(media_id)
        if catalogued is not None and (current.version_id or "") == catalogued:
            return _ignored(media_id, "older_version_removed")
        logger.info("Deleted version was the catalogued one; cataloguing the current one")
        metrics.add_metric(name="MediaRestoredVersion", unit=MetricUnit.Count, value=1)
        return ports.analyze(_as_of(current, removed))
    taken = take_out(
        media_id,
        sequencer=sequencer,
        reference=removed.key.startswith(settings.faces_prefix),
        catalog=ports.catalog,
        store=ports.store,
        faces=ports.faces,
        collection_id=settings.face_collection_id,
        results_bucket=settings.results_bucket,
        results_prefix=settings.results_prefix,
    )
    if taken.entry == "superseded":
        return _ignored(media_id, "superseded")
    faces, purged = taken.faces, taken.result_versions
    if taken.entry == "absent" and not faces and not purged:
        return _ignored(media_id, "not_catalogued")
    logger.info(
        "Media removed",
        media_id=media_id,
        result_versions_deleted=purged,
        faces_deleted=len(faces),
        delete_marker=removed.delete_marker,
    )
    metrics.add_metric(name="MediaRemoved", unit=MetricUnit.Count, value=1)
    return AnalysisOutcome(
        media_id=media_id,
        status=OutcomeStatus.REMOVED,
        detail=f"{purged} result versions and {len(faces)} faces deleted",
    )


def _as_of(current: MediaObject, removed: RemovedObject) -> MediaObject:
    """Order the current version as of the removal that revealed it.

    With the removal's sequencer its entry loses to any later event of the key, and its
    analysis is not mistaken for an earlier one of the same version (the idempotency
    key holds the sequencer).
    """
    return MediaObject(
        bucket=current.bucket,
        key=current.key,
        size=current.size,
        etag=current.etag,
        version_id=current.version_id,
        sequencer=removed.sequencer,
    )


def _ignored(media_id: str, reason: str) -> AnalysisOutcome:
    logger.info("Removal ignored", key=media_id, reason=reason)
    metrics.add_metric(name="RemovalIgnored", unit=MetricUnit.Count, value=1)
    return AnalysisOutcome(media_id=media_id, status=OutcomeStatus.IGNORED, reason=reason)
