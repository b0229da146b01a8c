"""The ingest consumer: parsing, pacing, back pressure, failures and unreadable messages."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.config import Config
from botocore.exceptions import ClientError
from medialens.ingest.consume import (
    MAX_DELAY_S,
    IngestPorts,
    MessageFailedError,
    QueueMessage,
    back_off,
    consume_message,
    is_throttling,
)
from medialens.ingest.messages import MessageKind, backfill_request, parse_message
from medialens.ingest.pacing import Pacer, RekognitionQuotas, TokenBucket, ingest_concurrency
from medialens.shared.errors import ConfigurationError, MalformedNotificationError
from medialens.shared.media import MediaObject, RemovedObject
from medialens.shared.outcome import AnalysisOutcome, OutcomeStatus

from tests.support.s3_examples import EVENTBRIDGE_OBJECT_DELETED
from tests.support.sam_events import sam_event

EVENTS = Path(__file__).parents[2] / "events"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def s3_notification(key: str = "uploads/a%20b.jpg") -> str:
    record = {
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "bucket": {"name": "media"},
            "object": {"key": key, "size": 10, "eTag": "abc", "sequencer": "0A"},
        },
    }
    return json.dumps({"Records": [record]})


# --- messages -------------------------------------------------------------------------


def test_an_s3_notification_names_its_objects_with_decoded_keys() -> None:
    parsed = parse_message(s3_notification())
    assert parsed.kind is MessageKind.DROP
    assert parsed.objects == (
        MediaObject(bucket="media", key="uploads/a b.jpg", size=10, etag="abc", sequencer="0A"),
    )


def test_the_sam_cli_s3_event_parses() -> None:
    body = (EVENTS / "s3_put_upload.json").read_text()
    parsed = parse_message(body)
    assert parsed.kind is MessageKind.DROP
    assert parsed.objects[0].key.startswith("uploads/")


def test_s3s_test_event_is_recognised() -> None:
    body = json.dumps(
        {
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2026-12-04T10:00:00.000Z",
            "Bucket": "media",
            "RequestId": "5582815E1AEA5ADF",
            "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
        }
    )
    assert parse_message(body).kind is MessageKind.TEST_EVENT


def test_an_eventbridge_object_created_event_parses() -> None:
    body = json.dumps(
        {
            "version": "0",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "detail": {
                "bucket": {"name": "media"},
                "object": {"key": "uploads/x.jpg", "size": 5, "etag": "e", "version-id": "v1"},
            },
        }
    )
    [media] = parse_message(body).objects
    assert (media.key, media.version_id, media.etag) == ("uploads/x.jpg", "v1", "e")


def test_a_backfill_request_round_trips_and_unquotes_the_listing_etag() -> None:
    body = json.dumps(backfill_request("media", "uploads/old.jpg", 42, '"d41d8cd9"'))
    parsed = parse_message(body)
    assert parsed.kind is MessageKind.BACKFILL
    assert parsed.objects == (MediaObject("media", "uploads/old.jpg", 42, etag="d41d8cd9"),)


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"Records": []}),
        json.dumps({"source": "medialens.backfill", "bucket": "b"}),
        json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {"bucket": {}}}),
        json.dumps({"source": "aws.s3", "detail-type": "Object Restore Completed", "detail": {}}),
    ],
)
def test_unreadable_bodies_are_malformed(body: str) -> None:
    with pytest.raises(MalformedNotificationError):
        parse_message(body)


def test_sam_clis_delete_event_names_what_was_removed() -> None:
    event = sam_event("s3", "delete", bucket="media", key="uploads/old photo.jpg")
    parsed = parse_message(json.dumps(event))
    assert parsed.objects == ()
    assert parsed.removed == (
        RemovedObject("media", "uploads/old photo.jpg", sequencer="0A1B2C3D4E5F678901"),
    )


def test_removal_records_tell_a_delete_marker_from_a_version_deleted_for_good() -> None:
    def record(event_name: str, version: str) -> dict[str, Any]:
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "eventName": event_name,
            "s3": {
                "bucket": {"name": "media"},
                "object": {"key": "faces/ann/a.jpg", "versionId": version, "sequencer": "0B"},
            },
        }

    body = json.dumps(
        {
            "Records": [
                record("ObjectRemoved:DeleteMarkerCreated", "marker"),
                record("ObjectRemoved:Delete", "v1"),
            ]
        }
    )
    marker, deleted = parse_message(body).removed
    assert (marker.version_id, marker.delete_marker) == ("marker", True)
    assert (deleted.version_id, deleted.delete_marker) == ("v1", False)


def test_eventbridges_object_deleted_example_is_a_removal() -> None:
    body = json.dumps(EVENTBRIDGE_OBJECT_DELETED)
    [removed] = parse_message(body).removed
    assert removed == RemovedObject(
        "amzn-s3-demo-bucket1",
        "example-key",
        version_id="1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
        sequencer="617f0837b476e463",
        delete_marker=True,
    )


def test_a_notifications_unreadable_records_are_set_aside_with_their_reasons() -> None:
    good = json.loads(s3_notification())["Records"][0]
    no_s3 = {"eventSource": "aws:sqs"}
    no_key = {"s3": {"bucket": {"name": "b"}}}
    parsed = parse_message(json.dumps({"Records": [no_s3, good, no_key]}))
    assert [media.key for media in parsed.objects] == ["uploads/a b.jpg"]
    assert [bad.record for bad in parsed.unreadable] == [no_s3, no_key]
    assert "'s3'" in parsed.unreadable[0].reason
    assert "'object'" in parsed.unreadable[1].reason


# --- pacing ---------------------------------------------------------------------------


def test_a_token_bucket_spaces_calls_at_its_rate_without_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        bucket.acquire()
    assert clock.slept == [0.5, 0.5, 0.5, 0.5]


def test_a_sandbox_spends_its_share_of_each_quota() -> None:
    clock = FakeClock()
    quotas = RekognitionQuotas.parse("DetectLabels=10,DetectText=5")
    pacer = Pacer(quotas, max_concurrency=5, share=1.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire("DetectLabels")
    assert clock.slept == [0.5, 0.5]  # 10 TPS shared by 5 sandboxes: 2 per second each
    pacer.acquire("GetCelebrityInfo")  # not paced: no quota was given for it
    assert pacer.waited_s == pytest.approx(1.0)


def test_the_pacer_paces_each_http_attempt_of_a_botocore_client() -> None:
    paced: list[str] = []
    answers = [500, 500, 200]

    class Recording(Pacer):
        def acquire(self, operation: str) -> None:
            paced.append(operation)

    class Body(io.BytesIO):
        def stream(self, **_: Any) -> Any:
            yield self.getvalue()

    def answer(request: Any, **_: Any) -> AWSResponse:
        status = answers.pop(0)
        body = b'{"Labels": []}' if status == 200 else b'{"__type": "InternalServerError"}'
        return AWSResponse(request.url, status, HTTPHeaders(), Body(body))

    client = boto3.client(
        "rekognition",
        region_name="eu-west-1",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    Recording(RekognitionQuotas.parse("DetectLabels=5"), 5).attach(client)
    hooks: Any = client.meta.events
    hooks.register("before-send.rekognition", answer)  # after the pacer's hook
    client.detect_labels(Image={"S3Object": {"Bucket": "media", "Name": "a.jpg"}})
    assert paced == ["DetectLabels"] * 3  # the first attempt and both retries


def test_quotas_parse_and_refuse_nonsense() -> None:
    assert RekognitionQuotas.parse("DetectLabels=50, DetectText=5.5").tps == {
        "DetectLabels": 50.0,
        "DetectText": 5.5,
    }
    for text in ("DetectLabels", "DetectLabels=0", "DetectLabels=-1", "Detect Labels=5"):
        with pytest.raises(ConfigurationError):
            RekognitionQuotas.parse(text)


def test_the_ceiling_is_set_by_the_binding_quota_per_call() -> None:
    quotas = RekognitionQuotas.parse("DetectLabels=50,DetectFaces=5,SearchFacesByImage=5")
    calls = {"DetectLabels": 1, "DetectFaces": 1, "SearchFacesByImage": 2}
    assert quotas.ceiling(calls) == 2.5
    assert quotas.binding(calls) == "SearchFacesByImage"
    with pytest.raises(ConfigurationError):
        quotas.ceiling({"DetectText": 1})


def test_concurrency_is_the_smallest_quota_within_the_mappings_bounds() -> None:
    quotas = RekognitionQuotas.parse("DetectLabels=50,DetectFaces=5,DetectText=1")
    assert ingest_concurrency(quotas, ["DetectLabels", "DetectFaces"]) == 5
    assert ingest_concurrency(quotas, ["DetectText"]) == 2
    big = RekognitionQuotas.parse("DetectLabels=5000")
    assert ingest_concurrency(big, ["DetectLabels"]) == 1000


# --- the consumer ---------------------------------------------------------------------


class RecordingQueue:
    def __init__(self) -> None:
        self.put_back_calls: list[tuple[str, int, int]] = []
        self.delayed: list[tuple[str, int]] = []
        self.parked: list[tuple[str, str]] = []

    def put_back(self, body: str, *, delay_s: int, throttled: int) -> None:
        self.put_back_calls.append((body, delay_s, throttled))

    def delay_retry(self, receipt_handle: str, delay_s: int) -> None:
        self.delayed.append((receipt_handle, delay_s))

    def dead_letter(self, body: str, reason: str) -> None:
        self.parked.append((body, reason))


def removed_ok(removed: RemovedObject) -> AnalysisOutcome:
    return AnalysisOutcome(media_id=removed.media_id, status=OutcomeStatus.REMOVED)


def ports(
    analyze: Any,
    queue: RecordingQueue,
    catalogued: frozenset[str] = frozenset(),
    remove: Any = removed_ok,
) -> IngestPorts:
    return IngestPorts(
        analyze=analyze,
        remove=remove,
        catalogued=lambda media_id: media_id in catalogued,
        queue=queue,
        jitter=lambda low, high: high,
    )


def analysed(media: MediaObject) -> AnalysisOutcome:
    return AnalysisOutcome(media_id=media.media_id, status=OutcomeStatus.ANALYSED)


def throttled(media: MediaObject) -> AnalysisOutcome:
    raise ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "DetectLabels",
    )


def broken(media: MediaObject) -> AnalysisOutcome:
    raise ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "DetectText")


def message(body: str, receive_count: int = 1, throttled_before: int = 0) -> QueueMessage:
    return QueueMessage(
        message_id="m-1",
        body=body,
        receipt_handle="r-1",
        receive_count=receive_count,
        throttled_before=throttled_before,
    )


def test_a_drop_is_analysed() -> None:
    queue = RecordingQueue()
    [outcome] = consume_message(message(s3_notification()), ports(analysed, queue))
    assert outcome.status is OutcomeStatus.ANALYSED
    assert (queue.put_back_calls, queue.delayed, queue.parked) == ([], [], [])


def test_throttling_puts_the_message_back_with_a_growing_delay_and_is_no_failure() -> None:
    queue = RecordingQueue()
    body = s3_notification()
    assert consume_message(message(body, throttled_before=3), ports(throttled, queue)) == []
    assert queue.put_back_calls == [(body, back_off(2, 4, lambda low, high: high), 4)]
    assert queue.put_back_calls[0][1] == 16
    assert queue.delayed == []


def test_a_real_failure_is_delayed_then_raised_for_the_batch_response() -> None:
    queue = RecordingQueue()
    with pytest.raises(MessageFailedError, match="InternalServerError"):
        consume_message(message(s3_notification(), receive_count=2), ports(broken, queue))
    assert queue.delayed == [("r-1", 60)]
    assert queue.put_back_calls == []


def notification(*keys: str) -> str:
    return json.dumps({"Records": [json.loads(s3_notification(key))["Records"][0] for key in keys]})


class ByKey:
    """An analysis that acts per key (``b=broken``), and remembers what it was asked."""

    def __init__(self, **behaviour: Any) -> None:
        self.behaviour = behaviour
        self.asked: list[str] = []

    def __call__(self, media: MediaObject) -> AnalysisOutcome:
        self.asked.append(media.key)
        outcome: AnalysisOutcome = self.behaviour.get(media.key.removeprefix("uploads/"), analysed)(
            media
        )
        return outcome


def test_every_record_of_a_notification_runs_though_one_fails_and_the_message_is_retried() -> None:
    queue = RecordingQueue()
    analyze = ByKey(b=broken)
    with pytest.raises(MessageFailedError, match=r"1 record\(s\) failed, first uploads/b"):
        consume_message(
            message(notification("uploads/a", "uploads/b", "uploads/c")), ports(analyze, queue)
        )
    assert analyze.asked == ["uploads/a", "uploads/b", "uploads/c"]
    assert queue.delayed == [("r-1", 30)]


def test_a_record_throttled_beside_a_failed_one_is_retried_with_the_message() -> None:
    queue = RecordingQueue()
    body = notification("uploads/a", "uploads/b")
    with pytest.raises(MessageFailedError, match="uploads/b"):
        consume_message(message(body), ports(ByKey(a=throttled, b=broken), queue))
    assert queue.put_back_calls == []


def test_records_that_are_only_throttled_put_the_message_back() -> None:
    queue = RecordingQueue()
    body = notification("uploads/a", "uploads/b")
    assert consume_message(message(body), ports(ByKey(b=throttled), queue)) == []
    assert [call[0] for call in queue.put_back_calls] == [body]
    assert queue.delayed == []


def test_unreadable_records_are_parked_alone_once_the_others_are_analysed() -> None:
    queue = RecordingQueue()
    good = json.loads(s3_notification("uploads/ok.jpg"))["Records"][0]
    bad = {"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}
    body = json.dumps({"Records": [bad, good]})
    [outcome] = consume_message(message(body), ports(analysed, queue))
    assert outcome.media_id == "uploads/ok.jpg"
    [(parked, reason)] = queue.parked
    assert json.loads(parked) == {"Records": [bad]}
    assert "'s3'" in reason


def test_unreadable_records_wait_for_the_message_when_another_record_fails() -> None:
    queue = RecordingQueue()
    body = json.dumps(
        {"Records": [{"eventSource": "x"}, json.loads(s3_notification())["Records"][0]]}
    )
    with pytest.raises(MessageFailedError):
        consume_message(message(body), ports(broken, queue))
    # The redelivery (or the dead-letter queue, at the end) still carries them: parked once.
    assert queue.parked == []


def test_a_removal_runs_beside_the_drops_of_its_message_and_its_failure_retries_it() -> None:
    queue = RecordingQueue()
    created = json.loads(s3_notification("uploads/new.jpg"))["Records"][0]
    removal = sam_event("s3", "delete", bucket="media", key="uploads/old.jpg")["Records"][0]
    body = json.dumps({"Records": [removal, created]})
    outcomes = consume_message(message(body), ports(analysed, queue))
    assert sorted(o.status for o in outcomes) == [OutcomeStatus.ANALYSED, OutcomeStatus.REMOVED]

    def fails(removed: RemovedObject) -> AnalysisOutcome:
        raise ClientError({"Error": {"Code": "InternalServerError"}}, "DeleteFaces")

    with pytest.raises(MessageFailedError, match=r"uploads/old\.jpg"):
        consume_message(message(body), ports(analysed, queue, remove=fails))


def test_back_offs_stop_at_sqss_longest_delay() -> None:
    assert back_off(30, 20, lambda low, high: high) == MAX_DELAY_S


def test_an_unreadable_message_is_parked_with_its_reason_not_retried() -> None:
    queue = RecordingQueue()
    assert consume_message(message("{oops"), ports(analysed, queue)) == []
    [(body, reason)] = queue.parked
    assert body == "{oops"
    assert "not JSON" in reason


def test_the_test_event_is_acknowledged_and_analyses_nothing() -> None:
    queue = RecordingQueue()
    body = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "media"})
    assert consume_message(message(body), ports(broken, queue)) == []
    assert queue.parked == []


def test_a_backfill_skips_what_the_catalog_already_holds() -> None:
    queue = RecordingQueue()
    done = json.dumps(backfill_request("media", "uploads/done.jpg", 1, None))
    new = json.dumps(backfill_request("media", "uploads/new.jpg", 1, None))
    catalogued = frozenset({"uploads/done.jpg"})
    [skipped] = consume_message(message(done), ports(broken, queue, catalogued))
    assert (skipped.status, skipped.reason) == (OutcomeStatus.IGNORED, "already_catalogued")
    [fresh] = consume_message(message(new), ports(analysed, queue, catalogued))
    assert fresh.status is OutcomeStatus.ANALYSED


def test_a_drop_is_analysed_even_when_catalogued_its_version_decides() -> None:
    queue = RecordingQueue()
    catalogued = frozenset({"uploads/a b.jpg"})
    [outcome] = consume_message(message(s3_notification()), ports(analysed, queue, catalogued))
    assert outcome.status is OutcomeStatus.ANALYSED


def test_throttling_is_recognised_by_botocores_own_list() -> None:
    assert is_throttling(ClientError({"Error": {"Code": "ThrottlingException"}}, "DetectFaces"))
    assert not is_throttling(ClientError({"Error": {"Code": "AccessDenied"}}, "DetectFaces"))
    assert not is_throttling(ValueError("ThrottlingException"))
