from __future__ import annotations

import io

import pytest
from medialens.images.image_format import (
    SNIFF_BYTES,
    check_dimensions,
    check_image_format,
    check_size,
)
from medialens.images.settings import MAX_INLINE_IMAGE_BYTES, MAX_S3_IMAGE_BYTES
from medialens.shared.errors import RejectedMediaError

from tests.support.images import gif_bytes, heic_bytes, jpeg_bytes, png_bytes


@pytest.mark.parametrize(
    ("data", "mime"), [(png_bytes(), "image/png"), (jpeg_bytes(), "image/jpeg")]
)
def test_jpeg_and_png_pass(data: bytes, mime: str) -> None:
    assert check_image_format(data) == mime


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (gif_bytes(), "unsupported_format"),
        (heic_bytes(), "unsupported_format"),
        (b"%PDF-1.7\n" + bytes(100), "unsupported_format"),
        (b"plain text, no image here", "not_an_image"),
        (b"", "not_an_image"),
    ],
)
def test_other_content_is_rejected_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(RejectedMediaError) as raised:
        check_image_format(data)

    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("size", "limit", "reason"),
    [
        (0, MAX_S3_IMAGE_BYTES, "empty"),
        (MAX_S3_IMAGE_BYTES + 1, MAX_S3_IMAGE_BYTES, "too_large"),
        (MAX_INLINE_IMAGE_BYTES + 1, MAX_INLINE_IMAGE_BYTES, "too_large"),
    ],
)
def test_size_limits(size: int, limit: int, reason: str) -> None:
    with pytest.raises(RejectedMediaError) as raised:
        check_size(size, limit=limit)

    assert raised.value.reason == reason


def test_sizes_at_the_limit_pass() -> None:
    check_size(MAX_S3_IMAGE_BYTES, limit=MAX_S3_IMAGE_BYTES)
    check_size(1, limit=MAX_INLINE_IMAGE_BYTES)


def jpeg_of(width: int, height: int, *, exif_padding: int = 0) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    extra = {"exif": b"Exif\x00\x00" + bytes(exif_padding)} if exif_padding else {}
    Image.new("RGB", (width, height), (90, 100, 110)).save(buffer, "JPEG", **extra)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [png_bytes(79, 200), png_bytes(200, 79), jpeg_of(50, 50), jpeg_of(4000, 60)],
    ids=["png-79-wide", "png-79-high", "jpeg-50", "jpeg-banner-60"],
)
def test_an_image_under_80_pixels_is_rejected_from_its_header(data: bytes) -> None:
    with pytest.raises(RejectedMediaError) as raised:
        check_dimensions(data[:SNIFF_BYTES])

    assert raised.value.reason == "too_small"
    assert "at least 80" in raised.value.detail


@pytest.mark.parametrize(
    "data",
    [png_bytes(80, 80), jpeg_of(80, 4000), jpeg_bytes(), b"not an image", b""],
    ids=["png-80", "jpeg-80", "jpeg-without-frame", "text", "empty"],
)
def test_an_image_of_80_pixels_or_of_unknown_size_passes(data: bytes) -> None:
    check_dimensions(data[:SNIFF_BYTES])


def test_a_frame_header_beyond_the_sniffed_bytes_is_left_to_rekognition() -> None:
    # A camera's EXIF block (thumbnail included) can push the frame header past 8 KB.
    small = jpeg_of(50, 50, exif_padding=2 * SNIFF_BYTES)

    check_dimensions(small[:SNIFF_BYTES])
    with pytest.raises(RejectedMediaError):
        check_dimensions(small)
