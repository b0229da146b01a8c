"""The video use cases (start, collect, hand over, sweep) against in-memory fakes of the ports."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from medialens.catalog.location import CatalogLocation
from medialens.shared.errors import (
    PaginationExpiredError,
    QuotaExceededError,
    RejectedMediaError,
    StaleJobError,
    SupersededError,
)
from medialens.shared.media import MediaObject
from medialens.video.models import (
    Continuation,
    JobNotification,
    JobState,
    MediaStatus,
    VideoJob,
    VideoPage,
    VideoTerm,
    overall_status,
    page_key,
    video_api,
)
from medialens.video.ports import VideoPorts
from medialens.video.results import handle_notification, page_terms, resume_collection
from medialens.video.settings import VideoSettings
from medialens.video.start import STALE_START_MINUTES, StartSummary, start_video_jobs
from medialens.video.sweep import sweep

BUCKET = "medialens-media-123456789012-eu-west-1"
THREE_APIS = ("LABEL_DETECTION", "TEXT_DETECTION", "CONTENT_MODERATION")
SETTINGS = VideoSettings(
    catalog_table="medialens-CatalogTable",
    jobs_table="medialens-VideoJobsTable",
    results_bucket=BUCKET,
    topic_arn="arn:aws:sns:eu-west-1:123456789012:medialens-VideoJobsTopic",
    role_arn="arn:aws:iam::123456789012:role/medialens-RekognitionVideoRole",
    face_collection_id="medialens-FaceCollection",
    continuation_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/continuations",
    failures_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/failures",
    enabled_apis=THREE_APIS,
)


# ------------------------------------------------------------------------------- fakes


class FakeRecognizer:
    """Rekognition Video as the use cases see it: a concurrent-job quota and paged results.

    ``ClientRequestToken`` is honoured (the same token returns the same JobId). Results
    are queued per job token as a list of pages of items; page tokens are
    ``<JobId>:<page number>``.
    """

    def __init__(self, quota: int) -> None:
        self.quota = quota
        self.job_ids: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        self.running: set[str] = set()
        self.most_running = 0
        self.started: list[VideoJob] = []
        self.start_calls: list[tuple[str, str, str, dict[str, Any]]] = []
        self.failing: dict[str, Exception] = {}
        self.results: dict[str, list[list[dict[str, Any]]]] = {}
        self.expired: dict[str, int] = {}
        self.reads: list[tuple[str, str | None, int]] = []

    def start(
        self, job: VideoJob, *, topic_arn: str, role_arn: str, options: Mapping[str, Any]
    ) -> str:
        self.start_calls.append((job.token, topic_arn, role_arn, dict(options)))
        if job.token in self.failing:
            raise self.failing[job.token]
        if job.token in self.job_ids:
            return self.job_ids[job.token]
        if len(self.running) >= self.quota:
            raise QuotaExceededError(f"{job.api.start}: LimitExceededException")
        job_id = f"6de014b0-2121-4bf0-9e31-{len(self.job_ids) + 1:012d}"
        self.job_ids[job.token] = job_id
        self.tokens[job_id] = job.token
        self.running.add(job_id)
        self.most_running = max(self.most_running, len(self.running))
        self.started.append(job)
        return job_id

    def finish(self, token: str) -> str:
        """Rekognition ends the job (it no longer counts against the quota)."""
        job_id = self.job_ids[token]
        self.running.discard(job_id)
        return job_id

    def get_page(self, job: VideoJob, *, next_token: str | None, max_results: int) -> VideoPage:
        assert job.job_id is not None
        token = self.tokens[job.job_id]
        self.reads.append((token, next_token, max_results))
        if next_token is not None and self.expired.get(next_token, 0) > 0:
            self.expired[next_token] -= 1
            raise PaginationExpiredError(f"InvalidPaginationTokenException: {next_token}")
        pages = self.results.get(token, [[]])
        index = 0 if next_token is None else int(next_token.rsplit(":", 1)[1]) - 1
        following = f"{job.job_id}:{index + 2}" if index + 1 < len(pages) else None
        document: dict[str, Any] = {
            "JobStatus": "SUCCEEDED",
            job.api.results_key: pages[index],
        }
        if following:
            document["NextToken"] = following
        return VideoPage(items=pages[index], next_token=following, document=document)


class FakeJobStore:
    """The jobs table as a dict: conditional create, open jobs oldest first."""

    def __init__(self) -> None:
        self.jobs: dict[str, VideoJob] = {}

    def create(self, job: VideoJob) -> bool:
        if job.token in self.jobs:
            return False
        self.jobs[job.token] = job
        return True

    def get(self, token: str) -> VideoJob | None:
        return self.jobs.get(token)

    def save(self, job: VideoJob, *, previous: VideoJob | None = None) -> None:
        stored = self.jobs.get(job.token)
        if previous is not None:

            def seen(j: VideoJob) -> tuple[object, ...]:
                return (j.state, j.collecting_since, j.next_token)

            if stored is None or seen(stored) != seen(previous):
                raise StaleJobError(job.token)
        self.jobs[job.token] = job

    def open_jobs(self, state: JobState, *, since_before: str | None, limit: int) -> list[VideoJob]:
        found = [
            job
            for job in self.jobs.values()
            if job.state is state
            and job.open_since is not None
            and (since_before is None or job.open_since < since_before)
        ]
        found.sort(key=lambda job: (job.open_since or "", job.token))
        return found[:limit]

    def in_state(self, state: JobState) -> list[VideoJob]:
        return [job for job in self.jobs.values() if job.state is state]


@dataclass
class VideoEntry:
    location: CatalogLocation
    jobs: dict[str, str]
    status: MediaStatus = MediaStatus.IN_PROGRESS
    flagged: bool = False
    terms: dict[str, tuple[float, frozenset[int]]] = field(default_factory=dict)


class FakeCatalog:
    """The catalog's video entries, with the DynamoDB catalog's replace-and-merge semantics."""

    def __init__(self) -> None:
        self.videos: dict[str, VideoEntry] = {}
        self.failures: list[Exception] = []

    def start_video(self, location: CatalogLocation, apis: Sequence[str], now: str) -> None:
        self.videos[location.media_id] = VideoEntry(
            location, dict.fromkeys(apis, JobState.STARTING.value)
        )

    def record_job_state(
        self, media_id: str, api: str, state: JobState, now: str, *, version_id: str | None
    ) -> MediaStatus:
        if self.failures:
            raise self.failures.pop(0)
        entry = self.videos.get(media_id)
        if entry is None or (
            None not in (version_id, entry.location.version_id)
            and (version_id != entry.location.version_id)
        ):
            raise SupersededError(media_id)
        entry = self.videos[media_id]
        entry.jobs[api] = state.value
        status = overall_status(entry.jobs)
        if status is not MediaStatus.IN_PROGRESS:
            entry.status = status
        return status

    def add_video_terms(self, media_id: str, terms: Sequence[VideoTerm], now: str) -> None:
        found = self.videos[media_id].terms
        for term in terms:
            key = f"{term.kind}#{term.value.strip().lower()}"
            confidence, seconds = found.get(key, (0.0, frozenset()))
            found[key] = (max(confidence, term.confidence), seconds | term.seconds)

    def flag(self, media_id: str, now: str) -> None:
        self.videos[media_id].flagged = True

    def current_version(self, media_id: str) -> str | None:
        entry = self.videos.get(media_id)
        return (entry.location.version_id or "") if entry else None


class FakeMediaStore:
    """Records every JSON document written, in order."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, str, dict[str, Any]]] = []

    def read_head(self, media: MediaObject, length: int) -> bytes:
        raise AssertionError("the video use cases never read media")

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        self.puts.append((bucket, key, json.loads(json.dumps(document))))

    def objects(self) -> dict[str, dict[str, Any]]:
        """What the bucket holds at the end (later writes replace earlier ones)."""
        return {key: document for _, key, document in self.puts}


class ListOutbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, body: str) -> None:
        self.messages.append(body)


class Clock:
    def __init__(self, start: str = "2026-11-27T10:00:00+00:00") -> None:
        self.moment = datetime.fromisoformat(start)

    def __call__(self) -> str:
        return self.moment.isoformat(timespec="seconds")

    def advance(self, *, minutes: float = 0, seconds: float = 0) -> str:
        self.moment += timedelta(minutes=minutes, seconds=seconds)
        return self()


@dataclass
class Pipeline:
    """The ports wired together, and the moves a test makes on them."""

    recognizer: FakeRecognizer
    settings: VideoSettings = SETTINGS
    jobs: FakeJobStore = field(default_factory=FakeJobStore)
    catalog: FakeCatalog = field(default_factory=FakeCatalog)
    store: FakeMediaStore = field(default_factory=FakeMediaStore)
    continuations: ListOutbox = field(default_factory=ListOutbox)
    dead_letters: ListOutbox = field(default_factory=ListOutbox)
    clock: Clock = field(default_factory=Clock)
    remaining: int = 60_000

    @property
    def ports(self) -> VideoPorts:
        return VideoPorts(
            recognizer=self.recognizer,
            jobs=self.jobs,
            catalog=self.catalog,
            store=self.store,
            continuations=self.continuations,
            dead_letters=self.dead_letters,
        )

    def drop(self, media: MediaObject) -> StartSummary:
        return start_video_jobs(media, ports=self.ports, settings=self.settings, now=self.clock())

    def job(self, media: MediaObject, api: str) -> VideoJob:
        [found] = [
            job
            for job in self.jobs.jobs.values()
            if (job.key, job.version_id, job.api.name) == (media.key, media.version_id, api)
        ]
        return found

    def notify(self, text: str) -> str:
        return handle_notification(
            text,
            ports=self.ports,
            settings=self.settings,
            remaining_ms=lambda: self.remaining,
            clock=self.clock,
        )

    def resume(self, text: str) -> str:
        return resume_collection(
            text,
            ports=self.ports,
            settings=self.settings,
            remaining_ms=lambda: self.remaining,
            clock=self.clock,
        )

    def complete(self, job: VideoJob, status: str = "SUCCEEDED", message: str = "") -> str:
        """Rekognition ends ``job`` and publishes its completion message."""
        job_id = self.recognizer.finish(job.token)
        return self.notify(completion(job, job_id, status=status, message=message))

    def sweep(self) -> tuple[int, int, int]:
        summary = sweep(ports=self.ports, settings=self.settings, now=self.clock())
        return summary.timed_out, summary.restarted, summary.unparked


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline(FakeRecognizer(quota=20))


# ----------------------------------------------------------------------------- helpers


def clip(
    key: str = "uploads/clips/holiday.mp4", version: str = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
) -> MediaObject:
    return MediaObject(
        bucket=BUCKET,
        key=key,
        size=48_213_114,
        etag="b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5",
        version_id=version,
        sequencer="0055AED6DCD90281E5",
    )


def completion(job: VideoJob, job_id: str, *, status: str = "SUCCEEDED", message: str = "") -> str:
    """The SNS message Rekognition publishes when a job ends."""
    return json.dumps(
        {
            "JobId": job_id,
            "Status": status,
            "API": job.api.name,
            "JobTag": job.token,
            "Message": message,
            "Timestamp": 1764237600000,
            "Video": {"S3ObjectName": job.key, "S3Bucket": job.bucket},
        }
    )


def label(
    ms: int,
    name: str,
    confidence: float,
    parents: Sequence[str] = (),
    aliases: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "Timestamp": ms,
        "Label": {
            "Name": name,
            "Confidence": confidence,
            "Instances": [],
            "Parents": [{"Name": parent} for parent in parents],
            "Aliases": [{"Name": alias} for alias in aliases],
            "Categories": [{"Name": "Animals and Pets"}],
        },
    }


def word(ms: int, text: str, confidence: float, kind: str = "WORD") -> dict[str, Any]:
    return {
        "Timestamp": ms,
        "TextDetection": {"DetectedText": text, "Type": kind, "Id": 1, "Confidence": confidence},
    }


def moderation(ms: int, name: str, parent: str, confidence: float) -> dict[str, Any]:
    return {
        "Timestamp": ms,
        "ModerationLabel": {"Name": name, "ParentName": parent, "Confidence": confidence},
    }


def dead_letter(pipeline: Pipeline) -> dict[str, Any]:
    [message] = pipeline.dead_letters.messages
    parsed: dict[str, Any] = json.loads(message)
    return parsed


def only(*apis: str) -> VideoSettings:
    return replace(SETTINGS, enabled_apis=apis)


# ------------------------------------------------------------------------------ starts


def test_a_video_drop_starts_one_job_per_enabled_analysis(pipeline: Pipeline) -> None:
    media = clip()

    summary = pipeline.drop(media)

    assert summary.started == THREE_APIS
    assert (summary.parked, summary.failed, summary.duplicates) == ((), (), ())
    running = pipeline.jobs.in_state(JobState.RUNNING)
    assert sorted(job.api.name for job in running) == sorted(THREE_APIS)
    assert {job.job_id for job in running} == set(pipeline.recognizer.job_ids.values())
    assert all(job.attempts == 1 and job.started_at == pipeline.clock() for job in running)
    calls = {token: call for token, *call in pipeline.recognizer.start_calls}
    label_job = pipeline.job(media, "LABEL_DETECTION")
    assert calls[label_job.token] == [
        SETTINGS.topic_arn,
        SETTINGS.role_arn,
        {"MinConfidence": 55.0},
    ]
    entry = pipeline.catalog.videos[media.key]
    assert entry.status is MediaStatus.IN_PROGRESS
    assert entry.jobs == dict.fromkeys(THREE_APIS, "STARTING")
    assert entry.location.result_key == f"results/{media.key}/"
    assert entry.location.version_id == media.version_id


def test_a_duplicate_drop_starts_nothing_new_and_reports_the_duplicates(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    starts = len(pipeline.recognizer.start_calls)

    again = pipeline.drop(replace(media))

    assert again.duplicates == THREE_APIS
    assert (again.started, again.parked, again.failed) == ((), (), ())
    assert len(pipeline.recognizer.start_calls) == starts
    assert len(pipeline.jobs.jobs) == 3


def test_a_new_version_of_the_same_key_gets_jobs_of_its_own(pipeline: Pipeline) -> None:
    pipeline.drop(clip(version="v1"))

    summary = pipeline.drop(clip(version="v2"))

    assert summary.started == THREE_APIS
    assert len(pipeline.jobs.jobs) == 6


def test_a_redelivered_drop_does_not_undo_the_results_of_finished_jobs(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    labels = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[labels.token] = [[label(0, "Dog", 97.0)]]
    pipeline.complete(labels)

    pipeline.drop(media)  # Lambda's retry, or S3 delivering the event twice
    for api in ("TEXT_DETECTION", "CONTENT_MODERATION"):
        pipeline.complete(pipeline.job(media, api))

    entry = pipeline.catalog.videos[media.key]
    assert entry.jobs["LABEL_DETECTION"] == "SUCCEEDED"
    assert entry.status is MediaStatus.ANALYSED
    assert "LABEL#dog" in entry.terms


def test_a_video_over_rekognitions_size_limit_is_rejected_before_any_job(
    pipeline: Pipeline,
) -> None:
    with pytest.raises(RejectedMediaError) as caught:
        pipeline.drop(replace(clip(), size=10 * 1024**3 + 1))

    assert caught.value.reason == "too_large"
    assert pipeline.jobs.jobs == {}
    assert pipeline.recognizer.start_calls == []


def test_a_video_rekognition_refuses_fails_that_job_only(pipeline: Pipeline) -> None:
    media = clip()
    refused = VideoJob.for_media(media, video_api("TEXT_DETECTION"), pipeline.clock())
    pipeline.recognizer.failing[refused.token] = RejectedMediaError(
        "too_large", "Video size in bytes exceeds the maximum"
    )

    summary = pipeline.drop(media)

    assert summary.failed == ("TEXT_DETECTION",)
    assert summary.started == ("LABEL_DETECTION", "CONTENT_MODERATION")
    job = pipeline.job(media, "TEXT_DETECTION")
    assert job.state is JobState.FAILED
    assert job.error == "too_large: Video size in bytes exceeds the maximum"
    assert pipeline.catalog.videos[media.key].jobs["TEXT_DETECTION"] == "FAILED"


# ----------------------------------------------------------------------------- backlog


def test_the_backlog_under_a_quota_of_two_runs_every_job_oldest_first() -> None:
    pipeline = Pipeline(FakeRecognizer(quota=2))
    first, second = clip("uploads/clips/a.mp4"), clip("uploads/clips/b.mp4")

    one = pipeline.drop(first)
    pipeline.clock.advance(minutes=1)
    two = pipeline.drop(second)

    assert (len(one.started), len(one.parked)) == (2, 1)
    assert (len(two.started), len(two.parked)) == (0, 3)
    assert len(pipeline.jobs.in_state(JobState.RUNNING)) == 2
    assert len(pipeline.jobs.in_state(JobState.PARKED)) == 4
    outcomes: list[str] = []
    while pipeline.recognizer.running:
        pipeline.clock.advance(minutes=3)
        oldest = next(
            job
            for job in pipeline.recognizer.started
            if pipeline.recognizer.job_ids[job.token] in pipeline.recognizer.running
        )
        outcomes.append(pipeline.complete(pipeline.jobs.jobs[oldest.token]))
        assert len(pipeline.recognizer.running) <= 2

    assert outcomes == ["collected"] * 6
    assert [job.key for job in pipeline.recognizer.started] == [first.key] * 3 + [second.key] * 3
    assert len(pipeline.jobs.jobs) == 6
    assert len(pipeline.jobs.in_state(JobState.SUCCEEDED)) == 6
    assert pipeline.recognizer.most_running == 2
    assert pipeline.dead_letters.messages == []
    assert {entry.status for entry in pipeline.catalog.videos.values()} == {MediaStatus.ANALYSED}


def test_a_parked_job_keeps_its_place_when_the_quota_refuses_it_again() -> None:
    pipeline = Pipeline(FakeRecognizer(quota=1))
    media = clip()
    pipeline.drop(media)
    parked_at = pipeline.clock()
    pipeline.clock.advance(minutes=30)

    assert pipeline.sweep() == (0, 0, 0)

    parked = pipeline.jobs.in_state(JobState.PARKED)
    assert len(parked) == 2
    assert {job.parked_since for job in parked} == {parked_at}
    assert all(job.error == f"{job.api.start}: LimitExceededException" for job in parked)


# ---------------------------------------------------------------------------- collection


def test_result_pages_are_written_in_order_and_their_terms_merged() -> None:
    pipeline = Pipeline(
        FakeRecognizer(quota=20), settings=only("LABEL_DETECTION", "TEXT_DETECTION")
    )
    media = clip()
    pipeline.drop(media)
    labels = pipeline.job(media, "LABEL_DETECTION")
    pages = [
        [label(0, "Dog", 81.0, parents=["Animal"]), label(400, "Dog", 88.0)],
        [label(1_500, "Dog", 97.5), label(1_900, "Ball", 70.0)],
        [label(62_250, "Dog", 90.0, parents=["Animal"])],
    ]
    pipeline.recognizer.results[labels.token] = pages

    assert pipeline.complete(labels) == "collected"

    done = pipeline.jobs.jobs[labels.token]
    assert (done.state, done.pages, done.items) == (JobState.SUCCEEDED, 3, 5)
    assert (done.next_token, done.error) == (None, None)
    keys = [key for _, key, _ in pipeline.store.puts]
    assert keys == [page_key("results/", done.key, done.api, number) for number in (1, 2, 3)]
    assert keys[0] == "results/uploads/clips/holiday.mp4/label_detection/page-00001.json"
    assert {bucket for bucket, _, _ in pipeline.store.puts} == {BUCKET}
    assert [document["Labels"] for _, _, document in pipeline.store.puts] == pages
    assert [(next_token, size) for _, next_token, size in pipeline.recognizer.reads] == [
        (None, 1000),
        (f"{done.job_id}:2", 1000),
        (f"{done.job_id}:3", 1000),
    ]
    entry = pipeline.catalog.videos[media.key]
    assert entry.terms["LABEL#dog"] == (97.5, frozenset({0, 1, 62}))
    assert entry.terms["LABEL#animal"] == (90.0, frozenset({0, 62}))
    assert entry.terms["LABEL#ball"] == (70.0, frozenset({1}))
    assert entry.status is MediaStatus.IN_PROGRESS

    assert pipeline.complete(pipeline.job(media, "TEXT_DETECTION")) == "collected"

    final = pipeline.catalog.videos[media.key]
    assert final.jobs == {"LABEL_DETECTION": "SUCCEEDED", "TEXT_DETECTION": "SUCCEEDED"}
    assert final.status is MediaStatus.ANALYSED


@pytest.mark.parametrize(("confidence", "flagged"), [(85.0, True), (79.9, False)])
def test_moderation_at_or_above_the_flag_threshold_flags_the_video(
    pipeline: Pipeline, confidence: float, flagged: bool
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "CONTENT_MODERATION")
    pipeline.recognizer.results[job.token] = [[moderation(3_000, "Smoking", "Tobacco", confidence)]]

    pipeline.complete(job)

    assert pipeline.catalog.videos[media.key].flagged is flagged


def test_a_retried_completion_restarts_a_collection_that_crashed_part_way(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(0, "Dog", 90.0)], [label(2_000, "Cat", 80.0)]]
    job_id = pipeline.recognizer.finish(job.token)
    message = completion(job, job_id)
    pipeline.recognizer.expired[f"{job_id}:2"] = 2  # this invocation dies on page two
    with pytest.raises(PaginationExpiredError):
        pipeline.notify(message)
    assert pipeline.jobs.jobs[job.token].state is JobState.COLLECTING

    assert pipeline.notify(message) == "collected"  # Lambda's retry of the same message

    done = pipeline.jobs.jobs[job.token]
    assert (done.state, done.pages, done.items) == (JobState.SUCCEEDED, 2, 2)


# ---------------------------------------------------------------------------- hand-over


def test_collection_hands_over_when_time_runs_short_and_the_continuation_finishes_it(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [
        [label(0, "Dog", 90.0)],
        [label(1_000, "Dog", 95.0)],
        [label(2_000, "Cat", 80.0)],
    ]
    pipeline.remaining = SETTINGS.min_remaining_ms - 1

    assert pipeline.complete(job) == "continued"

    [message] = pipeline.continuations.messages
    continuation = Continuation.parse(message)
    collecting = pipeline.jobs.jobs[job.token]
    assert collecting.state is JobState.COLLECTING
    assert (collecting.pages, collecting.items) == (1, 1)
    assert continuation == Continuation(job.token, f"{collecting.job_id}:2", 1, 1, hops=1)
    assert collecting.next_token == continuation.next_token
    assert len(pipeline.store.puts) == 1

    pipeline.remaining = 60_000
    assert pipeline.resume(message) == "collected"

    done = pipeline.jobs.jobs[job.token]
    assert (done.state, done.pages, done.items) == (JobState.SUCCEEDED, 3, 3)
    assert [key[-15:] for _, key, _ in pipeline.store.puts] == [
        "page-00001.json",
        "page-00002.json",
        "page-00003.json",
    ]
    assert pipeline.catalog.videos[media.key].terms["LABEL#dog"] == (95.0, frozenset({0, 1}))
    assert len(pipeline.continuations.messages) == 1


def test_a_stale_continuation_is_a_duplicate(pipeline: Pipeline) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(ms, "Dog", 90.0)] for ms in (0, 1, 2)]
    pipeline.remaining = 0
    pipeline.complete(job)
    first = pipeline.continuations.messages[0]
    assert pipeline.resume(first) == "continued"
    second = pipeline.continuations.messages[1]
    assert Continuation.parse(second).hops == 2
    puts = len(pipeline.store.puts)

    assert pipeline.resume(first) == "duplicate"  # SQS delivered the first one again

    assert len(pipeline.store.puts) == puts
    assert pipeline.dead_letters.messages == []
    pipeline.remaining = 60_000
    assert pipeline.resume(second) == "collected"
    assert pipeline.jobs.jobs[job.token].pages == 3


def test_a_collection_that_keeps_handing_over_past_the_limit_fails(pipeline: Pipeline) -> None:
    pipeline.settings = replace(SETTINGS, max_continuations=1)
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(ms, "Dog", 90.0)] for ms in (0, 1, 2)]
    pipeline.remaining = 0
    assert pipeline.complete(job) == "continued"

    assert pipeline.resume(pipeline.continuations.messages[0]) == "failed"

    failed = pipeline.jobs.jobs[job.token]
    assert (failed.state, failed.error) == (JobState.FAILED, "too many hand-overs")
    assert len(pipeline.continuations.messages) == 1


# --------------------------------------------------------------------- expired page tokens


def test_an_expired_page_token_restarts_the_collection_from_page_one_once(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pages = [[label(0, "Dog", 90.0)], [label(1_000, "Dog", 91.0)], [label(2_000, "Cat", 80.0)]]
    pipeline.recognizer.results[job.token] = pages
    job_id = pipeline.recognizer.job_ids[job.token]
    pipeline.recognizer.expired[f"{job_id}:3"] = 1

    assert pipeline.complete(job) == "collected"

    reads = [next_token for _, next_token, _ in pipeline.recognizer.reads]
    assert reads == [None, f"{job_id}:2", f"{job_id}:3", None, f"{job_id}:2", f"{job_id}:3"]
    done = pipeline.jobs.jobs[job.token]
    assert (done.state, done.pages, done.items) == (JobState.SUCCEEDED, 3, 3)
    assert sorted(pipeline.store.objects()) == [
        page_key("results/", done.key, done.api, number) for number in (1, 2, 3)
    ]
    assert pipeline.catalog.videos[media.key].terms["LABEL#dog"] == (91.0, frozenset({0, 1}))


def test_a_second_expiry_in_the_same_invocation_raises(pipeline: Pipeline) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(0, "Dog", 90.0)], [label(1, "Cat", 80.0)]]
    pipeline.recognizer.expired[f"{pipeline.recognizer.job_ids[job.token]}:2"] = 2

    with pytest.raises(PaginationExpiredError):
        pipeline.complete(job)

    assert pipeline.jobs.jobs[job.token].state is JobState.COLLECTING


# -------------------------------------------------------------- failures and bad messages


@pytest.mark.parametrize(
    ("status", "message", "recorded"),
    [
        ("FAILED", "Unsupported codec: HEVC", "Unsupported codec: HEVC"),
        ("ERROR", "", "Rekognition reported ERROR"),
    ],
)
def test_a_failed_or_errored_job_is_recorded_and_frees_its_slot(
    status: str, message: str, recorded: str
) -> None:
    pipeline = Pipeline(FakeRecognizer(quota=2), settings=only("LABEL_DETECTION", "TEXT_DETECTION"))
    first, second = clip("uploads/clips/a.mp4"), clip("uploads/clips/b.mp4")
    pipeline.drop(first)
    pipeline.drop(second)
    job = pipeline.job(first, "LABEL_DETECTION")

    assert pipeline.complete(job, status=status, message=message) == "failed"

    failed = pipeline.jobs.jobs[job.token]
    assert (failed.state, failed.error) == (JobState.FAILED, recorded)
    assert failed.finished_at == pipeline.clock()
    assert pipeline.catalog.videos[first.key].jobs["LABEL_DETECTION"] == "FAILED"
    unparked = [pipeline.job(second, api).state for api in ("LABEL_DETECTION", "TEXT_DETECTION")]
    assert sorted(unparked) == [JobState.PARKED, JobState.RUNNING]
    assert pipeline.recognizer.reads == []

    pipeline.complete(pipeline.job(first, "TEXT_DETECTION"))
    assert pipeline.catalog.videos[first.key].status is MediaStatus.PARTIAL


@pytest.mark.parametrize(
    "text",
    [
        "this is not JSON",
        json.dumps({"JobId": "1", "Status": "SUCCEEDED", "API": "LABEL_DETECTION"}),
        json.dumps(
            {
                "JobId": "1",
                "Status": "IN_PROGRESS",
                "API": "LABEL_DETECTION",
                "Timestamp": 1502230160926,
                "Video": {"S3ObjectName": "video.mpg", "S3Bucket": "amzn-s3-demo-bucket"},
            }
        ),
    ],
    ids=["not-json", "missing-video", "unknown-status"],
)
def test_a_malformed_message_is_dead_lettered_with_its_reason(
    pipeline: Pipeline, text: str
) -> None:
    assert pipeline.notify(text) == "malformed"

    letter = dead_letter(pipeline)
    assert letter["reason"] == "malformed"
    assert letter["detail"]
    assert letter["message"] == text


def test_a_malformed_continuation_is_dead_lettered(pipeline: Pipeline) -> None:
    assert pipeline.resume('{"next_token": "x"}') == "malformed"

    assert dead_letter(pipeline)["reason"] == "malformed"


@pytest.mark.parametrize("tag", [None, "ml-not-a-job-of-this-stack", "job-id-mismatch"])
def test_a_message_for_a_job_this_stack_did_not_start_is_dead_lettered(
    pipeline: Pipeline, tag: str | None
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    document = json.loads(completion(job, "6de014b0-2121-4bf0-9e31-856a18719e22"))
    if tag is None:
        del document["JobTag"]
    elif tag != "job-id-mismatch":
        document["JobTag"] = tag
    text = json.dumps(document)

    assert pipeline.notify(text) == "unknown_job"

    letter = dead_letter(pipeline)
    assert (letter["reason"], letter["message"]) == ("unknown_job", text)
    assert pipeline.jobs.jobs[job.token].state is JobState.RUNNING
    assert pipeline.recognizer.reads == []


def test_a_repeated_completion_message_for_a_finished_job_is_a_duplicate(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(0, "Dog", 90.0)]]
    job_id = pipeline.recognizer.finish(job.token)
    assert pipeline.notify(completion(job, job_id)) == "collected"
    done = pipeline.jobs.jobs[job.token]

    assert pipeline.notify(completion(job, job_id)) == "duplicate"
    assert pipeline.notify(completion(job, job_id, status="FAILED", message="late")) == "duplicate"

    assert pipeline.jobs.jobs[job.token] == done
    assert len(pipeline.recognizer.reads) == 1
    assert pipeline.dead_letters.messages == []


def test_a_job_of_a_replaced_version_leaves_no_terms_on_the_new_version(
    pipeline: Pipeline,
) -> None:
    pipeline.settings = only("LABEL_DETECTION")
    old, new = clip(version="v1"), clip(version="v2")
    pipeline.drop(old)
    pipeline.drop(new)  # the key is overwritten while v1 is still analysed
    old_job, new_job = pipeline.job(old, "LABEL_DETECTION"), pipeline.job(new, "LABEL_DETECTION")
    pipeline.recognizer.results[old_job.token] = [[label(0, "Cat", 99.0)]]
    pipeline.recognizer.results[new_job.token] = [[label(0, "Dog", 99.0)]]

    pipeline.complete(old_job)
    pipeline.complete(new_job)

    assert set(pipeline.catalog.videos[new.key].terms) == {"LABEL#dog"}


def test_a_video_deleted_while_its_jobs_run_gets_no_results_written(
    pipeline: Pipeline,
) -> None:
    pipeline.settings = only("LABEL_DETECTION")
    video = clip()
    pipeline.drop(video)
    job = pipeline.job(video, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(0, "Cat", 99.0)]]
    del pipeline.catalog.videos[video.key]  # the removal took the entry out

    outcome = pipeline.complete(job)

    assert outcome == "superseded"
    assert pipeline.job(video, "LABEL_DETECTION").state is JobState.SUPERSEDED
    assert video.key not in pipeline.catalog.videos
    assert pipeline.store.puts == []


def test_a_failed_catalog_write_at_the_end_of_a_job_is_made_good_by_the_retry(
    pipeline: Pipeline,
) -> None:
    pipeline.settings = only("LABEL_DETECTION")
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    job_id = pipeline.recognizer.finish(job.token)
    pipeline.catalog.failures.append(
        ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
            "UpdateItem",
        )
    )
    with pytest.raises(ClientError):
        pipeline.notify(completion(job, job_id))

    pipeline.notify(completion(job, job_id))  # Lambda retries the SNS message

    assert pipeline.catalog.videos[media.key].status is MediaStatus.ANALYSED


# -------------------------------------------------------------------------------- sweep


def test_sweep_times_out_running_jobs_older_than_the_timeout(pipeline: Pipeline) -> None:
    pipeline.settings = only("LABEL_DETECTION")
    old, young = clip("uploads/clips/old.mp4"), clip("uploads/clips/young.mp4")
    pipeline.drop(old)
    pipeline.clock.advance(minutes=60)
    pipeline.drop(young)
    pipeline.clock.advance(minutes=SETTINGS.job_timeout_minutes - 59)

    assert pipeline.sweep() == (1, 0, 0)

    timed_out = pipeline.job(old, "LABEL_DETECTION")
    assert timed_out.state is JobState.TIMED_OUT
    assert timed_out.error is not None
    assert "no completion message" in timed_out.error
    assert pipeline.catalog.videos[old.key].status is MediaStatus.FAILED
    assert pipeline.job(young, "LABEL_DETECTION").state is JobState.RUNNING


def test_sweep_starts_again_a_start_interrupted_more_than_15_minutes_ago(
    pipeline: Pipeline,
) -> None:
    pipeline.settings = only("LABEL_DETECTION")
    media = clip()
    token = VideoJob.for_media(media, video_api("LABEL_DETECTION"), pipeline.clock()).token
    pipeline.recognizer.failing[token] = ConnectionError("the invocation died mid-start")
    with pytest.raises(ConnectionError):
        pipeline.drop(media)
    assert pipeline.job(media, "LABEL_DETECTION").state is JobState.STARTING
    del pipeline.recognizer.failing[token]

    pipeline.clock.advance(minutes=STALE_START_MINUTES - 1)
    assert pipeline.sweep() == (0, 0, 0)
    assert pipeline.job(media, "LABEL_DETECTION").state is JobState.STARTING
    pipeline.clock.advance(minutes=2)
    assert pipeline.sweep() == (0, 1, 0)

    job = pipeline.job(media, "LABEL_DETECTION")
    assert (job.state, job.job_id) == (JobState.RUNNING, pipeline.recognizer.job_ids[token])
    assert job.started_at == pipeline.clock()


def test_sweep_starts_parked_jobs_oldest_first_until_the_quota_refuses() -> None:
    pipeline = Pipeline(FakeRecognizer(quota=2), settings=only("LABEL_DETECTION"))
    media = [clip(f"uploads/clips/{name}.mp4") for name in "abcde"]
    for each in media:
        pipeline.drop(each)
        pipeline.clock.advance(minutes=1)
    pipeline.recognizer.finish(pipeline.job(media[0], "LABEL_DETECTION").token)
    pipeline.recognizer.finish(pipeline.job(media[1], "LABEL_DETECTION").token)

    assert pipeline.sweep() == (0, 0, 2)

    states = [pipeline.job(each, "LABEL_DETECTION").state for each in media]
    assert states[2:] == [JobState.RUNNING, JobState.RUNNING, JobState.PARKED]
    assert pipeline.recognizer.most_running == 2


def test_a_start_that_keeps_failing_does_not_stop_the_sweep_serving_the_backlog() -> None:
    pipeline = Pipeline(FakeRecognizer(quota=1), settings=only("LABEL_DETECTION"))
    broken, running, parked = (clip(f"uploads/clips/{name}.mp4") for name in "xyz")
    token = VideoJob.for_media(broken, video_api("LABEL_DETECTION"), pipeline.clock()).token
    pipeline.recognizer.failing[token] = ClientError(
        {"Error": {"Code": "InvalidS3ObjectException", "Message": "Unable to get object metadata"}},
        "StartLabelDetection",
    )
    with pytest.raises(ClientError):
        pipeline.drop(broken)
    pipeline.drop(running)
    pipeline.drop(parked)
    pipeline.recognizer.finish(pipeline.job(running, "LABEL_DETECTION").token)
    pipeline.clock.advance(minutes=STALE_START_MINUTES + 1)

    pipeline.sweep()

    assert pipeline.job(parked, "LABEL_DETECTION").state is JobState.RUNNING


# ----------------------------------------------------------------- messages and terms


AWS_EXAMPLE = {
    "JobId": "6de014b0-2121-4bf0-9e31-856a18719e22",
    "Status": "SUCCEEDED",
    "API": "LABEL_DETECTION",
    "Message": "",
    "Timestamp": 1502230160926,
    "Video": {"S3ObjectName": "video.mpg", "S3Bucket": "amzn-s3-demo-bucket"},
}


def test_parse_accepts_the_documented_notification_example() -> None:
    notification = JobNotification.parse(json.dumps(AWS_EXAMPLE))

    assert notification == JobNotification(
        job_id="6de014b0-2121-4bf0-9e31-856a18719e22",
        status="SUCCEEDED",
        api="LABEL_DETECTION",
        timestamp_ms=1502230160926,
        bucket="amzn-s3-demo-bucket",
        key="video.mpg",
        job_tag=None,
        message="",
    )
    assert notification.succeeded


def test_parse_accepts_the_start_operation_spelling_of_the_api() -> None:
    document = AWS_EXAMPLE | {"API": "StartLabelDetection", "JobTag": "ml-abc"}

    notification = JobNotification.parse(json.dumps(document))

    assert (notification.api, notification.job_tag) == ("StartLabelDetection", "ml-abc")
    assert video_api(notification.api) is video_api("LABEL_DETECTION")


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("LABEL_DETECTION", "LABEL_DETECTION"),
        ("StartLabelDetection", "LABEL_DETECTION"),
        ("GetLabelDetection", "LABEL_DETECTION"),
        ("content_moderation", "CONTENT_MODERATION"),
        ("StartFaceSearch", "FACE_SEARCH"),
        ("SEGMENT_DETECTION", "SEGMENT_DETECTION"),
    ],
)
def test_video_api_resolves_every_spelling(spelling: str, name: str) -> None:
    assert video_api(spelling).name == name


def test_video_api_refuses_an_unknown_analysis() -> None:
    with pytest.raises(KeyError):
        video_api("StartStreamProcessor")


def terms_of(api: str, items: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], VideoTerm]:
    return {(term.kind, term.value): term for term in page_terms(video_api(api), items)}


def test_label_terms_include_parents_and_aliases_with_the_best_confidence() -> None:
    terms = terms_of(
        "LABEL_DETECTION",
        [
            label(0, "Dog", 80.0, parents=["Animal", "Pet"], aliases=["Hound"]),
            label(999, "Dog", 96.5, parents=["Animal", "Pet"]),
            label(2_001, "Cat", 70.0, parents=["Animal"]),
        ],
    )

    assert terms == {
        ("LABEL", "Dog"): VideoTerm("LABEL", "Dog", 96.5, frozenset({0})),
        ("LABEL", "Animal"): VideoTerm("LABEL", "Animal", 96.5, frozenset({0, 2})),
        ("LABEL", "Pet"): VideoTerm("LABEL", "Pet", 96.5, frozenset({0})),
        ("LABEL", "Hound"): VideoTerm("LABEL", "Hound", 80.0, frozenset({0})),
        ("LABEL", "Cat"): VideoTerm("LABEL", "Cat", 70.0, frozenset({2})),
    }


def test_text_terms_are_normalised_words_only() -> None:
    terms = terms_of(
        "TEXT_DETECTION",
        [
            word(500, "Invoice, 42!", 99.0, kind="LINE"),
            word(500, "Invoice,", 95.0),
            word(3_999, "INVOICE", 97.0),
            word(4_000, "42!", 90.0),
            word(4_000, "!!", 99.0),
        ],
    )

    assert terms == {
        ("WORD", "invoice"): VideoTerm("WORD", "invoice", 97.0, frozenset({0, 3})),
        ("WORD", "42"): VideoTerm("WORD", "42", 90.0, frozenset({4})),
    }


def test_face_search_terms_are_the_matched_people() -> None:
    def person(ms: int, *matches: tuple[str | None, float]) -> dict[str, Any]:
        return {
            "Timestamp": ms,
            "Person": {"Index": 0},
            "FaceMatches": [
                {
                    "Similarity": similarity,
                    "Face": {"FaceId": "11111111-2222-3333-4444-555555555555"}
                    | ({"ExternalImageId": external} if external else {}),
                }
                for external, similarity in matches
            ],
        }

    terms = terms_of(
        "FACE_SEARCH",
        [person(1_200, ("alice", 97.1), (None, 99.0)), person(7_800, ("alice", 99.3))],
    )

    assert terms == {("PERSON", "alice"): VideoTerm("PERSON", "alice", 99.3, frozenset({1, 7}))}


def test_moderation_terms_include_the_parent_category() -> None:
    terms = terms_of(
        "CONTENT_MODERATION",
        [
            moderation(61_000, "Smoking", "Drugs & Tobacco", 88.0),
            moderation(61_900, "Smoking", "Drugs & Tobacco", 91.2),
            moderation(90_000, "Drugs & Tobacco", "", 60.0),
        ],
    )

    assert terms == {
        ("MODERATION", "Smoking"): VideoTerm("MODERATION", "Smoking", 91.2, frozenset({61})),
        ("MODERATION", "Drugs & Tobacco"): VideoTerm(
            "MODERATION", "Drugs & Tobacco", 91.2, frozenset({61, 90})
        ),
    }


def test_segments_give_no_terms() -> None:
    segment = {"Type": "SHOT", "StartTimestampMillis": 0, "EndTimestampMillis": 4_000}

    assert page_terms(video_api("SEGMENT_DETECTION"), [segment]) == []


# ------------------------------------------------------- concurrent and crashed invocations


def test_a_hand_over_whose_invocation_crashed_resumes_from_the_last_saved_page(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(ms, "Dog", 90.0)] for ms in (0, 1, 2, 3)]
    pipeline.remaining = 0
    pipeline.complete(job)
    [message] = pipeline.continuations.messages
    pipeline.remaining = 60_000
    job_id = pipeline.recognizer.job_ids[job.token]
    pipeline.recognizer.expired[f"{job_id}:3"] = 2  # page three fails twice in one invocation

    with pytest.raises(PaginationExpiredError):
        pipeline.resume(message)  # the consumer dies; SQS will deliver the message again
    pipeline.recognizer.expired.clear()

    assert pipeline.resume(message) == "collected"
    assert pipeline.jobs.jobs[job.token].state is JobState.SUCCEEDED
    assert pipeline.jobs.jobs[job.token].pages == 4
    assert pipeline.dead_letters.messages == []


def test_a_duplicate_completion_during_a_live_collection_does_not_start_a_second_one(
    pipeline: Pipeline,
) -> None:
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(ms, "Dog", 90.0)] for ms in (0, 1, 2)]
    pipeline.remaining = 0
    job_id = pipeline.recognizer.finish(job.token)
    message = completion(job, job_id)
    assert pipeline.notify(message) == "continued"
    reads = len(pipeline.recognizer.reads)

    assert pipeline.notify(message) == "duplicate"  # SNS delivered it twice

    assert len(pipeline.recognizer.reads) == reads


def test_a_collection_overtaken_by_the_sweeper_stops_without_overwriting_the_time_out(
    pipeline: Pipeline,
) -> None:
    pipeline.settings = replace(SETTINGS, enabled_apis=("LABEL_DETECTION",))
    media = clip()
    pipeline.drop(media)
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.results[job.token] = [[label(ms, "Dog", 90.0)] for ms in (0, 1, 2)]
    pipeline.remaining = 0
    pipeline.complete(job)
    [message] = pipeline.continuations.messages
    pipeline.clock.advance(minutes=SETTINGS.job_timeout_minutes + 1)
    assert pipeline.sweep()[0] == 1
    pipeline.remaining = 60_000

    assert pipeline.resume(message) == "duplicate"

    assert pipeline.jobs.jobs[job.token].state is JobState.TIMED_OUT
    assert pipeline.catalog.videos[media.media_id].jobs["LABEL_DETECTION"] == "TIMED_OUT"


def test_two_invocations_cannot_claim_the_same_parked_job() -> None:
    pipeline = Pipeline(FakeRecognizer(quota=1))
    first, second = clip("uploads/a.mp4"), clip("uploads/b.mp4")
    pipeline.settings = replace(SETTINGS, enabled_apis=("LABEL_DETECTION",))
    pipeline.drop(first)
    pipeline.drop(second)
    parked = pipeline.job(second, "LABEL_DETECTION")
    assert parked.state is JobState.PARKED
    seen_by_other_invocation = pipeline.jobs.jobs[parked.token]
    pipeline.recognizer.finish(pipeline.job(first, "LABEL_DETECTION").token)
    assert pipeline.sweep()[2] == 1

    with pytest.raises(StaleJobError):
        pipeline.jobs.save(
            seen_by_other_invocation.with_changes(state=JobState.STARTING),
            previous=seen_by_other_invocation,
        )
    assert pipeline.jobs.jobs[parked.token].state is JobState.RUNNING


def test_parking_does_not_count_towards_failing_a_job() -> None:
    pipeline = Pipeline(FakeRecognizer(quota=0))
    pipeline.settings = replace(SETTINGS, enabled_apis=("LABEL_DETECTION",))
    media = clip()
    pipeline.drop(media)
    for _ in range(6):
        pipeline.sweep()
    job = pipeline.job(media, "LABEL_DETECTION")
    pipeline.recognizer.failing[job.token] = RuntimeError("network down")

    pipeline.sweep()

    job = pipeline.job(media, "LABEL_DETECTION")
    assert job.attempts >= 7
    assert job.start_errors == 1
    assert job.state is JobState.PARKED


def test_one_job_whose_video_entry_is_gone_does_not_stop_the_sweep(pipeline: Pipeline) -> None:
    first, second = clip("uploads/a.mp4"), clip("uploads/b.mp4")
    pipeline.settings = replace(SETTINGS, enabled_apis=("LABEL_DETECTION",))
    pipeline.drop(first)
    pipeline.drop(second)
    pipeline.catalog.failures.append(RuntimeError("throttled"))
    pipeline.clock.advance(minutes=SETTINGS.job_timeout_minutes + 1)

    timed_out, _, _ = pipeline.sweep()

    assert timed_out == 1
    states = {pipeline.job(m, "LABEL_DETECTION").state for m in (first, second)}
    assert JobState.TIMED_OUT in states


def test_a_drop_whose_start_is_overtaken_reports_the_other_invocations_outcome(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.settings = replace(SETTINGS, enabled_apis=("LABEL_DETECTION",))
    start = pipeline.recognizer.start

    def overtaken(job: VideoJob, **options: Any) -> str:
        job_id = start(job, **options)
        # Meanwhile another invocation started the same job and its collection began.
        pipeline.jobs.jobs[job.token] = job.with_changes(
            state=JobState.COLLECTING, job_id=job_id, collecting_since="2026-11-27T10:00:00+00:00"
        )
        return job_id

    monkeypatch.setattr(pipeline.recognizer, "start", overtaken)

    summary = pipeline.drop(clip())

    assert summary.started == ("LABEL_DETECTION",)
    assert len(pipeline.recognizer.started) == 1
