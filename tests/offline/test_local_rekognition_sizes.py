"""Image sizes: refused where Rekognition refuses them, large photos seen as Rekognition sees them.

The rules come from Rekognition's quotas page
(https://docs.aws.amazon.com/rekognition/latest/dg/limits.html): at least 80 pixels in both
dimensions, at most 10K in both for DetectLabels and DetectModerationLabels, and faces of
40x40 in a 1920x1080 image (proportionally larger in larger images).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from medialens_local.rekognition.images import (
    FACE_FRAME,
    MAX_LABELS_DIMENSION,
    MIN_DIMENSION,
    LoadedImage,
    frame_scale,
    load_image,
)
from medialens_local.template import ROOT
from PIL import Image

from tests.support.service_model import served_rekognition

REFERENCE = ROOT / "samples" / "faces" / "eileen-collins" / "reference.jpg"
PASTED, PASTED_AT = 512, (2600, 700)
"""The reference as it is: its face, 90 pixels, just above the minimum in both scenes."""
SCENES = {"small-face-4k.jpg": (3840, 2160), "small-face-4x3.jpg": (4000, 3000)}
"""Rekognition's minimum face is 40 pixels of 1920x1080, so about 80 in both scenes."""


def encoded(image: Image.Image, form: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, form, quality=90)
    return buffer.getvalue()


def plain(width: int, height: int, form: str = "PNG") -> bytes:
    return encoded(Image.new("RGB", (width, height), (120, 130, 140)), form)


@pytest.fixture(scope="module")
def objects() -> dict[str, bytes]:
    reference = Image.open(REFERENCE).convert("RGB")
    # The same portrait as a phone would take it, and the same face small in large scenes.
    objects = {
        "reference.jpg": REFERENCE.read_bytes(),
        "reference-4000.jpg": encoded(reference.resize((4000, 4000), Image.Resampling.BICUBIC)),
    }
    for key, size in SCENES.items():
        scene = Image.new("RGB", size, (90, 110, 95))
        scene.paste(reference.resize((PASTED, PASTED)), PASTED_AT)
        objects[key] = encoded(scene)
    # A phone held upright: 4000x3000 pixels stored, EXIF orientation 6 (rotate 90).
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.new("RGB", (4000, 3000), (10, 20, 30)).save(buffer, "JPEG", exif=exif)
    objects["upright.jpg"] = buffer.getvalue()
    objects["banner.jpg"] = plain(9000, 200, "JPEG")
    return objects


@pytest.fixture(scope="module")
def rekognition(objects: dict[str, bytes]) -> Iterator[Any]:
    with served_rekognition(objects) as client:
        yield client


def error_of(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


@pytest.mark.parametrize(
    "size", [(MIN_DIMENSION - 1, 400), (400, MIN_DIMENSION - 1), (50, 50)], ids=str
)
def test_an_image_under_80_pixels_either_way_is_an_invalid_parameter(
    rekognition: Any, size: tuple[int, int]
) -> None:
    image = {"Bytes": plain(*size)}

    for operation in (rekognition.detect_labels, rekognition.detect_text):
        code, message = error_of(lambda op=operation: op(Image=image))
        assert (code, message) == ("InvalidParameterException", "Request has invalid parameters")


def test_an_image_of_exactly_80_pixels_is_analysed(rekognition: Any) -> None:
    response = rekognition.detect_labels(Image={"Bytes": plain(MIN_DIMENSION, MIN_DIMENSION)})

    assert "Labels" in response


def test_labels_refuse_more_than_10k_pixels_where_text_does_not(rekognition: Any) -> None:
    image = {"Bytes": plain(MAX_LABELS_DIMENSION + 1, 100)}

    code, message = error_of(lambda: rekognition.detect_labels(Image=image))
    moderation_code, _ = error_of(lambda: rekognition.detect_moderation_labels(Image=image))

    assert (code, moderation_code) == ("ImageTooLargeException", "ImageTooLargeException")
    assert f"{MAX_LABELS_DIMENSION + 1} x 100" in message
    assert "TextDetections" in rekognition.detect_text(Image=image)
    assert rekognition.detect_labels(Image={"Bytes": plain(MAX_LABELS_DIMENSION, 100)})


def test_a_phone_sized_photo_finds_the_face_where_the_small_one_does(rekognition: Any) -> None:
    def box(key: str) -> dict[str, float]:
        [face] = rekognition.detect_faces(Image={"S3Object": {"Bucket": "media", "Name": key}})[
            "FaceDetails"
        ]
        return face["BoundingBox"]  # type: ignore[no-any-return]

    small, large = box("reference.jpg"), box("reference-4000.jpg")

    # Ratios of the image: the same face, whatever the pixels it was decoded at.
    for side in ("Left", "Top", "Width", "Height"):
        assert large[side] == pytest.approx(small[side], abs=0.03)


@pytest.mark.parametrize(
    ("size", "seen"),
    [
        ((3840, 2160), (1920, 1080)),
        ((4000, 3000), (1920, 1440)),
        ((3000, 4000), (1440, 1920)),
        ((9000, 200), (9000, 200)),
        ((1024, 768), (1024, 768)),
    ],
)
def test_the_face_frame_is_covered_by_the_long_side_and_the_short_side(
    size: tuple[int, int], seen: tuple[int, int]
) -> None:
    scale = frame_scale(*size)

    assert (round(size[0] * scale), round(size[1] * scale)) == seen


def decoded(objects: dict[str, bytes], key: str) -> LoadedImage:
    return load_image(
        {"S3Object": {"Bucket": "media", "Name": key}}, lambda bucket, key, version: objects[key]
    )


@pytest.mark.parametrize(
    ("key", "stored", "seen"),
    [
        ("reference-4000.jpg", (4000, 4000), (FACE_FRAME[0], FACE_FRAME[0])),
        ("small-face-4x3.jpg", (4000, 3000), (FACE_FRAME[0], FACE_FRAME[1])),
        ("upright.jpg", (3000, 4000), (FACE_FRAME[1], FACE_FRAME[0])),
        ("banner.jpg", (9000, 200), (9000, 200)),
    ],
)
def test_a_large_jpeg_is_decoded_no_smaller_than_the_face_frame(
    objects: dict[str, bytes], key: str, stored: tuple[int, int], seen: tuple[int, int]
) -> None:
    image = decoded(objects, key)

    # Upright sizes; the decode is at least the frame on each side, and under twice it.
    assert image.original_size == stored
    assert image.pixels.shape[:2] == (image.height, image.width)
    assert seen[0] <= image.width < max(2 * seen[0], stored[0] + 1)
    assert seen[1] <= image.height < max(2 * seen[1], stored[1] + 1)


@pytest.mark.parametrize("key", sorted(SCENES))
def test_a_face_above_the_proportional_minimum_is_found_in_a_large_scene(
    rekognition: Any, key: str
) -> None:
    # HOG boxes come in pyramid steps, so the size holds to a quarter, the place to 1%.
    width, _ = SCENES[key]
    [face] = rekognition.detect_faces(Image={"S3Object": {"Bucket": "media", "Name": key}})[
        "FaceDetails"
    ]
    [in_reference] = rekognition.detect_faces(
        Image={"S3Object": {"Bucket": "media", "Name": "reference.jpg"}}
    )["FaceDetails"]

    expected_width = in_reference["BoundingBox"]["Width"] * PASTED / width
    expected_left = (PASTED_AT[0] + in_reference["BoundingBox"]["Left"] * PASTED) / width
    assert face["BoundingBox"]["Width"] == pytest.approx(expected_width, rel=0.25)
    assert face["BoundingBox"]["Left"] == pytest.approx(expected_left, abs=0.01)
