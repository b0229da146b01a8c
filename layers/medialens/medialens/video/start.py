"""Starting a video's Rekognition Video jobs, and the backlog when the quota is full."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medialens.catalog.location import CatalogLocation
from medialens.shared.errors import (
    QuotaExceededError,
    RejectedMediaError,
)
from medialens.shared.media import MediaObject, check_key_length
from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.shared.outcome import AnalysisOutcome, OutcomeStatus
from medialens.video.bookkeeping import finish_job, save_job
from medialens.video.models import (
    JobState,
    VideoApi,
    VideoJob,
    page_key,
    video_api,
)
from medialens.video.ports import VideoPorts
from medialens.video.settings import MAX_STORED_VIDEO_BYTES, VideoSettings

LAST_NUMBERED_PAGE = 99_999
"""Page numbers are written with five digits; longer runs are not expected of one video."""

STALE_START_MINUTES = 15
"""A job still STARTING after this long lost its invocation mid-start; the sweeper retries."""


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
        When the object is larger than Rekognition Video accepts, or its result pages'
        keys would be longer than S3 takes.
    """
    if media.size > MAX_STORED_VIDEO_BYTES:
        raise RejectedMediaError(
            "too_large", f"{media.size} bytes is over Rekognition Video's 10 GB limit"
        )
    apis = [video_api(name) for name in settings.enabled_apis]
    check_key_length(
        media.key,
        [page_key(settings.results_prefix, media.key, api, LAST_NUMBERED_PAGE) for api in apis],
    )
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
        if not save_job(ports, parked, previous=job):
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
    if not save_job(ports, running, previous=job):
        return ports.jobs.get(job.token) or job
    metrics.add_metric(name="VideoJobStarted", unit=MetricUnit.Count, value=1)
    return running


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
        if not save_job(ports, claimed, previous=job):
            continue
        state = start_safely(claimed, ports=ports, settings=settings, now=now)
        if state is JobState.PARKED:
            break
        started += state is JobState.RUNNING
        if started >= limit:
            break
    return started


MAX_START_ERRORS = 5
"""A job whose start fails unexpectedly this often is failed (and alarmed), not retried.

Parking is not an error: a job may park any number of times."""


def start_safely(
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
        save_job(ports, failed.with_changes(error=detail, state=back), previous=job)
        return None


def is_superseded(job: VideoJob, ports: VideoPorts) -> bool:
    """Whether a newer version of the job's video replaced it in the catalog, or it was deleted.

    A job's video always has a catalog entry (it is written before the jobs), so a
    missing one means the video was deleted: its results must not be written.
    """
    current = ports.catalog.current_version(job.media_id)
    if current is None:
        return True
    return bool(current) and job.version_id is not None and current != job.version_id


def drop_superseded(job: VideoJob, *, ports: VideoPorts, settings: VideoSettings, now: str) -> str:
    """End a job whose video was replaced: its results would describe the wrong version."""
    superseded = job.with_changes(state=JobState.SUPERSEDED, finished_at=now, next_token=None)
    if not save_job(ports, superseded, previous=job):
        return "duplicate"
    logger.info("Video job superseded", token=job.token, media_id=job.media_id)
    metrics.add_metric(name="VideoJobSuperseded", unit=MetricUnit.Count, value=1)
    start_parked(ports=ports, settings=settings, now=now, limit=1)
    return "superseded"
