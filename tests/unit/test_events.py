"""Every file in events/ parses the way its function will parse it under `sam local invoke`."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event, SNSEvent, SQSEvent
from medialens.chatbot.dialog import INTENT_HANDLERS
from medialens.chatbot.lex import LexRequest
from medialens.ingest.messages import MessageKind, parse_message
from medialens.shared.errors import MalformedNotificationError
from medialens.shared.media import InlineImage, MediaObject
from medialens.video.models import Continuation, JobNotification

from tests.support.stack import ROOT

EVENTS = ROOT / "events"


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return document


def test_every_event_file_is_covered_here() -> None:
    covered = {
        *S3_EVENTS,
        *INLINE_EVENTS,
        "sns_video_job_succeeded.json",
        "sns_video_job_failed.json",
        "sns_video_message_malformed.json",
        "sqs_video_continuation.json",
        "sqs_ingest_drops.json",
        "schedule_video_sweep.json",
        *LEX_EVENTS,
    }
    assert {p.name for p in EVENTS.glob("*.json")} == covered


LEX_EVENTS = sorted(p.name for p in EVENTS.glob("lex_*.json"))


@pytest.mark.parametrize("name", LEX_EVENTS)
def test_lex_events_parse_as_the_chatbot_parses_them(name: str) -> None:
    event = load(name)

    request = LexRequest.parse(event)

    assert request.intent.name in INTENT_HANDLERS
    assert request.source.value == event["invocationSource"]


S3_EVENTS = [
    "s3_put_encoded_key.json",
    "s3_put_face_reference.json",
    "s3_put_multipart.json",
    "s3_put_results_ignored.json",
    "s3_put_upload.json",
]
INLINE_EVENTS = ["inline_image.json", "inline_image_invalid.json"]


@pytest.mark.parametrize("name", S3_EVENTS)
def test_s3_events_name_an_object(name: str) -> None:
    [record] = S3Event(load(name)).records

    media = MediaObject.from_s3_record(record)

    assert media.bucket
    assert media.key
    assert media.size > 0


def test_inline_events_are_the_documented_payload() -> None:
    assert InlineImage.from_payload(load("inline_image.json")).data
    assert "image_base64" in load("inline_image_invalid.json")


@pytest.mark.parametrize(
    ("name", "status"),
    [("sns_video_job_succeeded.json", "SUCCEEDED"), ("sns_video_job_failed.json", "FAILED")],
)
def test_completion_events_carry_rekognitions_message(name: str, status: str) -> None:
    [record] = SNSEvent(load(name)).records

    notification = JobNotification.parse(record.sns.message)

    assert notification.status == status
    assert notification.job_tag
    assert notification.key.startswith("uploads/")


def test_the_malformed_event_is_malformed() -> None:
    [record] = SNSEvent(load("sns_video_message_malformed.json")).records

    with pytest.raises(MalformedNotificationError):
        JobNotification.parse(record.sns.message)


def test_the_ingest_event_carries_the_bundled_s3_drops() -> None:
    records = list(SQSEvent(load("sqs_ingest_drops.json")).records)

    parsed = [parse_message(record.body) for record in records]

    assert [message.kind for message in parsed] == [MessageKind.DROP, MessageKind.DROP]
    keys = [media.key for message in parsed for media in message.objects]
    assert keys[0].startswith("uploads/")
    assert keys[1].startswith("faces/")


def test_the_continuation_event_resumes_a_job() -> None:
    [record] = SQSEvent(load("sqs_video_continuation.json")).records

    continuation = Continuation.parse(record.body)

    assert continuation.next_token
    assert continuation.pages == 12


def test_the_schedule_event_is_eventbridges() -> None:
    event = load("schedule_video_sweep.json")

    assert (event["source"], event["detail-type"]) == ("aws.events", "Scheduled Event")
