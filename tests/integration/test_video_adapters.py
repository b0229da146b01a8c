"""The video pipeline's boto3 adapters against their real contracts, and the results handler.

Rekognition is a real client whose requests and answers botocore's Stubber checks against
the service model; DynamoDB, S3 and SQS are moto, with the tables the template declares.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from medialens.catalog.location import CatalogLocation
from medialens.catalog.writer import DynamoDBCatalog
from medialens.shared import aws
from medialens.shared.errors import PaginationExpiredError, QuotaExceededError, RejectedMediaError
from medialens.shared.media import MediaObject
from medialens.video.jobs import DynamoDBJobStore
from medialens.video.models import (
    VIDEO_APIS,
    JobState,
    MediaStatus,
    VideoApi,
    VideoJob,
    VideoTerm,
    video_api,
)
from medialens.video.rekognition import RekognitionVideoAdapter
from medialens.video.settings import VideoSettings
from medialens.video.start import start_options, start_video_jobs
from medialens.video.wiring import video_ports
from medialens_local.template import Resolver
from moto import mock_aws

from tests.conftest import SETUP_SESSION_MARK, FakeLambdaContext
from tests.support.stack import (
    ACCOUNT_ID,
    REGION,
    STACK_NAME,
    bucket_name,
    create_table,
    granted_actions,
    load_handler,
    physical_name,
)

TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{physical_name('VideoJobsTopic')}"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/{physical_name('RekognitionVideoRole')}"
SETTINGS = VideoSettings(
    catalog_table=physical_name("CatalogTable"),
    jobs_table=physical_name("VideoJobsTable"),
    results_bucket=bucket_name(),
    topic_arn=TOPIC_ARN,
    role_arn=ROLE_ARN,
    face_collection_id=physical_name("FaceCollection"),
    continuation_queue_url="unused",
    failures_queue_url="unused",
)
KEY = "uploads/clips/holiday at the beach.mp4"
VERSION = "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"
JOB_ID = "6de014b0-2121-4bf0-9e31-856a18719e22"
NOW = "2026-11-27T10:00:00+00:00"
BOX = {"Width": 0.31, "Height": 0.42, "Left": 0.12, "Top": 0.2}


def clip(version: str | None = VERSION) -> MediaObject:
    return MediaObject(
        bucket=bucket_name(), key=KEY, size=48_213_114, etag="b0c1d2e3", version_id=version
    )


def job_for(api: str, version: str | None = VERSION, **changes: Any) -> VideoJob:
    return VideoJob.for_media(clip(version), video_api(api), NOW).with_changes(**changes)


# ------------------------------------------------------------------ Rekognition Video


@dataclass
class StubbedRekognition:
    adapter: RekognitionVideoAdapter
    start: Stubber
    get: Stubber


@pytest.fixture
def video_rekognition() -> Iterator[StubbedRekognition]:
    """The adapter on two real clients (Start, Get) whose calls Stubber answers and checks."""
    start_client = boto3.client("rekognition", region_name="eu-west-1")
    get_client = boto3.client("rekognition", region_name="eu-west-1")
    with Stubber(start_client) as start, Stubber(get_client) as get:
        yield StubbedRekognition(RekognitionVideoAdapter(start_client, get_client), start, get)
        start.assert_no_pending_responses()
        get.assert_no_pending_responses()


EXPECTED_OPTIONS: dict[str, dict[str, Any]] = {
    "LABEL_DETECTION": {"MinConfidence": 55.0},
    "TEXT_DETECTION": {},
    "FACE_DETECTION": {"FaceAttributes": "DEFAULT"},
    "FACE_SEARCH": {"CollectionId": "medialens-FaceCollection", "FaceMatchThreshold": 90.0},
    "CONTENT_MODERATION": {"MinConfidence": 50.0},
    "SEGMENT_DETECTION": {"SegmentTypes": ["SHOT", "TECHNICAL_CUE"]},
    "CELEBRITY_RECOGNITION": {},
    "PERSON_TRACKING": {},
}


def start_params(job: VideoJob, **options: Any) -> dict[str, Any]:
    s3_object = {"Bucket": job.bucket, "Name": job.key}
    if job.version_id:
        s3_object["Version"] = job.version_id
    return {
        "Video": {"S3Object": s3_object},
        "ClientRequestToken": job.token,
        "JobTag": job.token,
        "NotificationChannel": {"SNSTopicArn": TOPIC_ARN, "RoleArn": ROLE_ARN},
        **options,
    }


def start(adapter: RekognitionVideoAdapter, job: VideoJob) -> str:
    return adapter.start(
        job, topic_arn=TOPIC_ARN, role_arn=ROLE_ARN, options=start_options(job.api, SETTINGS)
    )


def snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


@pytest.mark.parametrize("api", [api.name for api in VIDEO_APIS])
def test_start_sends_the_token_the_notification_channel_the_version_and_the_apis_options(
    video_rekognition: StubbedRekognition, api: str
) -> None:
    job = job_for(api)
    video_rekognition.start.add_response(
        snake(job.api.start), {"JobId": JOB_ID}, start_params(job, **EXPECTED_OPTIONS[api])
    )

    assert start(video_rekognition.adapter, job) == JOB_ID


def test_start_names_no_version_for_an_unversioned_object(
    video_rekognition: StubbedRekognition,
) -> None:
    job = job_for("TEXT_DETECTION", version=None)
    expected = start_params(job)
    assert "Version" not in expected["Video"]["S3Object"]
    video_rekognition.start.add_response("start_text_detection", {"JobId": JOB_ID}, expected)

    assert start(video_rekognition.adapter, job) == JOB_ID


def input_members(operation: str) -> dict[str, Any]:
    """Parameters of a Rekognition operation, from botocore's service model."""
    client = boto3.client("rekognition", region_name="eu-west-1")
    shape = client.meta.service_model.operation_model(operation).input_shape
    assert shape is not None
    return dict(shape.members)


def test_the_job_token_satisfies_the_token_and_tag_constraints_of_the_model() -> None:
    for api in VIDEO_APIS:
        members = input_members(api.start)
        token = job_for(api.name).token
        for name in ("ClientRequestToken", "JobTag"):
            rules = members[name].metadata
            assert rules["min"] <= len(token) <= rules["max"]
            assert re.fullmatch(rules["pattern"].strip("^$"), token)


@pytest.mark.parametrize(
    "code",
    ["LimitExceededException", "ThrottlingException", "ProvisionedThroughputExceededException"],
)
def test_a_full_quota_or_throttling_becomes_quota_exceeded(
    video_rekognition: StubbedRekognition, code: str
) -> None:
    video_rekognition.start.add_client_error(
        "start_label_detection", service_error_code=code, http_status_code=400
    )

    with pytest.raises(QuotaExceededError, match=f"StartLabelDetection: {code}"):
        start(video_rekognition.adapter, job_for("LABEL_DETECTION"))


@pytest.mark.parametrize(
    ("code", "reason"),
    [("VideoTooLargeException", "too_large"), ("InvalidParameterException", "invalid_video")],
)
def test_a_video_rekognition_refuses_becomes_a_rejection(
    video_rekognition: StubbedRekognition, code: str, reason: str
) -> None:
    video_rekognition.start.add_client_error(
        "start_face_search",
        service_error_code=code,
        service_message="Video size in bytes: 11811160064 is more than the maximum limit",
        http_status_code=400,
    )

    with pytest.raises(RejectedMediaError) as caught:
        start(video_rekognition.adapter, job_for("FACE_SEARCH"))

    assert caught.value.reason == reason
    assert caught.value.detail.startswith("Video size in bytes")


def test_access_denied_propagates_as_a_client_error(
    video_rekognition: StubbedRekognition,
) -> None:
    video_rekognition.start.add_client_error(
        "start_label_detection", service_error_code="AccessDeniedException", http_status_code=403
    )

    with pytest.raises(ClientError) as caught:
        start(video_rekognition.adapter, job_for("LABEL_DETECTION"))

    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


SORTING = {
    "LABEL_DETECTION",
    "FACE_SEARCH",
    "CONTENT_MODERATION",
    "CELEBRITY_RECOGNITION",
    "PERSON_TRACKING",
}


@pytest.mark.parametrize("api", VIDEO_APIS, ids=lambda api: api.name)
def test_get_page_passes_max_results_next_token_and_sorts_only_where_the_api_sorts(
    video_rekognition: StubbedRekognition, api: VideoApi
) -> None:
    assert ("SortBy" in input_members(api.get)) is (api.name in SORTING)
    expected: dict[str, Any] = {"JobId": JOB_ID, "MaxResults": 25, "NextToken": "page-2"}
    if api.name in SORTING:
        expected["SortBy"] = "TIMESTAMP"
    video_rekognition.get.add_response(
        snake(api.get), {"JobStatus": "SUCCEEDED", api.results_key: []}, expected
    )

    page = video_rekognition.adapter.get_page(
        job_for(api.name, job_id=JOB_ID), next_token="page-2", max_results=25
    )

    assert (list(page.items), page.next_token) == ([], None)


def label_item(ms: int, name: str, confidence: float) -> dict[str, Any]:
    return {
        "Timestamp": ms,
        "Label": {
            "Name": name,
            "Confidence": confidence,
            "Instances": [{"BoundingBox": BOX, "Confidence": confidence - 1.5}],
            "Parents": [{"Name": "Animal"}, {"Name": "Pet"}] if name == "Dog" else [],
            "Aliases": [{"Name": "Canine"}] if name == "Dog" else [],
            "Categories": [{"Name": "Animals and Pets"}],
        },
    }


def labels_page(
    items: list[dict[str, Any]], next_token: str | None, job: VideoJob
) -> dict[str, Any]:
    """A GetLabelDetection answer as Rekognition sends it."""
    page: dict[str, Any] = {
        "JobStatus": "SUCCEEDED",
        "VideoMetadata": {
            "Codec": "h264",
            "DurationMillis": 62_400,
            "Format": "QuickTime / MOV",
            "FrameRate": 29.97,
            "FrameHeight": 1080,
            "FrameWidth": 1920,
            "ColorRange": "LIMITED",
        },
        "Labels": items,
        "LabelModelVersion": "3.0",
        "JobId": JOB_ID,
        "Video": {"S3Object": {"Bucket": job.bucket, "Name": job.key, "Version": VERSION}},
        "JobTag": job.token,
        "GetRequestMetadata": {"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"},
    }
    if next_token:
        page["NextToken"] = next_token
    return page


PAGES = [
    [label_item(0, "Dog", 97.5), label_item(480, "Ball", 71.0)],
    [label_item(1_500, "Dog", 98.2), label_item(61_900, "Dog", 90.0)],
]


def test_label_pages_are_returned_whole_until_the_last(
    video_rekognition: StubbedRekognition,
) -> None:
    job = job_for("LABEL_DETECTION", job_id=JOB_ID, state=JobState.COLLECTING)
    answers = [labels_page(PAGES[0], "AbCdEf==", job), labels_page(PAGES[1], None, job)]
    base = {"JobId": JOB_ID, "MaxResults": 1000, "SortBy": "TIMESTAMP"}
    video_rekognition.get.add_response("get_label_detection", copy.deepcopy(answers[0]), dict(base))
    video_rekognition.get.add_response(
        "get_label_detection", copy.deepcopy(answers[1]), base | {"NextToken": "AbCdEf=="}
    )

    first = video_rekognition.adapter.get_page(job, next_token=None, max_results=1000)
    last = video_rekognition.adapter.get_page(job, next_token="AbCdEf==", max_results=1000)

    assert first.next_token == "AbCdEf=="
    assert last.next_token is None
    assert [list(first.items), list(last.items)] == PAGES
    assert dict(first.document) == answers[0]
    assert dict(last.document) == answers[1]
    assert "ResponseMetadata" not in last.document


def test_an_expired_page_token_becomes_pagination_expired(
    video_rekognition: StubbedRekognition,
) -> None:
    video_rekognition.get.add_client_error(
        "get_content_moderation",
        service_error_code="InvalidPaginationTokenException",
        http_status_code=400,
    )

    with pytest.raises(PaginationExpiredError):
        video_rekognition.adapter.get_page(
            job_for("CONTENT_MODERATION", job_id=JOB_ID), next_token="stale", max_results=1000
        )


def test_other_get_errors_propagate(video_rekognition: StubbedRekognition) -> None:
    video_rekognition.get.add_client_error(
        "get_text_detection", service_error_code="ResourceNotFoundException", http_status_code=400
    )

    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        video_rekognition.adapter.get_page(
            job_for("TEXT_DETECTION", job_id=JOB_ID), next_token=None, max_results=1000
        )


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def refuse_every_call(client: Any, code: str) -> list[str]:
    """Answer each HTTP attempt of ``client`` with ``code``; return the attempts made."""
    attempts: list[str] = []

    def send(request: Any, **_: Any) -> AWSResponse:
        attempts.append(request.headers.get("X-Amz-Target", b"").decode())
        body = json.dumps({"__type": code, "Message": "Too many concurrent jobs"}).encode()
        return AWSResponse(request.url, 400, HTTPHeaders(), _Raw(body))

    client.meta.events.register("before-send.rekognition.*", send)
    return attempts


def test_the_start_client_makes_exactly_one_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _: None)
    # What the start client exists to avoid: botocore retries LimitExceededException.
    retrying = boto3.client(
        "rekognition", config=Config(retries={"mode": "standard", "total_max_attempts": 3})
    )
    retried = refuse_every_call(retrying, "LimitExceededException")
    with pytest.raises(QuotaExceededError):
        start(RekognitionVideoAdapter(retrying, retrying), job_for("LABEL_DETECTION"))
    assert len(retried) == 3
    aws.rekognition_start_client.cache_clear()
    client = aws.rekognition_start_client()
    attempts = refuse_every_call(client, "LimitExceededException")

    with pytest.raises(QuotaExceededError):
        start(RekognitionVideoAdapter(client, retrying), job_for("LABEL_DETECTION"))

    assert attempts == ["RekognitionService.StartLabelDetection"]
    aws.rekognition_start_client.cache_clear()


# ------------------------------------------------------------------------ DynamoDB


@dataclass
class Tables:
    dynamodb: Any
    jobs: str
    catalog: str

    def catalog_item(self, sk: str = "META") -> dict[str, Any]:
        item: dict[str, Any] = self.dynamodb.get_item(
            TableName=self.catalog, Key={"pk": {"S": f"MEDIA#{KEY}"}, "sk": {"S": sk}}
        )["Item"]
        return item

    def search(self, index: str, key: str) -> list[str]:
        attribute = "gsi1pk" if index == "ByTerm" else "gsi2pk"
        response = self.dynamodb.query(
            TableName=self.catalog,
            IndexName=index,
            KeyConditionExpression=f"{attribute} = :key",
            ExpressionAttributeValues={":key": {"S": key}},
        )
        return [item["media_id"]["S"] for item in response["Items"]]


@pytest.fixture
def tables() -> Iterator[Tables]:
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        setattr(session._session, SETUP_SESSION_MARK, True)
        dynamodb = session.client("dynamodb")
        yield Tables(
            dynamodb,
            create_table(dynamodb, "VideoJobsTable"),
            create_table(dynamodb, "CatalogTable"),
        )


def test_create_is_conditional_on_the_token(tables: Tables) -> None:
    store = DynamoDBJobStore(tables.jobs)
    job = job_for("LABEL_DETECTION")

    assert store.create(job) is True
    assert store.create(job.with_changes(state=JobState.RUNNING, job_id=JOB_ID)) is False

    assert store.get(job.token) == job


@pytest.mark.parametrize(
    "job",
    [
        job_for(
            "FACE_SEARCH",
            state=JobState.COLLECTING,
            job_id=JOB_ID,
            started_at="2026-11-27T10:05:00+00:00",
            pages=3,
            items=2_500,
            next_token="AbCdEf==",
            error="StartFaceSearch: LimitExceededException",
            attempts=2,
            parked_since="2026-11-27T10:00:30+00:00",
        ),
        job_for(
            "SEGMENT_DETECTION",
            state=JobState.FAILED,
            job_id=JOB_ID,
            started_at="2026-11-27T10:05:00+00:00",
            finished_at="2026-11-27T10:45:00+00:00",
            error="Unsupported codec",
            attempts=1,
        ),
        job_for("TEXT_DETECTION", version=None),
    ],
    ids=["collecting", "failed", "starting-unversioned"],
)
def test_save_and_get_round_trip_every_field(tables: Tables, job: VideoJob) -> None:
    store = DynamoDBJobStore(tables.jobs)

    store.save(job)

    assert store.get(job.token) == job
    assert store.get("ml-unknown") is None


def test_parked_jobs_come_out_oldest_first(tables: Tables) -> None:
    store = DynamoDBJobStore(tables.jobs)
    since = ["2026-11-27T10:03:00+00:00", "2026-11-27T10:01:00+00:00", "2026-11-27T10:02:00+00:00"]
    apis = ["LABEL_DETECTION", "TEXT_DETECTION", "FACE_DETECTION"]
    for api, moment in zip(apis, since, strict=True):
        store.save(job_for(api, state=JobState.PARKED, parked_since=moment, attempts=1))
    store.save(job_for("FACE_SEARCH", state=JobState.RUNNING, job_id=JOB_ID, started_at=NOW))

    parked = store.open_jobs(JobState.PARKED, since_before=None, limit=10)

    assert [job.parked_since for job in parked] == sorted(since)
    assert [job.api.name for job in parked] == [
        "TEXT_DETECTION",
        "FACE_DETECTION",
        "LABEL_DETECTION",
    ]
    assert len(store.open_jobs(JobState.PARKED, since_before=None, limit=2)) == 2


def test_running_jobs_are_filtered_by_the_time_they_started(tables: Tables) -> None:
    store = DynamoDBJobStore(tables.jobs)
    starts = {
        "LABEL_DETECTION": "2026-11-27T08:00:00+00:00",
        "TEXT_DETECTION": "2026-11-27T09:00:00+00:00",
        "FACE_DETECTION": "2026-11-27T10:00:00+00:00",
    }
    for api, moment in starts.items():
        store.save(job_for(api, state=JobState.RUNNING, job_id=JOB_ID, started_at=moment))

    silent = store.open_jobs(JobState.RUNNING, since_before="2026-11-27T09:00:00+00:00", limit=10)
    everything = store.open_jobs(JobState.RUNNING, since_before=None, limit=10)

    assert [job.api.name for job in silent] == ["LABEL_DETECTION"]
    assert [job.api.name for job in everything] == list(starts)


def test_a_finished_job_leaves_the_open_index(tables: Tables) -> None:
    store = DynamoDBJobStore(tables.jobs)
    running = job_for("LABEL_DETECTION", state=JobState.RUNNING, job_id=JOB_ID, started_at=NOW)
    store.save(running)
    assert store.open_jobs(JobState.RUNNING, since_before=None, limit=10) == [running]

    store.save(running.with_changes(state=JobState.SUCCEEDED, finished_at=NOW, pages=1))

    for state in JobState:
        assert store.open_jobs(state, since_before=None, limit=10) == []
    item = tables.dynamodb.get_item(TableName=tables.jobs, Key={"token": {"S": running.token}})
    assert not {"open_state", "open_since"} & set(item["Item"])


def location(version: str = VERSION) -> CatalogLocation:
    return CatalogLocation(
        media_id=KEY,
        result_bucket=bucket_name(),
        result_key=f"results/{KEY}/",
        source_bucket=bucket_name(),
        source_key=KEY,
        version_id=version,
    )


THREE_APIS = ("LABEL_DETECTION", "TEXT_DETECTION", "CONTENT_MODERATION")


@pytest.mark.parametrize(
    ("last", "status"),
    [
        (JobState.SUCCEEDED, MediaStatus.ANALYSED),
        (JobState.FAILED, MediaStatus.PARTIAL),
        (JobState.TIMED_OUT, MediaStatus.PARTIAL),
    ],
)
def test_the_video_status_follows_its_jobs_to_the_last(
    tables: Tables, last: JobState, status: MediaStatus
) -> None:
    catalog = DynamoDBCatalog(tables.catalog)
    catalog.start_video(location(), THREE_APIS, NOW)
    meta = tables.catalog_item()
    assert (meta["status"]["S"], meta["media_type"]["S"]) == ("IN_PROGRESS", "video")
    assert {api: state["S"] for api, state in meta["jobs"]["M"].items()} == dict.fromkeys(
        THREE_APIS, "STARTING"
    )

    states = [
        catalog.record_job_state(KEY, "LABEL_DETECTION", JobState.SUCCEEDED, NOW, version_id=None),
        catalog.record_job_state(KEY, "TEXT_DETECTION", JobState.SUCCEEDED, NOW, version_id=None),
        catalog.record_job_state(KEY, "CONTENT_MODERATION", last, NOW, version_id=None),
    ]

    assert states == [MediaStatus.IN_PROGRESS, MediaStatus.IN_PROGRESS, status]
    meta = tables.catalog_item()
    assert meta["status"]["S"] == status.value
    assert meta["jobs"]["M"]["CONTENT_MODERATION"]["S"] == last.value
    assert meta["version_id"]["S"] == VERSION


def test_term_seconds_from_several_pages_accumulate_as_a_set(tables: Tables) -> None:
    catalog = DynamoDBCatalog(tables.catalog)
    catalog.start_video(location(), THREE_APIS, NOW)

    catalog.add_video_terms(KEY, [VideoTerm("LABEL", "Dog", 91.25, frozenset({0, 1, 2}))], NOW)
    catalog.add_video_terms(KEY, [VideoTerm("LABEL", "Dog", 91.25, frozenset({2, 3, 61}))], NOW)

    item = tables.catalog_item("LABEL#dog")
    assert sorted(int(second) for second in item["seen_seconds"]["NS"]) == [0, 1, 2, 3, 61]
    assert (item["value"]["S"], item["media_type"]["S"]) == ("Dog", "video")
    assert Decimal(item["confidence"]["N"]) == Decimal("91.25")
    assert item["gsi1sk"]["S"] == f"091.250#{KEY}"
    assert tables.search("ByTerm", "LABEL#dog") == [KEY]


def test_a_term_keeps_its_best_confidence_across_pages(tables: Tables) -> None:
    catalog = DynamoDBCatalog(tables.catalog)
    catalog.start_video(location(), THREE_APIS, NOW)

    catalog.add_video_terms(KEY, [VideoTerm("LABEL", "Dog", 60.0, frozenset({0}))], NOW)
    catalog.add_video_terms(KEY, [VideoTerm("LABEL", "Dog", 97.0, frozenset({5}))], NOW)

    item = tables.catalog_item("LABEL#dog")
    assert item["gsi1sk"]["S"] == f"097.000#{KEY}"


def test_a_new_version_of_the_video_drops_the_old_versions_terms(tables: Tables) -> None:
    catalog = DynamoDBCatalog(tables.catalog)
    catalog.start_video(location("v1"), THREE_APIS, NOW)
    catalog.add_video_terms(KEY, [VideoTerm("LABEL", "Dog", 91.0, frozenset({0}))], NOW)

    catalog.start_video(location("v2"), THREE_APIS, NOW)

    assert tables.search("ByTerm", "LABEL#dog") == []


def test_flag_lists_the_video_in_the_flagged_index(tables: Tables) -> None:
    catalog = DynamoDBCatalog(tables.catalog)
    catalog.start_video(location(), THREE_APIS, NOW)
    assert tables.search("Flagged", "FLAGGED") == []

    catalog.flag(KEY, NOW)

    assert tables.search("Flagged", "FLAGGED") == [KEY]
    assert tables.catalog_item()["flagged"] == {"BOOL": True}


# ------------------------------------------------------------------ the results handler


@dataclass
class VideoStack:
    s3: Any
    sqs: Any
    tables: Tables
    continuation_queue: str
    failures_queue: str
    start: Stubber
    get: Stubber

    def messages(self, queue_url: str) -> list[str]:
        response = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return [message["Body"] for message in response.get("Messages", [])]

    def document(self, key: str) -> dict[str, Any]:
        body = self.s3.get_object(Bucket=bucket_name(), Key=key)["Body"].read()
        parsed: dict[str, Any] = json.loads(body)
        return parsed


@pytest.fixture
def video_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[VideoStack]:
    """Bucket, tables and queues from the template, the results function's environment,
    and Rekognition clients answered by Stubber in place of the adapter's own."""
    with mock_aws():
        session = boto3.session.Session(region_name="eu-west-1")
        setattr(session._session, SETUP_SESSION_MARK, True)
        s3, sqs, sns = session.client("s3"), session.client("sqs"), session.client("sns")
        dynamodb = session.client("dynamodb")
        s3.create_bucket(
            Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        tables = Tables(
            dynamodb,
            create_table(dynamodb, "VideoJobsTable"),
            create_table(dynamodb, "CatalogTable"),
        )
        refs = {
            "CatalogTable": tables.catalog,
            "VideoJobsTable": tables.jobs,
            "VideoJobsTopic": sns.create_topic(Name=physical_name("VideoJobsTopic"))["TopicArn"],
        }
        for queue in ("VideoContinuationQueue", "AnalysisFailuresQueue"):
            refs[queue] = sqs.create_queue(QueueName=physical_name(queue))["QueueUrl"]
        resolver = Resolver(STACK_NAME, ACCOUNT_ID, REGION, refs=refs)
        for name, value in resolver.function_environment("VideoResultsFunction").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "medialens-VideoResultsFunction")
        start_client = boto3.client("rekognition", region_name="eu-west-1")
        get_client = boto3.client("rekognition", region_name="eu-west-1")
        module = "medialens.video.rekognition"
        monkeypatch.setattr(f"{module}.rekognition_start_client", lambda: start_client)
        monkeypatch.setattr(f"{module}.rekognition_client", lambda: get_client)
        with Stubber(start_client) as start_stub, Stubber(get_client) as get_stub:
            yield VideoStack(
                s3,
                sqs,
                tables,
                refs["VideoContinuationQueue"],
                refs["AnalysisFailuresQueue"],
                start_stub,
                get_stub,
            )
            start_stub.assert_no_pending_responses()
            get_stub.assert_no_pending_responses()


@dataclass
class ResultsContext(FakeLambdaContext):
    function_name: str = "medialens-VideoResultsFunction"
    remaining_ms: int = 280_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sns_event(message: str, topic_arn: str) -> dict[str, Any]:
    """What SNS delivers to the function (``sam local generate-event sns notification``)."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic_arn,
                    "Subject": None,
                    "Message": message,
                    "Timestamp": "2026-11-27T10:20:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "EXAMPLE",
                    "UnsubscribeUrl": "EXAMPLE",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def sqs_event(body: str, queue_arn: str) -> dict[str, Any]:
    """What the continuation queue's event source mapping delivers (one message a batch)."""
    return {
        "Records": [
            {
                "messageId": "19dd0b57-b21e-4ac1-bd88-01bbb068cb78",
                "receiptHandle": "MessageReceiptHandle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764238800000",
                    "SenderId": ACCOUNT_ID,
                    "ApproximateFirstReceiveTimestamp": "1764238800001",
                },
                "messageAttributes": {},
                "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        ]
    }


def completion(job: VideoJob, status: str = "SUCCEEDED") -> str:
    return json.dumps(
        {
            "JobId": JOB_ID,
            "Status": status,
            "API": job.api.name,
            "JobTag": job.token,
            "Message": "",
            "Timestamp": 1764238800000,
            "Video": {"S3ObjectName": job.key, "S3Bucket": job.bucket},
        }
    )


def started_label_job(stack: VideoStack) -> VideoJob:
    """Drop the clip through the real start path: one LABEL_DETECTION job, RUNNING."""
    settings = replace(VideoSettings.from_env(), enabled_apis=("LABEL_DETECTION",))
    job = VideoJob.for_media(clip(), video_api("LABEL_DETECTION"), NOW)
    assert (settings.topic_arn, settings.role_arn) == (TOPIC_ARN, ROLE_ARN)
    stack.start.add_response(
        "start_label_detection", {"JobId": JOB_ID}, start_params(job, MinConfidence=55.0)
    )
    summary = start_video_jobs(clip(), ports=video_ports(settings), settings=settings, now=NOW)
    assert summary.started == ("LABEL_DETECTION",)
    stored = DynamoDBJobStore(settings.jobs_table).get(job.token)
    assert stored is not None
    assert (stored.state, stored.job_id) == (JobState.RUNNING, JOB_ID)
    return stored


def test_the_results_handler_collects_hands_over_and_finishes_a_job(
    video_stack: VideoStack, aws_calls: set[str]
) -> None:
    job = started_label_job(video_stack)
    aws_calls.clear()
    answers = [labels_page(PAGES[0], "AbCdEf==", job), labels_page(PAGES[1], None, job)]
    base = {"JobId": JOB_ID, "MaxResults": 1000, "SortBy": "TIMESTAMP"}
    video_stack.get.add_response("get_label_detection", copy.deepcopy(answers[0]), dict(base))
    video_stack.get.add_response(
        "get_label_detection", copy.deepcopy(answers[1]), base | {"NextToken": "AbCdEf=="}
    )
    topic = VideoSettings.from_env().topic_arn

    handed_over = load_handler("video_results").lambda_handler(
        sns_event(completion(job), topic), ResultsContext(remaining_ms=10_000)
    )

    assert handed_over == {"continued": 1}
    [body] = video_stack.messages(video_stack.continuation_queue)
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{physical_name('VideoContinuationQueue')}"

    finished = load_handler("video_results").lambda_handler(
        sqs_event(body, queue_arn), ResultsContext()
    )

    assert finished == {"collected": 1}
    prefix = f"results/{KEY}/label_detection/"
    assert video_stack.document(prefix + "page-00001.json") == answers[0]
    assert video_stack.document(prefix + "page-00002.json") == answers[1]
    done = DynamoDBJobStore(video_stack.tables.jobs).get(job.token)
    assert done is not None
    assert (done.state, done.pages, done.items, done.next_token) == (
        JobState.SUCCEEDED,
        2,
        4,
        None,
    )
    assert video_stack.tables.catalog_item()["status"]["S"] == "ANALYSED"
    assert video_stack.tables.search("ByTerm", "LABEL#dog") == [KEY]
    assert video_stack.tables.search("ByTerm", "LABEL#canine") == [KEY]
    seconds = video_stack.tables.catalog_item("LABEL#dog")["seen_seconds"]["NS"]
    assert sorted(int(second) for second in seconds) == [0, 1, 61]
    assert video_stack.messages(video_stack.failures_queue) == []
    assert {"rekognition:GetLabelDetection", "s3:PutObject", "sqs:SendMessage"} <= aws_calls
    assert aws_calls <= granted_actions("VideoResultsFunction")


def test_the_results_handler_dead_letters_a_message_for_an_unknown_job(
    video_stack: VideoStack,
) -> None:
    job = job_for("LABEL_DETECTION")
    message = completion(job)
    topic = VideoSettings.from_env().topic_arn

    outcome = load_handler("video_results").lambda_handler(
        sns_event(message, topic), ResultsContext()
    )

    assert outcome == {"unknown_job": 1}
    [letter] = video_stack.messages(video_stack.failures_queue)
    assert json.loads(letter) == {
        "reason": "unknown_job",
        "detail": f"no job recorded for {JOB_ID}",
        "message": message,
    }


def test_the_media_function_may_make_every_call_a_video_start_makes(
    video_stack: VideoStack, aws_calls: set[str]
) -> None:
    aws_calls.clear()

    started_label_job(video_stack)

    assert {"rekognition:StartLabelDetection", "dynamodb:PutItem"} <= aws_calls
    assert aws_calls <= granted_actions("AnalyzeMediaFunction")
