"""The catalog: one DynamoDB table, keyed for the chatbot's questions.

Access patterns (see docs/catalog.md):

==============================  =======================================================
question                        key condition
==============================  =======================================================
media item by key / status      ``pk = MEDIA#<media_id>, sk = META``
reference faces of a file       ``pk = MEDIA#<media_id>, sk = REFERENCE_FACES``
everything about a media item   ``pk = MEDIA#<media_id>``
media by label                  index ``ByTerm``: ``gsi1pk = LABEL#<label>``
media by detected word          index ``ByTerm``: ``gsi1pk = WORD#<word>``
media by person                 index ``ByTerm``: ``gsi1pk = PERSON#<person_id>``
media by moderation label       index ``ByTerm``: ``gsi1pk = MODERATION#<label>``
media by file name              index ``ByTerm``: ``gsi1pk = NAME#<file name>``
flagged media, newest first     index ``Flagged``: ``gsi2pk = FLAGGED``
==============================  =======================================================

``ByTerm`` sort keys are ``<confidence 000.000>#<media_id>``, so a query in descending
order gives the most confident matches first; a file name's sort key is
``<analysed_at>#<media_id>``, newest first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from medialens.catalog.keys import (
    FLAGGED,
    MAX_SORT_KEY_BYTES,
    META,
    REFERENCE_FACES,
    file_name,
    media_pk,
    term_key,
)
from medialens.catalog.location import CatalogLocation
from medialens.catalog.terms import normalize_word
from medialens.images.models import ImageAnalysis, TextKind
from medialens.shared.aws import dynamodb_resource
from medialens.shared.errors import SupersededError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

    from medialens.video.models import JobState, MediaStatus, VideoTerm

SUMMARY_LABELS = 10

EntryRemoval = Literal["removed", "absent", "superseded"]
"""What :meth:`DynamoDBCatalog.remove_entry` found."""


def _name_item(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    key = term_key("NAME", file_name(meta["media_id"], meta.get("name")))
    sort = f"{meta['analysed_at']}#{meta['media_id']}"
    if max(len(key.encode()), len(sort.encode())) > MAX_SORT_KEY_BYTES:
        return None  # found by its full key only
    return {
        "pk": meta["pk"],
        "sk": key,
        "gsi1pk": key,
        "gsi1sk": sort,
        "media_id": meta["media_id"],
    }


def _number(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


def _source_fields(location: CatalogLocation) -> dict[str, Any]:
    fields = {
        "media_id": location.media_id,
        "result_bucket": location.result_bucket,
        "result_key": location.result_key,
        "source_bucket": location.source_bucket,
        "source_key": location.source_key,
        "version_id": location.version_id,
        "etag": location.etag,
        "name": location.name,
        "sequencer": location.sequencer,
    }
    return {name: value for name, value in fields.items() if value is not None}


def analysis_items(analysis: ImageAnalysis, location: CatalogLocation) -> list[dict[str, Any]]:
    """Every catalog item of an analysed media item: its term items, then its META item.

    Parameters
    ----------
    analysis : ImageAnalysis
    location : CatalogLocation

    Returns
    -------
    list[dict[str, Any]]
        DynamoDB items; the META item is last so it is written after its terms.
    """
    pk = media_pk(analysis.media_id)
    terms: dict[str, tuple[float, dict[str, Any]]] = {}

    def add(kind: str, value: str, confidence: float, **extra: Any) -> None:
        key = term_key(kind, value)
        held = terms.get(key)
        if held is not None and ("via" in held[1]) != ("via" in extra):
            # Detected on its own beats implied by another label, whatever the
            # confidences: the label miner and the suggester read only detected labels.
            detected = held[1] if "via" in extra else {"value": value, **extra}
            terms[key] = (max(held[0], confidence), detected)
        elif held is None or held[0] < confidence:
            terms[key] = (confidence, {"value": value, **extra})

    for label in (*analysis.labels, *analysis.custom_labels):
        implied = sorted({name.lower() for name in (*label.parents, *label.aliases)})
        # What Rekognition's taxonomy says this label implies: the label miner leaves
        # those out of "you may also like", even where they were detected on their own.
        extra = {"implies": implied} if implied else {}
        add("LABEL", label.name, label.confidence, source=label.source, **extra)
        for related in (*label.parents, *label.aliases):
            add("LABEL", related, label.confidence, source=label.source, via=label.name)
    for detection in analysis.text:
        word = normalize_word(detection.text)
        if detection.kind is TextKind.WORD and word:
            add("WORD", word, detection.confidence)
    for match in analysis.face_matches:
        add("PERSON", match.person_id, match.similarity, face_id=match.face_id, role="match")
    for face in analysis.indexed_faces:
        add("PERSON", face.person_id, face.confidence, face_id=face.face_id, role="reference")
    for moderation in analysis.moderation:
        add("MODERATION", moderation.name, moderation.confidence)

    items = [
        {
            "pk": pk,
            "sk": key,
            "gsi1pk": key,
            "gsi1sk": f"{confidence:07.3f}#{analysis.media_id}",
            "media_id": analysis.media_id,
            "confidence": _number(confidence),
            "analysed_at": analysis.analysed_at,
            **extra,
        }
        for key, (confidence, extra) in terms.items()
    ]
    meta: dict[str, Any] = {
        "pk": pk,
        "sk": META,
        "status": "ANALYSED",
        "analysed_at": analysis.analysed_at,
        "flagged": analysis.flagged,
        "labels": [label.name for label in analysis.labels[:SUMMARY_LABELS]],
        "custom_labels": [label.name for label in analysis.custom_labels[:SUMMARY_LABELS]],
        "persons": list(analysis.persons),
        "face_count": len(analysis.faces),
        "word_count": len(analysis.words),
        "moderation_labels": [label.name for label in analysis.moderation],
        "features": [feature.value for feature in analysis.features_run],
        "notes": list(analysis.notes),
        **_source_fields(location),
    }
    if analysis.suggested:
        # Suggested, not detected: kept off the term items, so no search finds the
        # media by a label it was only suggested.
        meta["suggested"] = [suggestion.name for suggestion in analysis.suggested]
    if analysis.flagged:
        meta["gsi2pk"] = FLAGGED
        meta["gsi2sk"] = f"{analysis.analysed_at}#{analysis.media_id}"
    if analysis.indexed_faces:
        person_id = analysis.indexed_faces[0].person_id
        face_ids = [face.face_id for face in analysis.indexed_faces]
        items.append(_reference_faces_item(analysis.media_id, person_id, face_ids))
    return [*items, meta]


def _reference_faces_item(media_id: str, person_id: str, face_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "pk": media_pk(media_id),
        "sk": REFERENCE_FACES,
        "media_id": media_id,
        "person_id": person_id,
        "face_ids": list(face_ids),
    }


class DynamoDBCatalog:
    """Writes analyses and rejections to the catalog table.

    Each write replaces the media item's previous entries, so a new version of an
    object never leaves stale labels searchable; the META item is written first, on
    the condition that no later S3 event is recorded, so a late event for an older
    version cannot overwrite a newer one.

    Parameters
    ----------
    table_name : str
        The catalog table.
    table : Table, optional
        Injected table resource; built from the shared resource otherwise.
    """

    def __init__(self, table_name: str, table: Table | None = None) -> None:
        self._table = table or dynamodb_resource().Table(table_name)

    def record_analysis(self, analysis: ImageAnalysis, location: CatalogLocation) -> None:
        """Replace the media item's entries with this analysis."""
        self._replace(analysis_items(analysis, location))

    def record_rejection(
        self, location: CatalogLocation, reason: str, detail: str, rejected_at: str
    ) -> None:
        """Replace the media item's entries with a rejected META item."""
        self._replace(
            [
                {
                    "pk": media_pk(location.media_id),
                    "sk": META,
                    "status": "REJECTED",
                    "rejection_reason": reason,
                    "rejection_detail": detail,
                    "analysed_at": rejected_at,
                    "flagged": False,
                    **_source_fields(location),
                }
            ]
        )

    def start_video(self, location: CatalogLocation, apis: Sequence[str], now: str) -> None:
        """Replace the media item's entries with an in-progress video and its pending jobs."""
        # Imported here: the video models cost the images' cold start ~14 ms.
        from medialens.video.models import JobState, MediaStatus

        self._replace(
            [
                {
                    "pk": media_pk(location.media_id),
                    "sk": META,
                    "media_type": "video",
                    "status": MediaStatus.IN_PROGRESS.value,
                    "jobs": {api: JobState.STARTING.value for api in apis},
                    "analysed_at": now,
                    "flagged": False,
                    **_source_fields(location),
                }
            ]
        )

    def record_job_state(
        self, media_id: str, api: str, state: JobState, now: str, *, version_id: str | None
    ) -> MediaStatus:
        """Record one job's state; set the video's status once every job has ended.

        The status is written only when the update's own result shows every job ended,
        so concurrent job ends can never move it back to in-progress. The write is
        conditional on the video entry (and its version) still being this job's.

        Raises
        ------
        SupersededError
            When the entry is another version's, or no video's.
        """
        from medialens.video.models import MediaStatus, overall_status

        condition: Any = Attr("jobs").exists()
        if version_id is not None:
            condition &= Attr("version_id").eq(version_id)
        try:
            response = self._table.update_item(
                Key={"pk": media_pk(media_id), "sk": META},
                UpdateExpression="SET jobs.#api = :state, updated_at = :now",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#api": api},
                ExpressionAttributeValues={":state": state.value, ":now": now},
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise SupersededError(f"{media_id} now holds another version") from error
            raise
        jobs: Mapping[str, Any] = response.get("Attributes", {}).get("jobs", {})  # type: ignore[assignment]
        status = overall_status({name: str(value) for name, value in jobs.items()})
        if status is not MediaStatus.IN_PROGRESS:
            self._table.update_item(
                Key={"pk": media_pk(media_id), "sk": META},
                UpdateExpression="SET #status = :status, analysed_at = :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": status.value, ":now": now},
            )
        return status

    def add_video_terms(self, media_id: str, terms: Sequence[VideoTerm], now: str) -> None:
        """Make the video findable by each term; the seconds it was seen at accumulate.

        The seconds are a number set, so re-reading a page (a retry, or a restart after
        an expired token) adds nothing twice. The term keeps its highest confidence
        through a second, conditional write (two writes per term and page).
        """
        for term in terms:
            key = term_key(term.kind, term.value)
            item_key = {"pk": media_pk(media_id), "sk": key}
            self._table.update_item(
                Key=item_key,
                UpdateExpression=(
                    "SET gsi1pk = :key, media_id = :media, media_type = :video,"
                    " #value = if_not_exists(#value, :value), analysed_at = :now"
                    " ADD seen_seconds :seconds"
                ),
                ExpressionAttributeNames={"#value": "value"},
                ExpressionAttributeValues={
                    ":key": key,
                    ":media": media_id,
                    ":video": "video",
                    ":value": term.value,
                    ":now": now,
                    ":seconds": set(term.seconds),
                },
            )
            self._raise_confidence(
                item_key, _number(term.confidence), f"{term.confidence:07.3f}#{media_id}"
            )

    def _raise_confidence(self, item_key: dict[str, str], confidence: Decimal, sort: str) -> None:
        try:
            self._table.update_item(
                Key=item_key,
                UpdateExpression="SET confidence = :confidence, gsi1sk = :sort",
                ConditionExpression=(
                    Attr("confidence").not_exists() | Attr("confidence").lt(confidence)
                ),
                ExpressionAttributeValues={":confidence": confidence, ":sort": sort},
            )
        except ClientError as error:
            # The stored confidence is already at least as high.
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def current_version(self, media_id: str) -> str | None:
        """Return the S3 version id recorded in the media item's META entry.

        ``""`` for an entry without one (an unversioned bucket), ``None`` when there is
        no entry.
        """
        item = self._table.get_item(
            Key={"pk": media_pk(media_id), "sk": META},
            ProjectionExpression="pk, version_id",
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return str(item.get("version_id") or "")

    def remove_entry(self, media_id: str, *, sequencer: str | None) -> EntryRemoval:
        """Delete the media item's entry and search terms, unless a later event is recorded.

        The META item goes first, on the condition that its sequencer is not later than
        the removal's, so a re-upload recorded meanwhile keeps its entry. The reference
        faces item stays: it is dropped once its faces are out of the collection.

        Returns
        -------
        EntryRemoval
            ``superseded`` (a later version's entry is recorded; nothing was deleted),
            ``removed``, or ``absent`` (there was no entry; stray terms are deleted all
            the same, in case an earlier attempt stopped half-way).
        """
        pk = media_pk(media_id)
        params: dict[str, Any] = {"Key": {"pk": pk, "sk": META}, "ReturnValues": "ALL_OLD"}
        if sequencer is not None:
            params["ConditionExpression"] = Attr("sequencer").not_exists() | Attr("sequencer").lte(
                sequencer
            )
        try:
            old = self._table.delete_item(**params).get("Attributes")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return "superseded"
            raise
        with self._table.batch_writer() as batch:
            for sk in self._existing_sort_keys(pk):
                if sk != REFERENCE_FACES:
                    batch.delete_item(Key={"pk": pk, "sk": sk})
        return "removed" if old else "absent"

    def media_with_term(self, kind: str, value: str) -> list[str]:
        """Every media id the ``ByTerm`` index lists under a term (all pages)."""
        found: list[str] = []
        params: dict[str, Any] = {
            "IndexName": "ByTerm",
            "KeyConditionExpression": Key("gsi1pk").eq(term_key(kind, value)),
            "ProjectionExpression": "media_id",
        }
        while True:
            page = self._table.query(**params)
            found += [str(item["media_id"]) for item in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return list(dict.fromkeys(found))
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete_term(self, media_id: str, kind: str, value: str) -> None:
        """Make a media item unfindable by one term."""
        self._table.delete_item(Key={"pk": media_pk(media_id), "sk": term_key(kind, value)})

    def record_audit(self, item: Mapping[str, Any]) -> None:
        """Keep an audit record (its own ``pk``/``sk``; outside every media item)."""
        self._table.put_item(Item=dict(item))

    def flag(self, media_id: str, now: str) -> None:
        """List the media item in the ``Flagged`` index."""
        self._table.update_item(
            Key={"pk": media_pk(media_id), "sk": META},
            UpdateExpression="SET flagged = :true, gsi2pk = :flagged, gsi2sk = :sort",
            ConditionExpression=Attr("pk").exists(),
            ExpressionAttributeValues={
                ":true": True,
                ":flagged": FLAGGED,
                ":sort": f"{now}#{media_id}",
            },
        )

    def is_catalogued(self, media_id: str) -> bool:
        """Whether the media item has an entry that needs no new analysis.

        Analysed, rejected and video items count; a video whose jobs failed does not,
        so a backfill gives it another chance.
        """
        item = self._table.get_item(
            Key={"pk": media_pk(media_id), "sk": META},
            ProjectionExpression="#status",
            ExpressionAttributeNames={"#status": "status"},
        ).get("Item")
        return item is not None and item.get("status") != MediaStatus.FAILED.value

    def recorded_sequencer(self, media_id: str) -> str | None:
        """Return the ordered S3 sequencer of the recorded version, if any."""
        item = self._table.get_item(
            Key={"pk": media_pk(media_id), "sk": META}, ProjectionExpression="sequencer"
        ).get("Item")
        return str(item["sequencer"]) if item and "sequencer" in item else None

    def reference_faces(self, media_id: str) -> tuple[str, ...]:
        """Face ids indexed into the collection from this media id."""
        item = self._table.get_item(
            Key={"pk": media_pk(media_id), "sk": REFERENCE_FACES}, ProjectionExpression="face_ids"
        ).get("Item")
        face_ids = item.get("face_ids") if item else None
        return tuple(str(face_id) for face_id in face_ids) if isinstance(face_ids, list) else ()

    def remember_reference_faces(
        self, media_id: str, person_id: str, face_ids: Sequence[str]
    ) -> None:
        """Record the face ids just indexed from this media id."""
        self._table.put_item(Item=_reference_faces_item(media_id, person_id, face_ids))

    def forget_reference_faces(self, media_id: str) -> None:
        """Drop the record of this media id's indexed faces (once they are deleted)."""
        self._table.delete_item(Key={"pk": media_pk(media_id), "sk": REFERENCE_FACES})

    def _existing_sort_keys(self, pk: str) -> Iterator[str]:
        params: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(pk),
            "ProjectionExpression": "sk",
        }
        while True:
            page = self._table.query(**params)
            for item in page.get("Items", []):
                yield str(item["sk"])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _put_meta(self, meta: dict[str, Any]) -> None:
        if "sequencer" not in meta:
            self._table.put_item(Item=meta)
            return
        not_older = Attr("sequencer").not_exists() | Attr("sequencer").lte(meta["sequencer"])
        try:
            self._table.put_item(Item=meta, ConditionExpression=not_older)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise SupersededError(
                    f"a later version of {meta['media_id']} is recorded"
                ) from error
            raise

    def _replace(self, items: list[dict[str, Any]]) -> None:
        *terms, meta = items
        self._put_meta(meta)
        name_item = _name_item(meta)
        if name_item is not None:
            terms.append(name_item)
        items = [*terms, meta]
        pk = meta["pk"]
        keep = {item["sk"] for item in items} | {REFERENCE_FACES}
        stale = [sk for sk in self._existing_sort_keys(pk) if sk not in keep]
        with self._table.batch_writer() as batch:
            for sk in stale:
                batch.delete_item(Key={"pk": pk, "sk": sk})
            for item in terms:
                batch.put_item(Item=item)
