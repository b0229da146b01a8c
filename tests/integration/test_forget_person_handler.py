"""make forget: the erasure function end to end on moto, Rekognition stubbed to its model."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber
from medialens.catalog.location import CatalogLocation
from medialens.catalog.writer import DynamoDBCatalog
from medialens.images.models import Answer, FaceMatch, ImageAnalysis, Label
from medialens.lifecycle.erasure import person_digest

from tests.support import rekognition as answers
from tests.support.images import jpeg_bytes
from tests.support.stack import (
    Stack,
    function_environment,
    granted_actions,
    load_handler,
)

REFERENCE = "faces/alice/reference.jpg"
GROUP = "uploads/team/picnic.jpg"


@pytest.fixture
def forget(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    environment = function_environment(
        {"CatalogTable": stack.catalog_table, "FaceCollection": stack.face_collection_id},
        "ForgetPersonFunction",
    )
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return load_handler("forget_person")


def enrol_alice_and_tag_a_picnic(
    stack: Stack, rekognition: Stubber, lambda_context: Any
) -> list[str]:
    """Alice's reference photo through the analysis function; a picnic naming her and Bob."""
    analyze = load_handler("analyze_media")
    event = stack.put_object(REFERENCE, jpeg_bytes())
    image = answers.s3_image(
        stack.bucket, REFERENCE, event["Records"][0]["s3"]["object"]["versionId"]
    )
    indexed = answers.index_response("alice")
    rekognition.add_response("index_faces", indexed)
    answers.queue_full_analysis(rekognition, image, faces=0, collection_id="unused")
    response = analyze.lambda_handler(stack.receive_as_lambda(json.dumps(event)), lambda_context)
    assert response == {"batchItemFailures": []}
    stack.put_object(GROUP, jpeg_bytes())
    raw = {
        "FaceMatches": [{"Similarity": 99.0, "Face": {"FaceId": "f-a", "ExternalImageId": "alice"}}]
    }
    picnic = ImageAnalysis(
        media_id=GROUP,
        analysed_at="2026-12-01T10:00:00+00:00",
        labels=(Label("Picnic", 90.0),),
        face_matches=(FaceMatch("alice", "f-a", 99.0), FaceMatch("bob", "f-b", 97.0)),
        responses=(Answer("SearchFaces", (), raw),),
    )
    location = CatalogLocation(
        media_id=GROUP,
        result_bucket=stack.bucket,
        result_key=f"results/{GROUP}.json",
        source_bucket=stack.bucket,
        source_key=GROUP,
    )
    DynamoDBCatalog(stack.catalog_table).record_analysis(picnic, location)
    for _ in range(2):  # two versions of the result, as a re-analysis leaves
        stack.s3.put_object(
            Bucket=stack.bucket, Key=location.result_key, Body=json.dumps(picnic.to_dict()).encode()
        )
    return [record["Face"]["FaceId"] for record in indexed["FaceRecords"]]


def listed_faces(*people: tuple[str, str]) -> dict[str, Any]:
    return {
        "Faces": [
            {"FaceId": face_id, "ExternalImageId": person, "ImageId": "i", "Confidence": 99.0}
            for face_id, person in people
        ],
        "FaceModelVersion": "7.0",
    }


def test_forgetting_a_person_erases_photos_faces_terms_and_result_mentions(
    stack: Stack,
    rekognition: Stubber,
    forget: Any,
    lambda_context: Any,
    aws_calls: set[str],
) -> None:
    faces = enrol_alice_and_tag_a_picnic(stack, rekognition, lambda_context)
    assert sorted(stack.search("ByTerm", "PERSON#alice")) == [REFERENCE, GROUP]
    aws_calls.clear()
    stray = "0f6f2a3c-5d4e-4b1a-9c8d-00000000ffff"  # indexed under alice, in no catalog entry
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": faces},
        {"CollectionId": stack.face_collection_id, "FaceIds": faces},
    )
    rekognition.add_response(
        "list_faces",
        listed_faces((stray, "alice"), ("b0b", "bob")),
        {"CollectionId": stack.face_collection_id, "MaxResults": 4096},
    )
    rekognition.add_response(
        "delete_faces",
        {"DeletedFaces": [stray]},
        {"CollectionId": stack.face_collection_id, "FaceIds": [stray]},
    )

    report = forget.lambda_handler({"person_id": "alice"}, lambda_context)

    rekognition.assert_no_pending_responses()
    assert report["erased"] is True
    assert (report["reference_files"], report["faces"], report["media_untagged"]) == (1, 2, 1)
    assert report["result_documents"] == 1
    versions = stack.s3.list_object_versions(Bucket=stack.bucket, Prefix="faces/alice/")
    assert versions.get("Versions", []) == versions.get("DeleteMarkers", []) == []
    assert stack.media_items(REFERENCE) == []
    assert stack.search("ByTerm", "PERSON#alice") == []
    assert stack.search("ByTerm", "PERSON#bob") == [GROUP]
    assert stack.search("ByTerm", "LABEL#picnic") == [GROUP]
    result = stack.result_document(f"results/{GROUP}.json")
    assert "alice" not in json.dumps(result)
    assert result["persons"] == ["bob"]
    kept = stack.s3.list_object_versions(Bucket=stack.bucket, Prefix=f"results/{GROUP}.json")
    assert len(kept["Versions"]) == 1
    [audit] = stack.dynamodb.query(
        TableName=stack.catalog_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "AUDIT#ERASURE"}},
    )["Items"]
    assert audit["person_digest"]["S"] == person_digest("alice")
    assert "alice" not in json.dumps(audit)
    assert aws_calls <= granted_actions("ForgetPersonFunction")

    rekognition.add_response("list_faces", listed_faces(("b0b", "bob")))
    again = forget.lambda_handler({"person_id": "alice"}, lambda_context)

    assert (again["reference_files"], again["faces"], again["media_untagged"]) == (0, 0, 0)


@pytest.mark.parametrize("event", [{"person_id": ".."}, {"person_id": "a/b"}, {}, {"person_id": 7}])
def test_an_id_no_reference_photo_could_carry_is_refused_before_anything_is_deleted(
    stack: Stack, forget: Any, lambda_context: Any, aws_calls: set[str], event: dict[str, Any]
) -> None:
    response = forget.lambda_handler(event, lambda_context)

    assert response["erased"] is False
    assert "not a person id" in response["error"]
    assert aws_calls == set()
