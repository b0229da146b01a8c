from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.data_classes import S3Event
from medialens.shared.errors import RejectedMediaError
from medialens.shared.media import InlineImage, MediaObject, sequencer_order

from tests.support.stack import ROOT


def media_from(event_file: str) -> list[MediaObject]:
    event = S3Event(json.loads((ROOT / "events" / event_file).read_text()))
    return [MediaObject.from_s3_record(record) for record in event.records]


def test_keys_are_url_decoded_per_record() -> None:
    [media] = media_from("s3_put_encoded_key.json")

    assert media.key == "uploads/my photo +1 café.jpg"
    assert media.version_id == "Ad3q0PHYB1m5bzmuYv5rWTn8k9RF2rL3"
    assert media.size == 1843200
    assert media.sequencer == "0055AED6DCD90281E5"


def test_every_record_of_a_multi_record_event_is_decoded() -> None:
    event = json.loads((ROOT / "events" / "s3_put_encoded_key.json").read_text())
    second = json.loads(json.dumps(event["Records"][0]))
    second["s3"]["object"]["key"] = "uploads/second%20file.png"
    event["Records"].append(second)

    keys = [MediaObject.from_s3_record(r).key for r in S3Event(event).records]

    assert keys == ["uploads/my photo +1 café.jpg", "uploads/second file.png"]


@pytest.mark.parametrize(
    "event_file",
    sorted(path.name for path in (ROOT / "events").glob("s3_*.json")),
)
def test_every_bundled_s3_event_parses(event_file: str) -> None:
    for media in media_from(event_file):
        assert media.bucket
        assert media.size > 0
        assert "%" not in media.key


def test_inline_payload_decodes_and_names_itself_by_content() -> None:
    event = json.loads((ROOT / "events" / "inline_image.json").read_text())

    image = InlineImage.from_payload(event)

    assert image.data.startswith(b"\xff\xd8")
    assert image.media_id == f"inline/{image.sha256}"
    assert image.name == "chelsea the cat, 160 px.jpg"


@pytest.mark.parametrize(
    "payload",
    [[], {"image_base64": 42}, {"image_base64": "a"}, {"image_base64": "aGk=", "name": 3}],
)
def test_malformed_inline_payloads_are_rejected(payload: object) -> None:
    with pytest.raises(RejectedMediaError) as raised:
        InlineImage.from_payload(payload)  # type: ignore[arg-type]

    assert raised.value.reason == "bad_request"


def test_sequencers_of_different_lengths_compare_as_s3_documents() -> None:
    assert sequencer_order("0055AED6DCD90281E5") < sequencer_order("0055AED6DCD90281E5A")
    assert sequencer_order("0055AED6DCD90281E5") == sequencer_order("0055AED6DCD90281E500")
    assert sequencer_order("0055aed6dcd90281e5") == sequencer_order("0055AED6DCD90281E5")
    assert sequencer_order("0A") > sequencer_order("09FFFF")
