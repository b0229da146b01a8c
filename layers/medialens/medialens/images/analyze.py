"""Use cases of the image pipeline: check, analyse with Rekognition, record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from medialens.catalog.location import CatalogLocation
from medialens.images.faces import (
    forget_reference_faces,
    index_reference_faces,
    person_id_for,
    search_every_face,
)
from medialens.images.image_format import (
    SNIFF_BYTES,
    check_dimensions,
    check_image_format,
    check_size,
    is_video,
)
from medialens.images.models import (
    Answer,
    FaceDetail,
    FaceMatch,
    Feature,
    ImageAnalysis,
    IndexedFace,
    LabelDetection,
    ModerationLabel,
    TextDetection,
)
from medialens.images.ports import Catalog, ImagePorts, ImageRecognizer, LabelSuggester
from medialens.images.settings import (
    MAX_INLINE_IMAGE_BYTES,
    MAX_S3_IMAGE_BYTES,
    ImageAnalysisSettings,
)
from medialens.shared.clock import utc_now
from medialens.shared.errors import (
    FeatureUnavailableError,
    RejectedMediaError,
    SuggestionsUnavailableError,
    SupersededError,
)
from medialens.shared.media import (
    BytesImageRef,
    ImageRef,
    InlineImage,
    MediaObject,
    S3ImageRef,
    check_key_length,
    sequencer_order,
)
from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.shared.outcome import AnalysisOutcome, OutcomeStatus
from medialens.video.settings import MAX_STORED_VIDEO_BYTES


def ignore_reason(media: MediaObject, settings: ImageAnalysisSettings) -> str | None:
    """Why a notification names nothing to analyse, or ``None`` when it does.

    Returns
    -------
    str | None
        ``outside_watched_prefixes`` (results, or any key the template's filters should
        have kept away) or ``folder_marker`` (the zero-byte ``uploads/`` object the S3
        console creates for a folder).
    """
    watched = (settings.uploads_prefix, settings.faces_prefix)
    if not media.key.startswith(watched) or media.key.startswith(settings.results_prefix):
        return "outside_watched_prefixes"
    if media.key.endswith("/"):
        return "folder_marker"
    return None


def is_superseded(media: MediaObject, catalog: Catalog) -> bool:
    """Whether the catalog already holds a newer version of this key.

    S3 does not deliver notifications in order; its ``sequencer`` does order the
    events of one key, so a late event for an older version is skipped before any
    Rekognition call is paid for.
    """
    if not media.sequencer:
        return False
    recorded = catalog.recorded_sequencer(media.media_id)
    return recorded is not None and recorded > sequencer_order(media.sequencer)


def analyze_s3_object(
    media: MediaObject,
    *,
    ports: ImagePorts,
    settings: ImageAnalysisSettings,
    clock: Callable[[], str] = utc_now,
    videos: Callable[[MediaObject, str], AnalysisOutcome] | None = None,
) -> AnalysisOutcome:
    """Analyse one dropped S3 object and record the result.

    Bad input (empty, too large, not JPEG/PNG, refused by Rekognition) is recorded
    in the catalog as rejected, logged and counted; it is not raised, so the event
    is not retried. A late event for a version that is no longer current (replaced or
    deleted since) is ignored. Every other error propagates.

    Parameters
    ----------
    media : MediaObject
        The object named by the bucket notification.
    ports : ImagePorts
        Rekognition, S3, catalog and alert adapters.
    settings : ImageAnalysisSettings
        Feature switches, thresholds and prefixes.
    clock : Callable[[], str]
        Timestamp source.
    videos : Callable[[MediaObject, str], AnalysisOutcome], optional
        Starts the video analysis of an MP4/MOV upload (given the drop time); without it,
        videos are rejected as an unsupported format.

    Returns
    -------
    AnalysisOutcome
    """
    reason = ignore_reason(media, settings)
    if reason is None and is_superseded(media, ports.catalog):
        reason = "superseded"
    if reason is not None:
        return _ignore(media.media_id, reason)

    location = CatalogLocation.for_object(
        media, settings.results_bucket, f"{settings.results_prefix}{media.key}.json"
    )
    try:
        try:
            person_id = person_id_for(media.key, settings.faces_prefix)
            check_key_length(media.key, [location.result_key])
            check_size(media.size, limit=MAX_STORED_VIDEO_BYTES)
            head = ports.store.read_head(media, SNIFF_BYTES)
            if videos is not None and person_id is None and is_video(head):
                return videos(media, clock())
            check_size(media.size, limit=MAX_S3_IMAGE_BYTES)
            check_image_format(head)
            check_dimensions(head)
            image = S3ImageRef(bucket=media.bucket, key=media.key, version_id=media.version_id)
            reference = None
            if person_id is not None:
                reference = index_reference_faces(
                    image,
                    media_id=media.media_id,
                    person_id=person_id,
                    recognizer=ports.recognizer,
                    catalog=ports.catalog,
                    settings=settings,
                )
            analysis = run_analysis(
                image,
                media_id=media.media_id,
                reference_faces=reference,
                recognizer=ports.recognizer,
                settings=settings,
                analysed_at=clock(),
            )
        except RejectedMediaError as rejection:
            outcome = _reject(location, rejection, ports.catalog, clock())
            if media.key.startswith(settings.faces_prefix):
                # After the rejection is recorded: a late event for an older version
                # stops there (superseded) and leaves the newer version's faces alone.
                forget_reference_faces(
                    media.media_id,
                    recognizer=ports.recognizer,
                    catalog=ports.catalog,
                    collection_id=settings.face_collection_id,
                )
            return outcome
        return _record(suggest_labels(analysis, ports.suggester), location, ports)
    except SupersededError as superseded:
        return _ignore(media.media_id, superseded.reason)


def analyze_inline_image(
    image: InlineImage,
    *,
    ports: ImagePorts,
    settings: ImageAnalysisSettings,
    clock: Callable[[], str] = utc_now,
) -> tuple[AnalysisOutcome, ImageAnalysis | None]:
    """Analyse image bytes sent by a caller, and record the result like an S3 drop.

    Parameters
    ----------
    image : InlineImage
        Decoded bytes (at most 5 MB) and an optional name.
    ports : ImagePorts
        Rekognition, S3, catalog and alert adapters.
    settings : ImageAnalysisSettings
        Feature switches and thresholds.
    clock : Callable[[], str]
        Timestamp source.

    Returns
    -------
    tuple[AnalysisOutcome, ImageAnalysis | None]
        The outcome, and the analysis itself when there is one.
    """
    location = CatalogLocation(
        media_id=image.media_id,
        result_bucket=settings.results_bucket,
        result_key=f"{settings.results_prefix}{image.media_id}.json",
        name=image.name,
    )
    try:
        check_size(len(image.data), limit=MAX_INLINE_IMAGE_BYTES)
        check_image_format(image.data[:SNIFF_BYTES])
        check_dimensions(image.data)
        analysis = run_analysis(
            BytesImageRef(data=image.data),
            media_id=image.media_id,
            reference_faces=None,
            recognizer=ports.recognizer,
            settings=settings,
            analysed_at=clock(),
        )
    except RejectedMediaError as rejection:
        return _reject(location, rejection, ports.catalog, clock()), None
    analysis = suggest_labels(analysis, ports.suggester)
    return _record(analysis, location, ports), analysis


def suggest_labels(analysis: ImageAnalysis, suggester: LabelSuggester | None) -> ImageAnalysis:
    """Add what the hosted label suggester says the image probably also shows.

    The suggestions are an extra: an endpoint that is missing, cold, throttled, failing
    or slow never fails the analysis. Its reason is logged, counted
    (``SuggestionsSkipped``) and noted in the result, and the media item is left to the
    next batch run of the suggester, which goes over the whole catalog.

    Parameters
    ----------
    analysis : ImageAnalysis
        The analysis about to be recorded.
    suggester : LabelSuggester | None
        The endpoint; ``None`` when the stack hosts none.

    Returns
    -------
    ImageAnalysis
        ``analysis`` with ``suggested`` filled in, or with a note saying why not.
    """
    if suggester is None or not analysis.labels:
        return analysis
    try:
        suggested = suggester.suggest(analysis.labels)
    except SuggestionsUnavailableError as unavailable:
        logger.warning(
            "Suggestions skipped",
            media_id=analysis.media_id,
            reason=unavailable.reason,
            detail=unavailable.detail,
        )
        metrics.add_metric(name="SuggestionsSkipped", unit=MetricUnit.Count, value=1)
        note = f"label suggestions skipped ({unavailable.reason}): left to the next batch run"
        return replace(analysis, notes=(*analysis.notes, note))
    metrics.add_metric(name="LabelsSuggested", unit=MetricUnit.Count, value=len(suggested))
    return replace(analysis, suggested=suggested)


def run_analysis(
    image: ImageRef,
    *,
    media_id: str,
    reference_faces: Answer[tuple[IndexedFace, ...]] | None,
    recognizer: ImageRecognizer,
    settings: ImageAnalysisSettings,
    analysed_at: str,
) -> ImageAnalysis:
    """Run every enabled Rekognition operation on one image.

    Parameters
    ----------
    image : ImageRef
        S3 reference or bytes.
    media_id : str
        Catalog key of the media.
    reference_faces : Answer[tuple[IndexedFace, ...]] | None
        For a reference photo, the faces already indexed from it (the image is then
        not searched for, it *is* the person); ``None`` for ordinary media.
    recognizer : ImageRecognizer
        Rekognition adapter.
    settings : ImageAnalysisSettings
        Feature switches and thresholds.
    analysed_at : str
        Timestamp recorded with the analysis.

    Returns
    -------
    ImageAnalysis

    Raises
    ------
    RejectedMediaError
        When Rekognition refuses the image itself.
    """
    features = settings.features
    run: list[Feature] = []
    notes: list[str] = []
    answers: list[Answer[Any]] = []
    labels = LabelDetection(labels=())
    text: tuple[TextDetection, ...] = ()
    faces: tuple[FaceDetail, ...] = ()
    moderation: tuple[ModerationLabel, ...] = ()
    custom_labels: Answer[Any] | None = None
    face_matches: tuple[FaceMatch, ...] = ()

    def custom() -> Answer[Any] | FeatureUnavailableError:
        assert settings.custom_labels_arn is not None
        try:
            return recognizer.detect_custom_labels(
                image,
                project_version_arn=settings.custom_labels_arn,
                min_confidence=settings.custom_labels_min_confidence,
            )
        except FeatureUnavailableError as unavailable:
            return unavailable

    # The operations are independent: the image's latency is the slowest call's, not
    # their sum. Face search needs DetectFaces' answer, so it waits for that one.
    with _call_pool(settings.call_concurrency) as calls:
        pending: dict[Feature, Future[Any]] = {}
        if features.labels:
            pending[Feature.LABELS] = calls.submit(
                recognizer.detect_labels,
                image,
                min_confidence=settings.min_label_confidence,
                max_labels=settings.max_labels,
                image_properties=features.image_properties,
            )
        if features.text:
            pending[Feature.TEXT] = calls.submit(
                recognizer.detect_text, image, min_confidence=settings.min_text_confidence
            )
        if features.faces:
            pending[Feature.FACES] = calls.submit(recognizer.detect_faces, image)
        if features.moderation:
            pending[Feature.MODERATION] = calls.submit(
                recognizer.detect_moderation_labels,
                image,
                min_confidence=settings.moderation_min_confidence,
            )
        if settings.custom_labels_arn:
            pending[Feature.CUSTOM_LABELS] = calls.submit(custom)
        if Feature.FACES in pending:
            faces = _first_failure_stops_the_rest(pending, [pending[Feature.FACES]]).found
        if reference_faces is None and features.face_search:
            if features.faces and not faces:
                notes.append("face search skipped: no face in the image")
            else:
                pending[Feature.FACE_SEARCH] = calls.submit(
                    _search_faces, image, len(faces), recognizer, settings
                )
        _first_failure_stops_the_rest(pending, list(pending.values()))
        done = {feature: future.result() for feature, future in pending.items()}

    for feature, answer in done.items():
        if isinstance(answer, FeatureUnavailableError):
            _note_unavailable(feature, answer, notes)
            continue
        run.append(feature)
        if feature is Feature.FACE_SEARCH:
            face_matches, search_answers = answer
            answers.extend(search_answers)
            continue
        answers.append(answer)
        if feature is Feature.LABELS:
            labels = answer.found
        elif feature is Feature.TEXT:
            text = answer.found
        elif feature is Feature.MODERATION:
            moderation = answer.found
        elif feature is Feature.CUSTOM_LABELS:
            custom_labels = answer

    if reference_faces is not None:
        answers.append(reference_faces)
        run.append(Feature.FACE_INDEX)
        if not reference_faces.found:
            notes.append("no face good enough to index as a reference")

    return ImageAnalysis(
        media_id=media_id,
        analysed_at=analysed_at,
        labels=labels.labels,
        custom_labels=custom_labels.found if custom_labels else (),
        image_properties=labels.image_properties,
        text=text,
        faces=faces,
        moderation=moderation,
        flagged=any(label.confidence >= settings.moderation_flag_threshold for label in moderation),
        indexed_faces=reference_faces.found if reference_faces else (),
        face_matches=face_matches,
        features_run=tuple(run),
        notes=tuple(notes),
        responses=tuple(answers),
    )


class _InOrder(Executor):
    """Runs each call at once in the caller's thread; after a failure, runs no more."""

    def __init__(self) -> None:
        self._failed = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if self._failed:
            future.cancel()
            future.set_running_or_notify_cancel()  # what wait() counts as done
            return future
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # noqa: BLE001 - handed to the caller through the future
            self._failed = True
            future.set_exception(error)
        return future


def _call_pool(concurrency: int) -> Executor:
    """Threads for ``concurrency`` calls at once; one means in order, in this thread."""
    return _InOrder() if concurrency == 1 else ThreadPoolExecutor(max_workers=concurrency)


def _first_failure_stops_the_rest(
    pending: Mapping[Feature, Future[Any]], awaited: list[Future[Any]]
) -> Any:
    """Wait for ``awaited``; on the first error cancel the calls not yet sent and raise it.

    A refused image (or an exhausted retry) fails every call alike: the ones still queued
    are not paid for. Returns the first awaited future's result.
    """
    wait(awaited, return_when=FIRST_EXCEPTION)
    failed = next(
        (
            future
            for future in pending.values()
            if future.done() and not future.cancelled() and future.exception() is not None
        ),
        None,
    )
    if failed is not None:
        for future in pending.values():
            future.cancel()
        raise failed.exception()  # type: ignore[misc]
    return awaited[0].result()


def _search_faces(
    image: ImageRef, face_count: int, recognizer: ImageRecognizer, settings: ImageAnalysisSettings
) -> tuple[tuple[FaceMatch, ...], list[Answer[Any]]]:
    """Who the image's faces are: one SearchFacesByImage, or one search per face."""
    if face_count > 1:
        matches, answers = search_every_face(image, recognizer=recognizer, settings=settings)
        return matches, list(answers)
    search = recognizer.search_faces_by_image(
        image,
        collection_id=settings.face_collection_id,
        threshold=settings.face_match_threshold,
        max_faces=settings.max_face_matches,
    )
    return search.found, [search]


def _note_unavailable(feature: Feature, error: FeatureUnavailableError, notes: list[str]) -> None:
    logger.warning("Feature unavailable", feature=feature.value, reason=str(error))
    metrics.add_metric(name="FeatureUnavailable", unit=MetricUnit.Count, value=1)
    notes.append(f"{feature.value} skipped: {error}")


def _ignore(media_id: str, reason: str) -> AnalysisOutcome:
    logger.info("Ignoring object", key=media_id, reason=reason)
    metrics.add_metric(name="MediaIgnored", unit=MetricUnit.Count, value=1)
    return AnalysisOutcome(media_id=media_id, status=OutcomeStatus.IGNORED, reason=reason)


def _reject(
    location: CatalogLocation, rejection: RejectedMediaError, catalog: Catalog, rejected_at: str
) -> AnalysisOutcome:
    catalog.record_rejection(location, rejection.reason, rejection.detail, rejected_at)
    logger.warning(
        "Media rejected",
        media_id=location.media_id,
        reason=rejection.reason,
        detail=rejection.detail,
    )
    metrics.add_metric(name="MediaRejected", unit=MetricUnit.Count, value=1)
    return AnalysisOutcome(
        media_id=location.media_id,
        status=OutcomeStatus.REJECTED,
        reason=rejection.reason,
        detail=rejection.detail,
    )


def _record(
    analysis: ImageAnalysis, location: CatalogLocation, ports: ImagePorts
) -> AnalysisOutcome:
    ports.catalog.record_analysis(analysis, location)
    ports.store.put_json(location.result_bucket, location.result_key, analysis.to_dict())
    if analysis.flagged:
        ports.alerts.announce_flagged(analysis, location)
        metrics.add_metric(name="MediaFlagged", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="MediaAnalysed", unit=MetricUnit.Count, value=1)
    logger.info(
        "Media analysed",
        media_id=analysis.media_id,
        labels=len(analysis.labels),
        words=len(analysis.words),
        faces=len(analysis.faces),
        flagged=analysis.flagged,
        persons=list(analysis.persons),
    )
    return AnalysisOutcome(
        media_id=analysis.media_id,
        status=OutcomeStatus.ANALYSED,
        result_key=location.result_key,
        flagged=analysis.flagged,
    )


def analyze_inline_request(
    payload: Mapping[str, Any],
    *,
    ports: ImagePorts,
    settings: ImageAnalysisSettings,
    clock: Callable[[], str] = utc_now,
) -> dict[str, Any]:
    """Answer a direct invocation carrying base64 image bytes.

    Parameters
    ----------
    payload : Mapping[str, Any]
        ``{"image_base64": "<base64 JPEG or PNG>", "name": "<optional label>"}``.
    ports : ImagePorts
    settings : ImageAnalysisSettings
    clock : Callable[[], str]

    Returns
    -------
    dict[str, Any]
        The outcome, plus ``analysis`` when the image was analysed. A malformed
        request is answered with ``status: rejected`` and the reason, never raised.
    """
    try:
        image = InlineImage.from_payload(payload)
    except RejectedMediaError as rejection:
        logger.warning("Inline request rejected", reason=rejection.reason, detail=rejection.detail)
        metrics.add_metric(name="MediaRejected", unit=MetricUnit.Count, value=1)
        return AnalysisOutcome(
            media_id="",
            status=OutcomeStatus.REJECTED,
            reason=rejection.reason,
            detail=rejection.detail,
        ).to_dict()
    outcome, analysis = analyze_inline_image(image, ports=ports, settings=settings, clock=clock)
    response = outcome.to_dict()
    if analysis is not None:
        response["analysis"] = analysis.to_dict()
    return response
