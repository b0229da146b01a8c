"""Job records saved under optimistic locking; messages that cannot be processed kept."""

from __future__ import annotations

import contextlib
import json

from medialens.shared.errors import StaleJobError, SupersededError
from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.video.models import JobState, VideoJob
from medialens.video.ports import VideoPorts


def save_job(ports: VideoPorts, job: VideoJob, *, previous: VideoJob) -> bool:
    """Save ``job`` if its record is still ``previous``; ``False`` when another invocation won."""
    try:
        ports.jobs.save(job, previous=previous)
    except StaleJobError:
        logger.info("Video job moved on elsewhere", token=job.token, wanted=job.state.value)
        return False
    return True


def dead_letter(ports: VideoPorts, reason: str, detail: str, text: str) -> str:
    """Keep a message that cannot be processed in the failures queue, logged and counted.

    Returns
    -------
    str
        ``reason``, for the caller's summary.
    """
    logger.error("Video message not processed", reason=reason, detail=detail)
    metrics.add_metric(name="VideoMessageRejected", unit=MetricUnit.Count, value=1)
    ports.dead_letters.send(json.dumps({"reason": reason, "detail": detail, "message": text}))
    return reason


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
    if not save_job(ports, finished, previous=previous):
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
