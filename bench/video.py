"""The video results handler: items per second and peak memory over many result pages.

Rekognition is answered at botocore's HTTP layer with GetLabelDetection pages of 1,000
realistic items, so botocore serialises, parses and validates as it would in Lambda.
The collection writes each page to in-memory ports that serialise and discard what
they are given (as an upload would), so what accumulates is the use case's own doing.
The baseline pages through the same responses and only parses them.
"""

from __future__ import annotations

import gc
import io
import json
import statistics
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from medialens.catalog.location import CatalogLocation
from medialens.shared.media import MediaObject
from medialens.video.models import JobState, MediaStatus, VideoJob, VideoTerm, video_api
from medialens.video.ports import VideoPorts
from medialens.video.rekognition import RekognitionVideoAdapter
from medialens.video.results import collect_results
from medialens.video.settings import VideoSettings

PAGE_SIZE = 1000
LABELS = [
    ("Cat", ("Animal", "Pet", "Mammal")),
    ("Dog", ("Animal", "Pet", "Mammal")),
    ("Car", ("Vehicle", "Transportation")),
    ("Beach", ("Nature", "Outdoors")),
    ("Person", ()),
    ("Tree", ("Plant",)),
    ("Building", ("Architecture",)),
    ("Sky", ("Nature",)),
]
REPEATS = 3


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Any:
        yield self.getvalue()


def page_body(number: int, pages: int) -> bytes:
    """GetLabelDetection's page ``number`` (from 0) of ``pages``, 1,000 items, 5 per 200 ms."""
    items = []
    for index in range(PAGE_SIZE):
        position = number * PAGE_SIZE + index
        name, parents = LABELS[position % len(LABELS)]
        items.append(
            {
                "Timestamp": (position // 5) * 200,
                "Label": {
                    "Name": name,
                    "Confidence": 80.0 + position % 20,
                    "Instances": [
                        {
                            "BoundingBox": {"Width": 0.2, "Height": 0.3, "Left": 0.1, "Top": 0.4},
                            "Confidence": 91.5,
                        }
                    ],
                    "Parents": [{"Name": parent} for parent in parents],
                    "Aliases": [],
                    "Categories": [{"Name": "Animals and Pets"}],
                },
            }
        )
    document: dict[str, Any] = {
        "JobStatus": "SUCCEEDED",
        "VideoMetadata": {
            "Codec": "h264",
            "DurationMillis": pages * PAGE_SIZE * 40,
            "Format": "QuickTime / MOV",
            "FrameRate": 25.0,
            "FrameHeight": 720,
            "FrameWidth": 1280,
            "ColorRange": "LIMITED",
        },
        "Labels": items,
        "LabelModelVersion": "3.0",
        "JobId": "a" * 64,
    }
    if number + 1 < pages:
        document["NextToken"] = f"page-{number + 1}"
    return json.dumps(document).encode()


def answered_client(pages: int) -> Any:
    """A Rekognition client whose GetLabelDetection pages come from :func:`page_body`."""
    bodies = [page_body(n, pages) for n in range(pages)]
    client = boto3.client(
        "rekognition",
        region_name="eu-west-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        token = json.loads(request.body).get("NextToken", "page-0")
        body = bodies[int(token.removeprefix("page-"))]
        return AWSResponse(request.url, 200, HTTPHeaders.from_dict({}), _Raw(body))

    client.meta.events.register("before-send", answer)  # type: ignore[arg-type]
    return client


class DiscardingStore:
    """Serialises each document as an upload would, keeps only the byte count."""

    def __init__(self) -> None:
        self.bytes_written = 0

    def read_head(self, media: MediaObject, length: int) -> bytes:
        return b""

    def put_json(self, bucket: str, key: str, document: Mapping[str, Any]) -> None:
        self.bytes_written += len(json.dumps(document, default=str))


class CountingCatalog:
    """Counts the term writes a page causes (one UpdateItem each in DynamoDB)."""

    def __init__(self) -> None:
        self.term_writes = 0

    def start_video(self, location: CatalogLocation, apis: Sequence[str], now: str) -> None:
        return None

    def record_job_state(
        self, media_id: str, api: str, state: JobState, now: str, *, version_id: str | None
    ) -> MediaStatus:
        return MediaStatus.ANALYSED

    def add_video_terms(self, media_id: str, terms: Sequence[VideoTerm], now: str) -> None:
        self.term_writes += len(terms)

    def flag(self, media_id: str, now: str) -> None:
        return None

    def current_version(self, media_id: str) -> str | None:
        return None


class NullJobs:
    """Keeps nothing: the job record is a few hundred bytes either way."""

    def create(self, job: VideoJob) -> bool:
        return True

    def get(self, token: str) -> VideoJob | None:
        return None

    def save(self, job: VideoJob, *, previous: VideoJob | None = None) -> None:
        return None

    def open_jobs(self, state: JobState, *, since_before: str | None, limit: int) -> list[VideoJob]:
        return []


class NullOutbox:
    def send(self, body: str) -> None:
        return None


SETTINGS = VideoSettings(
    catalog_table="catalog",
    jobs_table="jobs",
    results_bucket="media",
    topic_arn="arn:aws:sns:eu-west-1:123456789012:jobs",
    role_arn="arn:aws:iam::123456789012:role/rekognition",
    face_collection_id="faces",
    continuation_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/continue",
    failures_queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/failures",
)


def collect(client: Any) -> int:
    """Run the real collection over every page; return the items it read."""
    job = VideoJob(
        token="ml-bench",
        api=video_api("LABEL_DETECTION"),
        bucket="media",
        key="uploads/long.mp4",
        version_id=None,
        created_at="2026-11-27T00:00:00+00:00",
        state=JobState.COLLECTING,
        job_id="a" * 64,
    )
    ports = VideoPorts(
        recognizer=RekognitionVideoAdapter(start_client=client, client=client),
        jobs=NullJobs(),
        catalog=CountingCatalog(),
        store=DiscardingStore(),
        continuations=NullOutbox(),
        dead_letters=NullOutbox(),
    )
    items = {"count": 0}
    original = ports.jobs.save

    def saved(job: VideoJob, *, previous: VideoJob | None = None) -> None:
        items["count"] = job.items
        original(job, previous=previous)

    ports.jobs.save = saved  # type: ignore[method-assign]
    collect_results(
        job,
        start_token=None,
        ports=ports,
        settings=SETTINGS,
        remaining_ms=lambda: 900_000,
        clock=lambda: "2026-11-27T00:00:00+00:00",
    )
    return items["count"]


def parse_only(client: Any) -> int:
    """Page through the same responses and only parse them."""
    count, token = 0, None
    while True:
        params: dict[str, Any] = {"JobId": "a" * 64, "MaxResults": PAGE_SIZE, "SortBy": "TIMESTAMP"}
        if token:
            params["NextToken"] = token
        page = client.get_label_detection(**params)
        count += len(page["Labels"])
        token = page.get("NextToken")
        if not token:
            return count


def _seconds(run: Callable[[Any], int], client: Any) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    items = run(client)
    return time.perf_counter() - start, items


def _peak_mb(run: Callable[[Any], int], client: Any) -> float:
    gc.collect()
    tracemalloc.start()
    run(client)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def video() -> list[str]:
    """Throughput at 10,000 items; peak memory at 10,000 and 50,000 items, side by side."""
    rows = [
        "Video results handler: GetLabelDetection answered at the HTTP layer, 1,000 items "
        f"per page; median of {REPEATS} runs, the two paths interleaved.",
        "Goal: memory flat as pages grow (one page held at a time).",
        "",
        "| path | items | items per second | peak memory MB (tracemalloc) |",
        "| --- | ---: | ---: | ---: |",
    ]
    peaks: dict[str, list[float]] = {"collect": [], "parse": []}
    for pages in (10, 50):
        client = answered_client(pages)
        timings: dict[str, list[float]] = {"collect": [], "parse": []}
        counts = {}
        for _ in range(REPEATS if pages == 10 else 1):
            for name, run in (("parse", parse_only), ("collect", collect)):
                seconds, counts[name] = _seconds(run, client)
                timings[name].append(seconds)
        for name, run in (("parse", parse_only), ("collect", collect)):
            peak = _peak_mb(run, client)
            peaks[name].append(peak)
            label = (
                "baseline: parse the pages only"
                if name == "parse"
                else "collect_results: parse, write each page, fold terms"
            )
            rate = counts[name] / statistics.median(timings[name])
            rows.append(f"| {label} | {counts[name]:,} | {rate:,.0f} | {peak:.1f} |")
    growth = peaks["collect"][1] / peaks["collect"][0]
    verdict = "met" if growth < 1.2 else "**missed**"
    rows += [
        "",
        f"Peak memory of the collection at 50,000 items / at 10,000: {growth:.2f}x ({verdict}).",
    ]
    return rows


if __name__ == "__main__":
    print("\n".join(video()))
