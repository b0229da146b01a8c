"""Use cases of the video pipeline: start jobs, collect their results, keep the backlog moving.

A video drop starts one Rekognition Video job per enabled analysis. Rekognition
publishes a completion message per job; :func:`handle_notification` then pages through
the results, writing each page as it arrives, and hands over to a new invocation when
time runs short. Jobs that meet the concurrent-job quota wait in the backlog
(``PARKED``) and are started as other jobs finish, or by :func:`sweep`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from medialens.config import MAX_STORED_VIDEO_BYTES, VideoSettings
from medialens.domain.analyze_image import AnalysisOutcome, OutcomeStatus
from medialens.domain.ports import JobStore, MediaStore, Outbox, VideoCatalog, VideoRecognizer
from medialens.errors import (
    MalformedNotificationError,
    PaginationExpiredError,
    QuotaExceededError,
    RejectedMediaError,
)
from medialens.models.analysis import normalize_word
from medialens.models.catalog import CatalogLocation
from medialens.models.media import MediaObject
from medialens.models.video import (
    Continuation,
    JobNotification,
    JobState,
    VideoApi,
    VideoJob,
    VideoTerm,
    video_api,
)
from medialens.observability import MetricUnit, logger, metrics

STALE_START_MINUTES = 15
"""A job still STARTING after this long lost its invocation mid-start; the sweeper retries."""


@dataclass(frozen=True, slots=True)
class VideoPorts:
    """The adapters a video use case talks to."""

    recognizer: VideoRecognizer
    jobs: JobStore
    catalog: VideoCatalog
    store: MediaStore
    continuations: Outbox
    dead_letters: Outbox


@dataclass(frozen=True, slots=True)
class StartSummary:
    """What a video drop started."""

    media_id: str
    started: tuple[str, ...] = ()
    parked: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()


def start_options(api: VideoApi, settings: VideoSettings) -> dict[str, Any]:
    """Build the Start operation's own parameters for one analysis."""
    if api.name == "LABEL_DETECTION":
        return {"MinConfidence": settings.min_label_confidence}
    if api.name == "CONTENT_MODERATION":
        return {"MinConfidence": settings.moderation_min_confidence}
    if api.name == "FACE_SEARCH":
        return {
            "CollectionId": settings.face_collection_id,
            "FaceMatchThreshold": settings.face_match_threshold,
        }
    if api.name == "FACE_DETECTION":
        return {"FaceAttributes": "DEFAULT"}
    if api.name == "SEGMENT_DETECTION":
        return {"SegmentTypes": ["SHOT", "TECHNICAL_CUE"]}
    return {}


def start_video_jobs(
    media: MediaObject, *, ports: VideoPorts, settings: VideoSettings, now: str
) -> StartSummary:
    """Start every enabled analysis of a dropped video (each at most once per version).

    Parameters
    ----------
    media : MediaObject
        The video named by the bucket notification (already sniffed as MP4/MOV).
    ports : VideoPorts
    settings : VideoSettings
    now : str
        ISO-8601 time of the drop's handling.

    Returns
    -------
    StartSummary

    Raises
    ------
    RejectedMediaError
        When the object is larger than Rekognition Video accepts.
    """
    if media.size > MAX_STORED_VIDEO_BYTES:
        raise RejectedMediaError(
            "too_large", f"{media.size} bytes is over Rekognition Video's 10 GB limit"
        )
    apis = [video_api(name) for name in settings.enabled_apis]
    location = CatalogLocation.for_object(
        media, settings.results_bucket, f"{settings.results_prefix}{media.key}/"
    )
    jobs = [VideoJob.for_media(media, api, now) for api in apis]
    recorded = {job.api.name for job in jobs if ports.jobs.get(job.token) is not None}
    if not recorded:
        # A first delivery (re)initialises the catalog entry. A redelivery, even a day
        # later or after a partly failed attempt, must not: it would wipe finished results.
        ports.catalog.start_video(location, [api.name for api in apis], now)
    started: list[str] = []
    parked: list[str] = []
    failed: list[str] = []
    duplicates: list[str] = []
    for job in jobs:
        if job.api.name in recorded or not ports.jobs.create(job):
            duplicates.append(job.api.name)
            continue
        outcome = try_start(job, ports=ports, settings=settings, now=now)
        {
            JobState.RUNNING: started,
            JobState.PARKED: parked,
            JobState.FAILED: failed,
        }[outcome.state].append(job.api.name)
    logger.info(
        "Video jobs started",
        media_id=media.media_id,
        started=started,
        parked=parked,
        failed=failed,
        duplicates=duplicates,
    )
    return StartSummary(
        media_id=media.media_id,
        started=tuple(started),
        parked=tuple(parked),
        failed=tuple(failed),
        duplicates=tuple(duplicates),
    )


def start_video_analysis(
    media: MediaObject, now: str, *, ports: VideoPorts, settings: VideoSettings
) -> AnalysisOutcome:
    """:func:`start_video_jobs`, answered as the outcome the S3 entry point reports."""
    summary = start_video_jobs(media, ports=ports, settings=settings, now=now)
    return AnalysisOutcome(
        media_id=media.media_id,
        status=OutcomeStatus.STARTED,
        detail=(
            f"started {len(summary.started)}, parked {len(summary.parked)}, "
            f"failed {len(summary.failed)}, already started {len(summary.duplicates)}"
        ),
        result_key=f"{settings.results_prefix}{media.key}/",
    )


def try_start(job: VideoJob, *, ports: VideoPorts, settings: VideoSettings, now: str) -> VideoJob:
    """Ask Rekognition to start ``job``; park it when the quota is full.

    Returns
    -------
    VideoJob
        The job as recorded afterwards: RUNNING, PARKED or FAILED.
    """
    attempt = job.with_changes(attempts=job.attempts + 1)
    try:
        job_id = ports.recognizer.start(
            attempt,
            topic_arn=settings.topic_arn,
            role_arn=settings.role_arn,
            options=start_options(job.api, settings),
        )
    except QuotaExceededError as error:
        parked = attempt.with_changes(state=JobState.PARKED, error=str(error))
        if job.state is not JobState.PARKED:
            parked = parked.with_changes(parked_since=now)
        ports.jobs.save(parked)
        logger.info("Video job parked", token=job.token, api=job.api.name, reason=str(error))
        metrics.add_metric(name="VideoJobParked", unit=MetricUnit.Count, value=1)
        return parked
    except RejectedMediaError as rejection:
        return finish_job(
            attempt,
            JobState.FAILED,
            ports=ports,
            now=now,
            error=f"{rejection.reason}: {rejection.detail}",
        )
    running = attempt.with_changes(
        state=JobState.RUNNING, job_id=job_id, started_at=now, error=None
    )
    ports.jobs.save(running)
    metrics.add_metric(name="VideoJobStarted", unit=MetricUnit.Count, value=1)
    return running


def finish_job(
    job: VideoJob, state: JobState, *, ports: VideoPorts, now: str, error: str | None = None
) -> VideoJob:
    """Record a job's end, on the job and on its video; log and count failures."""
    finished = job.with_changes(state=state, finished_at=now, error=error, next_token=None)
    # The video first: if this write fails, the job is still open, so Lambda's retry of
    # the same message does the whole end again instead of calling it a duplicate.
    status = ports.catalog.record_job_state(job.media_id, job.api.name, state, now)
    ports.jobs.save(finished)
    if state is JobState.SUCCEEDED:
        metrics.add_metric(name="VideoJobSucceeded", unit=MetricUnit.Count, value=1)
        logger.info(
            "Video job succeeded",
            token=job.token,
            api=job.api.name,
            media_id=job.media_id,
            pages=job.pages,
            items=job.items,
            media_status=status.value,
        )
    else:
        metrics.add_metric(name="VideoJobFailed", unit=MetricUnit.Count, value=1)
        logger.error(
            "Video job failed",
            token=job.token,
            api=job.api.name,
            media_id=job.media_id,
            state=state.value,
            error=error,
            media_status=status.value,
        )
    return finished


def is_superseded(job: VideoJob, ports: VideoPorts) -> bool:
    """Whether a newer version of the job's video has replaced it in the catalog."""
    current = ports.catalog.current_version(job.media_id)
    return None not in (current, job.version_id) and current != job.version_id


def drop_superseded(job: VideoJob, *, ports: VideoPorts, settings: VideoSettings, now: str) -> str:
    """End a job whose video was replaced: its results would describe the wrong version."""
    ports.jobs.save(job.with_changes(state=JobState.SUPERSEDED, finished_at=now, next_token=None))
    logger.info("Video job superseded", token=job.token, media_id=job.media_id)
    metrics.add_metric(name="VideoJobSuperseded", unit=MetricUnit.Count, value=1)
    start_parked(ports=ports, settings=settings, now=now, limit=1)
    return "superseded"


def handle_notification(
    text: str,
    *,
    ports: VideoPorts,
    settings: VideoSettings,
    remaining_ms: Callable[[], int],
    clock: Callable[[], str],
) -> str:
    """Act on one SNS message from Rekognition Video.

    A malformed message, or one for a job this stack did not start, is parked in the
    dead-letter queue with the reason (and counted), never retried.

    Returns
    -------
    str
        What happened: ``collected``, ``continued``, ``failed``, ``duplicate``,
        ``superseded``, ``malformed`` or ``unknown_job``.
    """
    try:
        notification = JobNotification.parse(text)
    except MalformedNotificationError as error:
        return _dead_letter(ports, "malformed", str(error), text)
    job = ports.jobs.get(notification.job_tag) if notification.job_tag else None
    if job is None or job.job_id not in {None, notification.job_id}:
        return _dead_letter(
            ports, "unknown_job", f"no job recorded for {notification.job_id}", text
        )
    # COLLECTING is accepted too: Lambda retries the same message after a collection
    # that crashed part-way, and the collection's writes are idempotent.
    if not job.state.is_open:
        logger.info("Duplicate completion message", token=job.token, state=job.state.value)
        return "duplicate"
    job = job.with_changes(job_id=notification.job_id)
    if is_superseded(job, ports):
        return drop_superseded(job, ports=ports, settings=settings, now=clock())
    if not notification.succeeded:
        detail = notification.message or f"Rekognition reported {notification.status}"
        finish_job(job, JobState.FAILED, ports=ports, now=clock(), error=detail)
        start_parked(ports=ports, settings=settings, now=clock(), limit=1)
        return "failed"
    collecting = job.with_changes(
        state=JobState.COLLECTING, pages=0, items=0, collecting_since=clock()
    )
    ports.jobs.save(collecting)
    return collect_results(
        collecting,
        start_token=None,
        ports=ports,
        settings=settings,
        remaining_ms=remaining_ms,
        clock=clock,
    )


def resume_collection(
    text: str,
    *,
    ports: VideoPorts,
    settings: VideoSettings,
    remaining_ms: Callable[[], int],
    clock: Callable[[], str],
) -> str:
    """Continue a collection handed over by an earlier invocation.

    Returns
    -------
    str
        As :func:`handle_notification`.
    """
    try:
        continuation = Continuation.parse(text)
    except MalformedNotificationError as error:
        return _dead_letter(ports, "malformed", str(error), text)
    job = ports.jobs.get(continuation.token)
    if job is None or job.state is not JobState.COLLECTING:
        return _dead_letter(ports, "unknown_job", "no collecting job for this continuation", text)
    if job.next_token != continuation.next_token:
        logger.info("Stale continuation", token=job.token)
        return "duplicate"
    if is_superseded(job, ports):
        return drop_superseded(job, ports=ports, settings=settings, now=clock())
    return collect_results(
        job,
        start_token=continuation.next_token,
        ports=ports,
        settings=settings,
        remaining_ms=remaining_ms,
        clock=clock,
        hops=continuation.hops,
    )


def collect_results(
    job: VideoJob,
    *,
    start_token: str | None,
    ports: VideoPorts,
    settings: VideoSettings,
    remaining_ms: Callable[[], int],
    clock: Callable[[], str],
    hops: int = 0,
) -> str:
    """Page through a succeeded job's results, writing each page before reading the next.

    Memory holds one page at a time. When less than ``settings.min_remaining_ms`` is
    left, the next page token is saved and handed to a new invocation through the
    continuation queue. An expired token restarts the collection from page one; the
    writes are idempotent (pages overwrite, term seconds are sets), so nothing counts twice.

    Returns
    -------
    str
        ``collected`` or ``continued``.
    """
    next_token = start_token
    restarted = False
    while True:
        try:
            page = ports.recognizer.get_page(
                job, next_token=next_token, max_results=settings.page_size
            )
        except PaginationExpiredError:
            if restarted:
                raise
            logger.warning("Pagination token expired; restarting", token=job.token)
            metrics.add_metric(name="VideoResultsRestarted", unit=MetricUnit.Count, value=1)
            restarted = True
            next_token = None
            job = job.with_changes(pages=0, items=0)
            continue
        number = job.pages + 1
        ports.store.put_json(
            settings.results_bucket, page_key(job, settings.results_prefix, number), page.document
        )
        now = clock()
        terms = page_terms(job.api, page.items)
        if terms:
            ports.catalog.add_video_terms(job.media_id, terms, now)
        if job.api.name == "CONTENT_MODERATION" and any(
            term.confidence >= settings.moderation_flag_threshold for term in terms
        ):
            ports.catalog.flag(job.media_id, now)
        job = job.with_changes(pages=number, items=job.items + len(page.items))
        if page.next_token is None:
            finish_job(job, JobState.SUCCEEDED, ports=ports, now=now)
            start_parked(ports=ports, settings=settings, now=now, limit=1)
            return "collected"
        next_token = page.next_token
        job = job.with_changes(next_token=next_token)
        ports.jobs.save(job)
        if remaining_ms() < settings.min_remaining_ms:
            if hops + 1 > settings.max_continuations:
                finish_job(job, JobState.FAILED, ports=ports, now=now, error="too many hand-overs")
                start_parked(ports=ports, settings=settings, now=now, limit=1)
                return "failed"
            ports.continuations.send(
                Continuation(job.token, next_token, job.pages, job.items, hops + 1).to_message()
            )
            logger.info("Video results handed over", token=job.token, pages=job.pages)
            metrics.add_metric(name="VideoResultsHandedOver", unit=MetricUnit.Count, value=1)
            return "continued"


def page_key(job: VideoJob, results_prefix: str, number: int) -> str:
    """S3 key of one result page: ``results/<video key>/<analysis>/page-00001.json``."""
    return f"{results_prefix}{job.key}/{job.api.slug}/page-{number:05d}.json"


def _timestamp(item: Mapping[str, Any]) -> int:
    return int(item.get("Timestamp", item.get("StartTimestampMillis", 0)))


def _findings(api_name: str, item: Mapping[str, Any]) -> Iterable[tuple[str, str, float]]:
    """(kind, value, confidence) of one result item."""
    if api_name == "LABEL_DETECTION":
        label = item.get("Label", {})
        confidence = float(label.get("Confidence", 0.0))
        yield "LABEL", str(label.get("Name", "")), confidence
        for related in (*label.get("Parents", ()), *label.get("Aliases", ())):
            yield "LABEL", str(related.get("Name", "")), confidence
    elif api_name == "TEXT_DETECTION":
        text = item.get("TextDetection", {})
        word = normalize_word(str(text.get("DetectedText", "")))
        if text.get("Type") == "WORD" and word:
            yield "WORD", word, float(text.get("Confidence", 0.0))
    elif api_name == "FACE_DETECTION":
        yield "LABEL", "Face", float(item.get("Face", {}).get("Confidence", 0.0))
    elif api_name == "FACE_SEARCH":
        for match in item.get("FaceMatches", ()):
            person = match.get("Face", {}).get("ExternalImageId")
            if person:
                yield "PERSON", str(person), float(match.get("Similarity", 0.0))
    elif api_name == "CONTENT_MODERATION":
        label = item.get("ModerationLabel", {})
        confidence = float(label.get("Confidence", 0.0))
        yield "MODERATION", str(label.get("Name", "")), confidence
        if label.get("ParentName"):
            yield "MODERATION", str(label["ParentName"]), confidence
    elif api_name == "CELEBRITY_RECOGNITION":
        celebrity = item.get("Celebrity", {})
        yield "CELEBRITY", str(celebrity.get("Name", "")), float(celebrity.get("Confidence", 0.0))


def page_terms(api: VideoApi, items: Sequence[Mapping[str, Any]]) -> list[VideoTerm]:
    """Fold a page's items into one term per finding, with the seconds it was seen at."""
    confidence: dict[tuple[str, str], float] = {}
    seconds: dict[tuple[str, str], set[int]] = {}
    for item in items:
        second = _timestamp(item) // 1000
        for kind, value, score in _findings(api.name, item):
            if not value.strip():
                continue
            key = (kind, value)
            confidence[key] = max(score, confidence.get(key, 0.0))
            seconds.setdefault(key, set()).add(second)
    return [
        VideoTerm(kind, value, confidence[(kind, value)], frozenset(seconds[(kind, value)]))
        for kind, value in confidence
    ]


def start_parked(*, ports: VideoPorts, settings: VideoSettings, now: str, limit: int) -> int:
    """Start up to ``limit`` parked jobs, oldest first; stop at the first that parks again.

    Returns
    -------
    int
        How many started.
    """
    started = 0
    # A few extra candidates: one that Rekognition now refuses outright frees no slot.
    for job in ports.jobs.open_jobs(JobState.PARKED, since_before=None, limit=limit + 5):
        state = _start_safely(job, ports=ports, settings=settings, now=now)
        if state is JobState.PARKED:
            break
        started += state is JobState.RUNNING
        if started >= limit:
            break
    return started


MAX_START_ATTEMPTS = 5
"""A job whose start fails unexpectedly this often is failed (and alarmed), not retried."""


def _start_safely(
    job: VideoJob, *, ports: VideoPorts, settings: VideoSettings, now: str
) -> JobState | None:
    """Start one job of a batch; an unexpected error is logged and counted, not raised.

    One job Rekognition will not start (a missing object, a changed setting) must not
    stop the backlog behind it. After :data:`MAX_START_ATTEMPTS` the job is failed.
    """
    try:
        return try_start(job, ports=ports, settings=settings, now=now).state
    except Exception as error:  # noqa: BLE001 - isolated per job, logged and counted below
        attempts = job.attempts + 1
        logger.exception("Video job could not be started", token=job.token, attempts=attempts)
        metrics.add_metric(name="VideoJobStartErrors", unit=MetricUnit.Count, value=1)
        detail = f"{type(error).__name__}: {error}"
        if attempts >= MAX_START_ATTEMPTS:
            finish_job(
                job.with_changes(attempts=attempts),
                JobState.FAILED,
                ports=ports,
                now=now,
                error=detail,
            )
            return JobState.FAILED
        ports.jobs.save(job.with_changes(attempts=attempts, error=detail))
        return None


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """What one sweep did."""

    timed_out: int
    restarted: int
    unparked: int


def sweep(*, ports: VideoPorts, settings: VideoSettings, now: str) -> SweepSummary:
    """Time out silent jobs, retry interrupted starts, and start parked jobs.

    Parameters
    ----------
    ports : VideoPorts
    settings : VideoSettings
    now : str
        ISO-8601 time of the sweep.

    Returns
    -------
    SweepSummary
    """
    moment = datetime.fromisoformat(now)
    deadline = (moment - timedelta(minutes=settings.job_timeout_minutes)).isoformat(
        timespec="seconds"
    )
    timed_out = 0
    silent = {
        JobState.RUNNING: "no completion message",
        JobState.COLLECTING: "results not collected",
    }
    for state, what in silent.items():
        for job in ports.jobs.open_jobs(state, since_before=deadline, limit=settings.sweep_batch):
            finish_job(
                job,
                JobState.TIMED_OUT,
                ports=ports,
                now=now,
                error=f"{what} within {settings.job_timeout_minutes} minutes",
            )
            timed_out += 1
    stale = (moment - timedelta(minutes=STALE_START_MINUTES)).isoformat(timespec="seconds")
    restarted = 0
    for job in ports.jobs.open_jobs(
        JobState.STARTING, since_before=stale, limit=settings.sweep_batch
    ):
        if _start_safely(job, ports=ports, settings=settings, now=now) is JobState.RUNNING:
            restarted += 1
    unparked = start_parked(ports=ports, settings=settings, now=now, limit=settings.sweep_batch)
    summary = SweepSummary(timed_out=timed_out, restarted=restarted, unparked=unparked)
    logger.info("Video jobs swept", timed_out=timed_out, restarted=restarted, unparked=unparked)
    return summary


def _dead_letter(ports: VideoPorts, reason: str, detail: str, text: str) -> str:
    logger.error("Video message not processed", reason=reason, detail=detail)
    metrics.add_metric(name="VideoMessageRejected", unit=MetricUnit.Count, value=1)
    ports.dead_letters.send(json.dumps({"reason": reason, "detail": detail, "message": text}))
    return reason
