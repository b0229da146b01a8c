"""Cheap checks that run before Rekognition is asked anything."""

from __future__ import annotations

import io

import filetype
import imagesize

from medialens.shared.errors import RejectedMediaError

SUPPORTED_MIME_TYPES = frozenset({"image/jpeg", "image/png"})
"""The only image formats Rekognition's image APIs accept."""

VIDEO_MIME_TYPES = frozenset({"video/mp4", "video/quicktime"})
"""Containers Rekognition Video accepts (MP4 and MOV, H.264 inside)."""

SNIFF_BYTES = 8192
"""How many leading bytes the format check reads (the signature depth of ``filetype``)."""

MIN_IMAGE_DIMENSION = 80
"""Rekognition's image operations need at least 80 pixels in both height and width (Set
quotas, https://docs.aws.amazon.com/rekognition/latest/dg/limits.html)."""


def check_size(size: int, *, limit: int) -> None:
    """Reject empty or oversized media.

    Parameters
    ----------
    size : int
        Size in bytes.
    limit : int
        Largest size Rekognition accepts for this input path.

    Raises
    ------
    RejectedMediaError
        ``empty`` or ``too_large``.
    """
    if size <= 0:
        raise RejectedMediaError("empty", "the object has zero bytes")
    if size > limit:
        raise RejectedMediaError(
            "too_large", f"{size} bytes is over Rekognition's limit of {limit} bytes"
        )


def check_image_format(head: bytes) -> str:
    """Identify the image format from its leading bytes.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (at least the signature; :data:`SNIFF_BYTES` is ample).

    Returns
    -------
    str
        The MIME type, one of :data:`SUPPORTED_MIME_TYPES`.

    Raises
    ------
    RejectedMediaError
        ``unsupported_format`` for a known non-JPEG/PNG type (GIF, HEIC, ...),
        ``not_an_image`` when the bytes match no known type.
    """
    kind = filetype.guess(head)
    if kind is None:
        raise RejectedMediaError("not_an_image", "the content matches no known file type")
    if kind.mime not in SUPPORTED_MIME_TYPES:
        raise RejectedMediaError(
            "unsupported_format",
            f"{kind.mime} is not supported; Rekognition accepts JPEG and PNG",
        )
    return str(kind.mime)


def is_video(head: bytes) -> bool:
    """Whether the leading bytes are an MP4 or MOV container (what Rekognition Video reads)."""
    kind = filetype.guess(head)
    return kind is not None and kind.mime in VIDEO_MIME_TYPES


def check_dimensions(head: bytes) -> None:
    """Reject an image whose header shows a side under :data:`MIN_IMAGE_DIMENSION`.

    Parameters
    ----------
    head : bytes
        The leading bytes. A PNG's size is in its first 24; a JPEG's frame header
        usually lies within :data:`SNIFF_BYTES`, and when it does not, the check is left
        to Rekognition (an ``InvalidParameterException``, which the adapter rejects too).

    Raises
    ------
    RejectedMediaError
        ``too_small``, with the dimensions.
    """
    try:
        width, height = imagesize.get(io.BytesIO(head))
    except (ValueError, OSError):
        return
    if width < 0 or height < 0:
        return
    if min(width, height) < MIN_IMAGE_DIMENSION:
        raise RejectedMediaError(
            "too_small",
            f"{width}x{height} pixels; Rekognition needs at least {MIN_IMAGE_DIMENSION} in both "
            "dimensions",
        )
