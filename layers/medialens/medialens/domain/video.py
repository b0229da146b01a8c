"""Use cases of the video pipeline: start jobs, collect their results, keep the backlog moving.

A video drop starts one Rekognition Video job per enabled analysis. Rekognition
publishes a completion message per job; :func:`handle_notification` then pages through
the results, writing each page as it arrives, and hands over to a new invocation when
time runs short. Jobs that meet the concurrent-job quota wait in the backlog
(``PARKED``) and are started as other jobs finish, or by :func:`sweep`.
"""

from __future__ import annotations

import contextlib
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
    StaleJobError,
    SupersededError,
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
        # Another invocation may have moved the job on meanwhile; its state is reported.
        {
            JobState.RUNNING: started,
            JobState.COLLECTING: started,
            JobState.SUCCEEDED: started,
            JobState.PARKED: parked,
            JobState.FAILED: failed,
            JobState.TIMED_OUT: failed,
            JobState.SUPERSEDED: failed,
        }.get(outcome.state, duplicates).append(job.api.name)
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
    """Ask Rekognition to start ``job`` (as read from the table); park it when the quota is full.

    Every save is conditional on the record still being as read: when another
    invocation moved the job meanwhile, its outcome stands and the job is returned as
    the table now holds it.

    Returns
    -------
    VideoJob
        The job as recorded afterwards: RUNNING, PARKED or FAILED (or another invocation's).
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
        parked = attempt.with_changes(
            state=JobState.PARKED, error=str(error), parked_since=job.parked_since or now
        )
        if not _save(ports, parked, previous=job):
            return ports.jobs.get(job.token) or job
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
            previous=job,
        )
    running = attempt.with_changes(
        state=JobState.RUNNING, job_id=job_id, started_at=now, error=None
    )
    if not _save(ports, running, previous=job):
        return ports.jobs.get(job.token) or job
    metrics.add_metric(name="VideoJobStarted", unit=MetricUnit.Count, value=1)
    return running


def _save(ports: VideoPorts, job: VideoJob, *, previous: VideoJob) -> bool:
    """Save ``job`` if its record is still ``previous``; ``False`` when another invocation won."""
    try:
        ports.jobs.save(job, previous=previous)
    except StaleJobError:
        logger.info("Video job moved on elsewhere", token=job.token, wanted=job.state.value)
        return False
    return True


def finish_job(
    job: VideoJob,
    state: JobState,
    *,
    ports: VideoPorts,
    now: str,
    previous: VideoJob,
    error: str | None = None,
) -> VideoJob:
    """Record a job's end, on the job and then on its video; log and count failures.

    The job is saved first, conditionally, so two invocations ending the same job (a
    collection and the sweeper's time-out) cannot both write the video. If the video's
    write then fails, a redelivered message finds the job ended and repairs the video
    (:func:`repair_video`).
    """
    finished = job.with_changes(state=state, finished_at=now, error=error, next_token=None)
    if not _save(ports, finished, previous=previous):
        return ports.jobs.get(job.token) or finished
    try:
        status = ports.catalog.record_job_state(
            job.media_id, job.api.name, state, now, version_id=job.version_id
        )
    except SupersededError:
        superseded = finished.with_changes(state=JobState.SUPERSEDED)
        ports.jobs.save(superseded, previous=finished)
        logger.info("Video job superseded", token=job.token, media_id=job.media_id)
        metrics.add_metric(name="VideoJobSuperseded", unit=MetricUnit.Count, value=1)
        return superseded
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


def repair_video(job: VideoJob, *, ports: VideoPorts) -> None:
    """Write an ended job's state on its video again (idempotent; heals a failed write)."""
    if job.state is JobState.SUPERSEDED or job.finished_at is None:
        return
    with contextlib.suppress(SupersededError):
        ports.catalog.record_job_state(
            job.media_id, job.api.name, job.state, job.finished_at, version_id=job.version_id
        )


def is_superseded(job: VideoJob, ports: VideoPorts) -> bool:
    """Whether a newer version of the job's video has replaced it in the catalog."""
    current = ports.catalog.current_version(job.media_id)
    return None not in (current, job.version_id) and current != job.version_id


def drop_superseded(job: VideoJob, *, ports: VideoPorts, settings: VideoSettings, now: str) -> str:
    """End a job whose video was replaced: its results would describe the wrong version."""
    superseded = job.with_changes(state=JobState.SUPERSEDED, finished_at=now, next_token=None)
    if not _save(ports, superseded, previous=job):
        return "duplicate"
    logger.info("Video job superseded", token=job.token, media_id=job.media_id)
    metrics.add_metric(name="VideoJobSuperseded", unit=MetricUnit.Count, value=1)
    start_parked(ports=ports, settings=settings, now=now, limit=1)
    return "superseded"


def _lease_expired(job: VideoJob, now: str, settings: VideoSettings) -> bool:
    """Whether a collection has been silent long enough for another invocation to take over."""
    since = job.collecting_since
    if since is None:
        return True
    silent = datetime.fromisoformat(now) - datetime.fromisoformat(since)
    return silent >= timedelta(seconds=settings.collection_lease_s)


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
    dead-letter queue with the reason (and counted), never retried. A second delivery
    of the same message is a no-op, unless the collection it started has been silent
    for longer than ``settings.collection_lease_s`` (it crashed), which it then takes over.

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
        detail = f"no job recorded for {notification.job_id}"
        return _dead_letter(ports, "unknown_job", detail, text)
    now = clock()
    if not job.state.is_open:
        repair_video(job, ports=ports)
        logger.info("Duplicate completion message", token=job.token, state=job.state.value)
        return "duplicate"
    if job.state is JobState.COLLECTING and not _lease_expired(job, now, settings):
        logger.info("Completion message while collecting", token=job.token)
        return "duplicate"
    read = job
    job = job.with_changes(job_id=notification.job_id)
    if is_superseded(job, ports):
        return drop_superseded(job, ports=ports, settings=settings, now=now)
    if not notification.succeeded:
        detail = notification.message or f"Rekognition reported {notification.status}"
        finish_job(job, JobState.FAILED, ports=ports, now=now, error=detail, previous=read)
        start_parked(ports=ports, settings=settings, now=clock(), limit=1)
        return "failed"
    collecting = job.with_changes(
        state=JobState.COLLECTING, pages=0, items=0, next_token=None, collecting_since=now
    )
    if not _save(ports, collecting, previous=read):
        return "duplicate"
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

    The job's record, not the message, says where to continue. The message's own
    hand-over is taken at once; an older message is taken only when the collection has
    been given up (an error) or its lease has run out (a crash), and then resumes from
    the last saved page.

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
    if job is None:
        return _dead_letter(ports, "unknown_job", "no job for this continuation", text)
    if job.state is not JobState.COLLECTING:
        repair_video(job, ports=ports)
        logger.info("Continuation for a job no longer collecting", token=job.token)
        return "duplicate"
    now = clock()
    if continuation.next_token != job.next_token and not _lease_expired(job, now, settings):
        # An older hand-over delivered again while the collection is alive and ahead.
        logger.info("Stale continuation", token=job.token)
        return "duplicate"
    if is_superseded(job, ports):
        return drop_superseded(job, ports=ports, settings=settings, now=now)
    taken = job.with_changes(collecting_since=now)
    if not _save(ports, taken, previous=job):
        return "duplicate"
    return collect_results(
        taken,
        start_token=job.next_token,
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

    ``job`` is the record this invocation owns (saved as COLLECTING with its
    ``collecting_since``). Memory holds one page at a time. After each page the job is
    saved conditionally: if another invocation took the collection over, or the sweeper
    ended the job, this one stops. When less than ``settings.min_remaining_ms`` is left,
    the collection is handed to a new invocation through the continuation queue. An
    expired token restarts from page one; the writes are idempotent (pages overwrite,
    term seconds are sets), so nothing counts twice.

    Returns
    -------
    str
        ``collected``, ``continued``, ``superseded``, ``failed`` or ``duplicate``.
    """
    owned = [job]
    try:
        return _collect_pages(
            owned,
            start_token=start_token,
            ports=ports,
            settings=settings,
            remaining_ms=remaining_ms,
            clock=clock,
            hops=hops,
        )
    except BaseException:
        # Give the collection up, so that Lambda's retry of the same message (a minute
        # later, well inside the lease) takes it over instead of calling it a duplicate.
        with contextlib.suppress(StaleJobError):
            ports.jobs.save(owned[-1].with_changes(collecting_since=None), previous=owned[-1])
        raise


def _collect_pages(
    owned: list[VideoJob],
    *,
    start_token: str | None,
    ports: VideoPorts,
    settings: VideoSettings,
    remaining_ms: Callable[[], int],
    clock: Callable[[], str],
    hops: int,
) -> str:
    """Run the page loop of :func:`collect_results`; ``owned[-1]`` is the last saved record."""
    job = owned[-1]
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
        now = clock()
        if is_superseded(job, ports):
            return drop_superseded(job, ports=ports, settings=settings, now=now)
        number = job.pages + 1
        ports.store.put_json(
            settings.results_bucket, page_key(job, settings.results_prefix, number), page.document
        )
        terms = page_terms(job.api, page.items)
        if terms:
            ports.catalog.add_video_terms(job.media_id, terms, now)
        if job.api.name == "CONTENT_MODERATION" and any(
            term.confidence >= settings.moderation_flag_threshold for term in terms
        ):
            ports.catalog.flag(job.media_id, now)
        done = job.with_changes(pages=number, items=job.items + len(page.items))
        if page.next_token is None:
            finish_job(done, JobState.SUCCEEDED, ports=ports, now=now, previous=job)
            start_parked(ports=ports, settings=settings, now=now, limit=1)
            return "collected"
        saved = done.with_changes(next_token=page.next_token)
        if not _save(ports, saved, previous=job):
            return "duplicate"
        owned.append(saved)
        job, next_token = saved, page.next_token
        if remaining_ms() < settings.min_remaining_ms:
            if hops + 1 > settings.max_continuations:
                error = "too many hand-overs"
                finish_job(job, JobState.FAILED, ports=ports, now=now, error=error, previous=job)
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

    Each job is claimed first (PARKED -> STARTING, conditionally), so jobs ending at the
    same moment start different parked jobs, not the same one.

    Returns
    -------
    int
        How many started.
    """
    started = 0
    # A few extra candidates: a claim lost to another invocation, or a job Rekognition
    # now refuses outright, frees no slot.
    for job in ports.jobs.open_jobs(JobState.PARKED, since_before=None, limit=limit + 5):
        if is_superseded(job, ports):
            drop_superseded(job, ports=ports, settings=settings, now=now)
            continue
        claimed = job.with_changes(state=JobState.STARTING)
        if not _save(ports, claimed, previous=job):
            continue
        state = _start_safely(claimed, ports=ports, settings=settings, now=now)
        if state is JobState.PARKED:
            break
        started += state is JobState.RUNNING
        if started >= limit:
            break
    return started


MAX_START_ERRORS = 5
"""A job whose start fails unexpectedly this often is failed (and alarmed), not retried.

Parking is not an error: a job may park any number of times."""


def _start_safely(
    job: VideoJob, *, ports: VideoPorts, settings: VideoSettings, now: str
) -> JobState | None:
    """Start one job of a batch; an unexpected error is logged and counted, not raised.

    One job Rekognition will not start (a missing object, a changed setting) must not
    stop the backlog behind it. After :data:`MAX_START_ERRORS` the job is failed.
    """
    try:
        return try_start(job, ports=ports, settings=settings, now=now).state
    except Exception as error:  # noqa: BLE001 - isolated per job, logged and counted below
        errors = job.start_errors + 1
        logger.exception("Video job could not be started", token=job.token, errors=errors)
        metrics.add_metric(name="VideoJobStartErrors", unit=MetricUnit.Count, value=1)
        detail = f"{type(error).__name__}: {error}"
        failed = job.with_changes(start_errors=errors)
        if errors >= MAX_START_ERRORS:
            finish_job(failed, JobState.FAILED, ports=ports, now=now, error=detail, previous=job)
            return JobState.FAILED
        # A job claimed from the backlog goes back to its place in it.
        back = JobState.PARKED if job.parked_since else job.state
        _save(ports, failed.with_changes(error=detail, state=back), previous=job)
        return None


@dataclass(frozen=True, slots=True)
class SweepSummary:
    """What one sweep did."""

    timed_out: int
    restarted: int
    unparked: int
    errors: int = 0


def sweep(*, ports: VideoPorts, settings: VideoSettings, now: str) -> SweepSummary:
    """Time out silent jobs, retry interrupted starts, and start parked jobs.

    An error on one job is logged and counted (``VideoSweepErrors``) and the sweep goes
    on with the others.

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
    timed_out = errors = 0
    silent = {
        JobState.RUNNING: "no completion message",
        JobState.COLLECTING: "results not collected",
    }
    for state, what in silent.items():
        for job in ports.jobs.open_jobs(state, since_before=deadline, limit=settings.sweep_batch):
            try:
                ended = finish_job(
                    job,
                    JobState.TIMED_OUT,
                    ports=ports,
                    now=now,
                    error=f"{what} within {settings.job_timeout_minutes} minutes",
                    previous=job,
                )
            except Exception:  # noqa: BLE001 - one job must not stop the sweep
                logger.exception("Video job could not be timed out", token=job.token)
                metrics.add_metric(name="VideoSweepErrors", unit=MetricUnit.Count, value=1)
                errors += 1
                continue
            timed_out += ended.state is JobState.TIMED_OUT
    stale = (moment - timedelta(minutes=STALE_START_MINUTES)).isoformat(timespec="seconds")
    restarted = 0
    for job in ports.jobs.open_jobs(
        JobState.STARTING, since_before=stale, limit=settings.sweep_batch
    ):
        if _start_safely(job, ports=ports, settings=settings, now=now) is JobState.RUNNING:
            restarted += 1
    unparked = start_parked(ports=ports, settings=settings, now=now, limit=settings.sweep_batch)
    summary = SweepSummary(
        timed_out=timed_out, restarted=restarted, unparked=unparked, errors=errors
    )
    logger.info(
        "Video jobs swept",
        timed_out=timed_out,
        restarted=restarted,
        unparked=unparked,
        errors=errors,
    )
    return summary


def _dead_letter(ports: VideoPorts, reason: str, detail: str, text: str) -> str:
    logger.error("Video message not processed", reason=reason, detail=detail)
    metrics.add_metric(name="VideoMessageRejected", unit=MetricUnit.Count, value=1)
    ports.dead_letters.send(json.dumps({"reason": reason, "detail": detail, "message": text}))
    return reason
