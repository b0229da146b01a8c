"""The face collection: reference faces of people, and finding them in other media."""

from __future__ import annotations

import re
import uuid
from typing import Any

from medialens.images.models import Answer, FaceMatch, IndexedFace
from medialens.images.ports import Catalog, FaceDeleter, ImageRecognizer, ReferenceFaces
from medialens.images.settings import ImageAnalysisSettings
from medialens.shared.errors import RejectedMediaError
from medialens.shared.media import ImageRef
from medialens.shared.observability import MetricUnit, metrics

PERSON_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-:]{1,255}$")
"""Rekognition's pattern for ExternalImageId, which carries the person id (IndexFaces,
https://docs.aws.amazon.com/rekognition/latest/APIReference/API_IndexFaces.html)."""

RELATIVE_PATH_SEGMENTS = frozenset({".", ".."})
"""Match the pattern but name no folder: S3's guide warns that tools read them as relative
paths ("Naming Amazon S3 objects", https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html),
so ``faces/../x.jpg`` would enrol a person that a console or sync shows elsewhere."""

PROBE_PREFIX = "medialens-probe."
"""ExternalImageId prefix of faces indexed only long enough to search for them."""


def is_person_id(text: str) -> bool:
    """Whether ``text`` can name a person.

    Rekognition's ExternalImageId pattern, not a relative path segment, not the probes'
    prefix.
    """
    return (
        PERSON_ID_PATTERN.fullmatch(text) is not None
        and text not in RELATIVE_PATH_SEGMENTS
        and not text.startswith(PROBE_PREFIX)
    )


def person_id_for(key: str, faces_prefix: str) -> str | None:
    """Return the person id of a face-collection drop, or ``None`` for ordinary media.

    ``faces/<person-id>/<file>`` registers a reference face of ``<person-id>``.

    Raises
    ------
    RejectedMediaError
        When the key is under the faces prefix but names no valid person id.
    """
    if not key.startswith(faces_prefix):
        return None
    parts = key[len(faces_prefix) :].split("/")
    if len(parts) < 2 or not parts[0]:
        raise RejectedMediaError(
            "missing_person_id", f"face references go under {faces_prefix}<person-id>/<file>"
        )
    person_id = parts[0]
    if not is_person_id(person_id):
        raise RejectedMediaError(
            "invalid_person_id",
            f"person id {person_id!r} may only use letters, digits, '_', '.', '-' and ':',"
            f" may not be '.' or '..' and may not start with {PROBE_PREFIX!r}",
        )
    return person_id


def forget_reference_faces(
    media_id: str,
    *,
    recognizer: FaceDeleter,
    catalog: ReferenceFaces,
    collection_id: str,
) -> tuple[str, ...]:
    """Take the faces indexed from a reference file out of the collection, and forget them.

    For a new version that is no usable reference, and for a deleted file: either way the
    old version's face must stop matching. Deleting a face twice is harmless, so a retry
    after a failure in between does no wrong.

    Returns
    -------
    tuple[str, ...]
        The face ids deleted (none when the file had none).
    """
    previous = _delete_indexed(media_id, recognizer, catalog, collection_id)
    catalog.forget_reference_faces(media_id)
    if previous:
        metrics.add_metric(name="ReferenceFacesRemoved", unit=MetricUnit.Count, value=len(previous))
    return previous


def index_reference_faces(
    image: ImageRef,
    *,
    media_id: str,
    person_id: str,
    recognizer: ImageRecognizer,
    catalog: Catalog,
    settings: ImageAnalysisSettings,
) -> Answer[tuple[IndexedFace, ...]]:
    """Make the largest face of a reference photo the collection's face for this file.

    Faces indexed earlier from the same media id (an older version, or an attempt
    that failed after indexing) are deleted first, so the collection holds one face
    per reference file however often it is analysed. The new face ids are remembered
    in the catalog right away, before anything else can fail.

    Returns
    -------
    Answer[tuple[IndexedFace, ...]]
        The IndexFaces answer; empty when no face was good enough to index.
    """
    _delete_indexed(media_id, recognizer, catalog, settings.face_collection_id)
    answer = recognizer.index_faces(
        image, collection_id=settings.face_collection_id, external_id=person_id, max_faces=1
    )
    catalog.remember_reference_faces(
        media_id, person_id, tuple(face.face_id for face in answer.found)
    )
    return answer


def _delete_indexed(
    media_id: str, recognizer: FaceDeleter, catalog: ReferenceFaces, collection_id: str
) -> tuple[str, ...]:
    """Delete the faces the catalog remembers indexing from ``media_id``; answer their ids."""
    previous = catalog.reference_faces(media_id)
    if previous:
        recognizer.delete_faces(collection_id=collection_id, face_ids=previous)
    return previous


def search_every_face(
    image: ImageRef, *, recognizer: ImageRecognizer, settings: ImageAnalysisSettings
) -> tuple[tuple[FaceMatch, ...], list[Answer[Any]]]:
    """Find the collection's people among all faces of an image, not just the largest.

    SearchFacesByImage looks at the largest face only. Rekognition's documented way to
    search every face is to index the image's faces, search the collection with each
    face id, and delete them again; that is what this does, under a probe id that
    search results exclude.

    Returns
    -------
    tuple[tuple[FaceMatch, ...], list[Answer[Any]]]
        The best match per person, and every Rekognition answer involved.
    """
    collection = settings.face_collection_id
    probe = recognizer.index_faces(
        image,
        collection_id=collection,
        external_id=f"{PROBE_PREFIX}{uuid.uuid4().hex}",
        max_faces=settings.max_faces_searched,
    )
    searches: list[Answer[tuple[FaceMatch, ...]]] = []
    probe_ids = [face.face_id for face in probe.found]
    try:
        for face_id in probe_ids:
            searches.append(
                recognizer.search_faces(
                    collection_id=collection,
                    face_id=face_id,
                    threshold=settings.face_match_threshold,
                    max_faces=settings.max_face_matches + len(probe_ids),
                )
            )
    finally:
        if probe_ids:
            recognizer.delete_faces(collection_id=collection, face_ids=probe_ids)
    best: dict[str, FaceMatch] = {}
    for search in searches:
        for match in search.found:
            if match.person_id.startswith(PROBE_PREFIX):
                continue
            if match.person_id not in best or best[match.person_id].similarity < match.similarity:
                best[match.person_id] = match
    return tuple(best.values()), [probe, *searches]
