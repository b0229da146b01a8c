from __future__ import annotations

import pytest
from medialens.images.image_format import check_image_format, check_size
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
