"""Images as Rekognition receives them: an S3 object (read from the local S3) or bytes."""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from medialens_local.rekognition.protocol import RekognitionError, decode_blob

# Set quotas, https://docs.aws.amazon.com/rekognition/latest/dg/limits.html: 15 MB from S3,
# 5 MB as raw bytes, at least 80 pixels in both height and width, and at most 10K pixels
# in both for DetectLabels and DetectModerationLabels.
MAX_S3_BYTES = 15 * 1024 * 1024
MAX_INLINE_BYTES = 5 * 1024 * 1024
MIN_DIMENSION = 80
MAX_LABELS_DIMENSION = 10_000
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG"}
"""MPO is how Pillow names the multi-picture JPEGs many cameras and phones write."""

FACE_FRAME = (1920, 1080)
"""The same page: "a face must be no smaller than 40x40 pixels in an image with 1920X1080
pixels. Images with dimensions higher than 1920X1080 pixels will need a larger minimum face
size proportionally." A larger image is looked at shrunk to just cover this frame."""


def frame_scale(width: int, height: int) -> float:
    """Return the factor (at most 1) that shrinks an image to just cover :data:`FACE_FRAME`.

    The long side stays at least 1920 and the short side at least 1080, so a 4000x3000
    photo is seen at 1920x1440: its smallest face found is 40 pixels there, 83 in the
    photo, Rekognition's 40 scaled by 4000/1920. A panorama or a receipt keeps its
    narrow side's pixels (a 10000x200 banner is not shrunk at all).
    """
    long_side, short_side = max(width, height), min(width, height)
    return min(1.0, max(FACE_FRAME[0] / long_side, FACE_FRAME[1] / short_side))


@dataclass(frozen=True)
class LoadedImage:
    """Decoded RGB pixels, the size Rekognition's ratios refer to, and the content's digest.

    A large JPEG is decoded at a reduced scale (still covering :data:`FACE_FRAME`), so
    ``width`` and ``height`` are the decoded pixels' and ``original_size`` the file's, both
    upright (after the EXIF orientation). A ``digest`` of ``None`` (a video frame, a
    size-only image) is never cached by content.
    """

    pixels: np.ndarray
    width: int
    height: int
    digest: bytes | None = None
    original_size: tuple[int, int] = (0, 0)


ObjectReader = Callable[[str, str, str | None], bytes]
"""Reads (bucket, key, version) from S3; raises KeyError when the object is missing."""


def load_image(
    image: dict[str, Any], read_object: ObjectReader, *, max_dimension: int | None = None
) -> LoadedImage:
    """Decode the ``Image`` parameter of any image operation.

    Parameters
    ----------
    image : dict[str, Any]
        The request's ``Image`` (``Bytes`` or ``S3Object``).
    read_object : ObjectReader
        Reads the S3 object.
    max_dimension : int, optional
        The operation's largest accepted width and height, where it has one.

    Raises
    ------
    RekognitionError
        ``InvalidS3ObjectException``, ``ImageTooLargeException``,
        ``InvalidImageFormatException`` or, below 80 pixels, ``InvalidParameterException``
        with the message Rekognition gives (boto/botocore#1366 quotes it).
    """
    if "Bytes" in image:
        data = decode_blob(image["Bytes"])
        limit = MAX_INLINE_BYTES
    elif "S3Object" in image:
        s3_object = image["S3Object"]
        try:
            data = read_object(s3_object["Bucket"], s3_object["Name"], s3_object.get("Version"))
        except KeyError as error:
            raise RekognitionError(
                "InvalidS3ObjectException", "Unable to get object metadata from S3."
            ) from error
        limit = MAX_S3_BYTES
    else:
        raise RekognitionError("InvalidParameterException", "Image needs Bytes or S3Object")
    if len(data) > limit:
        raise RekognitionError("ImageTooLargeException", f"Image size {len(data)} exceeds {limit}")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.format not in ACCEPTED_FORMATS:
                raise RekognitionError(
                    "InvalidImageFormatException", "Request has invalid image format"
                )
            width, height = opened.size
            if min(width, height) < MIN_DIMENSION:
                raise RekognitionError(
                    "InvalidParameterException", "Request has invalid parameters"
                )
            if max_dimension is not None and max(width, height) > max_dimension:
                raise RekognitionError(
                    "ImageTooLargeException",
                    f"Input image dimensions {width} x {height} exceed maximum dimension "
                    f"size of {max_dimension} pixels",
                )
            scale = frame_scale(width, height)
            if scale < 1.0:
                # JPEG decodes at 1/2, 1/4 or 1/8 for little of the full decode's time;
                # draft keeps the result at least as large as asked.
                opened.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
            # Rekognition applies the EXIF orientation first; so must the local models.
            rgb = ImageOps.exif_transpose(opened).convert("RGB")
            if (rgb.width > rgb.height) != (width > height):
                width, height = height, width
    except Image.DecompressionBombError as error:
        raise RekognitionError("ImageTooLargeException", str(error)) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise RekognitionError(
            "InvalidImageFormatException", "Request has invalid image format"
        ) from error
    pixels = np.asarray(rgb)
    return LoadedImage(
        pixels=pixels,
        width=rgb.width,
        height=rgb.height,
        digest=hashlib.blake2b(data, digest_size=16).digest(),
        original_size=(width, height),
    )


def bounding_box(
    left: float, top: float, right: float, bottom: float, image: LoadedImage
) -> dict[str, float]:
    """Pixel corners to Rekognition's ratios of width and height, clipped to the image."""
    left, right = max(0.0, left), min(float(image.width), right)
    top, bottom = max(0.0, top), min(float(image.height), bottom)
    return {
        "Width": (right - left) / image.width,
        "Height": (bottom - top) / image.height,
        "Left": left / image.width,
        "Top": top / image.height,
    }
