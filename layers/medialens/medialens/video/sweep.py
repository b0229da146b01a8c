"""The scheduled sweep: parked jobs started, lost jobs timed out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.video.bookkeeping import finish_job
from medialens.video.models import (
    JobState,
)
from medialens.video.ports import VideoPorts
from medialens.video.settings import VideoSettings
from medialens.video.start import STALE_START_MINUTES, start_parked, start_safely


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
        if start_safely(job, ports=ports, settings=settings, now=now) is JobState.RUNNING:
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
