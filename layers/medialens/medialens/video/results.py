"""Use cases of the video pipeline: start jobs, collect their results, keep the backlog moving.

A video drop starts one Rekognition Video job per enabled analysis. Rekognition
publishes a completion message per job; :func:`handle_notification` then pages through
the results, writing each page as it arrives, and hands over to a new invocation when
time runs short. Jobs that meet the concurrent-job quota wait in the backlog
(``PARKED``) and are started as other jobs finish, or by :func:`sweep`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from medialens.catalog.terms import normalize_word
from medialens.shared.errors import (
    MalformedNotificationError,
    PaginationExpiredError,
    StaleJobError,
)
from medialens.shared.observability import MetricUnit, logger, metrics
from medialens.video.bookkeeping import dead_letter, finish_job, repair_video, save_job
from medialens.video.models import (
    Continuation,
    JobNotification,
    JobState,
    VideoApi,
    VideoJob,
    VideoTerm,
    page_key,
)
from medialens.video.ports import VideoPorts
from medialens.video.settings import VideoSettings
from medialens.video.start import drop_superseded, is_superseded, start_parked


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
        return dead_letter(ports, "malformed", str(error), text)
    job = ports.jobs.get(notification.job_tag) if notification.job_tag else None
    if job is None or job.job_id not in {None, notification.job_id}:
        detail = f"no job recorded for {notification.job_id}"
        return dead_letter(ports, "unknown_job", detail, text)
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
    if not save_job(ports, collecting, previous=read):
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
        return dead_letter(ports, "malformed", str(error), text)
    job = ports.jobs.get(continuation.token)
    if job is None:
        return dead_letter(ports, "unknown_job", "no job for this continuation", text)
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
    if not save_job(ports, taken, previous=job):
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
            settings.results_bucket,
            page_key(settings.results_prefix, job.key, job.api, number),
            page.document,
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
        if not save_job(ports, saved, previous=job):
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
