"""Rekognition answers in the documented shapes (validated by Stubber against the model)."""

from __future__ import annotations

from typing import Any

BOX = {"Width": 0.31, "Height": 0.42, "Left": 0.12, "Top": 0.2}


def labels_response(*labels: tuple[str, float], parents: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "Labels": [
            {
                "Name": name,
                "Confidence": confidence,
                "Instances": [{"BoundingBox": BOX, "Confidence": confidence}],
                "Parents": [{"Name": parent} for parent in parents],
                "Aliases": [],
                "Categories": [{"Name": "Animals and Pets"}],
            }
            for name, confidence in labels
        ],
        "ImageProperties": {
            "Quality": {"Brightness": 74.3, "Sharpness": 86.2, "Contrast": 61.0},
            "DominantColors": [
                {
                    "Red": 12,
                    "Green": 110,
                    "Blue": 200,
                    "HexCode": "#0c6ec8",
                    "CSSColor": "steelblue",
                    "SimplifiedColor": "blue",
                    "PixelPercent": 41.5,
                }
            ],
        },
        "LabelModelVersion": "3.0",
    }


def text_response(*lines: str) -> dict[str, Any]:
    detections: list[dict[str, Any]] = []
    for line_id, line in enumerate(lines):
        detections.append(
            {
                "DetectedText": line,
                "Type": "LINE",
                "Id": line_id,
                "Confidence": 99.1,
                "Geometry": {"BoundingBox": BOX},
            }
        )
    for word_id, word in enumerate(" ".join(lines).split(), start=len(lines)):
        detections.append(
            {
                "DetectedText": word,
                "Type": "WORD",
                "Id": word_id,
                "ParentId": 0,
                "Confidence": 98.4,
                "Geometry": {"BoundingBox": BOX},
            }
        )
    return {"TextDetections": detections, "TextModelVersion": "3.0"}


def faces_response(count: int = 1) -> dict[str, Any]:
    face = {
        "BoundingBox": BOX,
        "AgeRange": {"Low": 26, "High": 34},
        "Smile": {"Value": True, "Confidence": 97.0},
        "Eyeglasses": {"Value": False, "Confidence": 99.0},
        "Sunglasses": {"Value": False, "Confidence": 99.4},
        "Gender": {"Value": "Female", "Confidence": 98.8},
        "Beard": {"Value": False, "Confidence": 96.0},
        "Mustache": {"Value": False, "Confidence": 98.0},
        "EyesOpen": {"Value": True, "Confidence": 95.0},
        "MouthOpen": {"Value": True, "Confidence": 80.0},
        "Emotions": [
            {"Type": "HAPPY", "Confidence": 93.2},
            {"Type": "CALM", "Confidence": 4.1},
            {"Type": "SURPRISED", "Confidence": 1.2},
        ],
        "Confidence": 99.9,
        "FaceOccluded": {"Value": False, "Confidence": 99.0},
    }
    return {"FaceDetails": [face] * count}


def moderation_response(*labels: tuple[str, str, float]) -> dict[str, Any]:
    return {
        "ModerationLabels": [
            {"Name": name, "ParentName": parent, "Confidence": confidence, "TaxonomyLevel": 2}
            for name, parent, confidence in labels
        ],
        "ModerationModelVersion": "7.0",
    }


def search_response(*matches: tuple[str, float]) -> dict[str, Any]:
    return {
        "SearchedFaceBoundingBox": BOX,
        "SearchedFaceConfidence": 99.9,
        "FaceMatches": [
            {
                "Similarity": similarity,
                "Face": {
                    "FaceId": f"11111111-2222-3333-4444-{index:012d}",
                    "BoundingBox": BOX,
                    "ImageId": f"aaaaaaaa-bbbb-cccc-dddd-{index:012d}",
                    "ExternalImageId": person,
                    "Confidence": 99.8,
                },
            }
            for index, (person, similarity) in enumerate(matches)
        ],
        "FaceModelVersion": "7.0",
    }


def index_response(person: str, faces: int = 1, first: int = 0) -> dict[str, Any]:
    return {
        "FaceRecords": [
            {
                "Face": {
                    "FaceId": f"0f6f2a3c-5d4e-4b1a-9c8d-{first + n:012d}",
                    "BoundingBox": BOX,
                    "ImageId": "4a7e3d1c-2b9f-4c6e-8d5a-1f3e2d4c5b6a",
                    "ExternalImageId": person,
                    "Confidence": 99.9,
                },
                "FaceDetail": {"BoundingBox": BOX, "Confidence": 99.9},
            }
            for n in range(faces)
        ],
        "FaceModelVersion": "7.0",
        "UnindexedFaces": [],
    }


def search_faces_response(face_id: str, *matches: tuple[str, float]) -> dict[str, Any]:
    return {
        "SearchedFaceId": face_id,
        "FaceMatches": search_response(*matches)["FaceMatches"],
        "FaceModelVersion": "7.0",
    }


def s3_image(bucket: str, key: str, version: str | None) -> dict[str, Any]:
    s3_object = {"Bucket": bucket, "Name": key}
    if version:
        s3_object["Version"] = version
    return {"S3Object": s3_object}


def queue_full_analysis(
    stubber: Any,
    image: dict[str, Any],
    *,
    labels: tuple[tuple[str, float], ...] = (("Dog", 97.5),),
    parents: tuple[str, ...] = ("Animal", "Pet"),
    lines: tuple[str, ...] = ("INVOICE 42",),
    faces: int = 1,
    moderation: tuple[tuple[str, str, float], ...] = (),
    matches: tuple[tuple[str, float], ...] = (),
    collection_id: str,
) -> None:
    """Queue the answers of one default-settings analysis, checking each request.

    With one face the image is searched with SearchFacesByImage; with several, the
    caller queues the index-search-delete calls of the group search itself.
    """
    stubber.add_response(
        "detect_labels",
        labels_response(*labels, parents=parents),
        {
            "Image": image,
            "MaxLabels": 25,
            "MinConfidence": 55.0,
            "Features": ["GENERAL_LABELS", "IMAGE_PROPERTIES"],
            "Settings": {"ImageProperties": {"MaxDominantColors": 5}},
        },
    )
    stubber.add_response(
        "detect_text",
        text_response(*lines),
        {"Image": image, "Filters": {"WordFilter": {"MinConfidence": 80.0}}},
    )
    stubber.add_response(
        "detect_faces", faces_response(faces), {"Image": image, "Attributes": ["ALL"]}
    )
    stubber.add_response(
        "detect_moderation_labels",
        moderation_response(*moderation),
        {"Image": image, "MinConfidence": 50.0},
    )
    if faces == 1:
        stubber.add_response(
            "search_faces_by_image",
            search_response(*matches),
            {
                "CollectionId": collection_id,
                "Image": image,
                "FaceMatchThreshold": 90.0,
                "MaxFaces": 5,
                "QualityFilter": "AUTO",
            },
        )
