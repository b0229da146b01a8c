"""Cheap checks that run before Rekognition is asked anything."""

from __future__ import annotations

import filetype

from medialens.shared.errors import RejectedMediaError

SUPPORTED_MIME_TYPES = frozenset({"image/jpeg", "image/png"})
"""The only image formats Rekognition's image APIs accept."""

VIDEO_MIME_TYPES = frozenset({"video/mp4", "video/quicktime"})
"""Containers Rekognition Video accepts (MP4 and MOV, H.264 inside)."""

SNIFF_BYTES = 8192
"""How many leading bytes the format check reads (the signature depth of ``filetype``)."""


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
