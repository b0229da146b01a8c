"""Images as Rekognition receives them: an S3 object (read from the local S3) or bytes."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from medialens_local.rekognition.protocol import RekognitionError, decode_blob

MAX_S3_BYTES = 15 * 1024 * 1024
MAX_INLINE_BYTES = 5 * 1024 * 1024
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG"}
"""MPO is how Pillow names the multi-picture JPEGs many cameras and phones write."""


@dataclass(frozen=True)
class LoadedImage:
    """Decoded RGB pixels and the size Rekognition's ratios refer to."""

    pixels: np.ndarray
    width: int
    height: int


ObjectReader = Callable[[str, str, str | None], bytes]
"""Reads (bucket, key, version) from S3; raises KeyError when the object is missing."""


def load_image(image: dict[str, Any], read_object: ObjectReader) -> LoadedImage:
    """Decode the ``Image`` parameter of any image operation.

    Raises
    ------
    RekognitionError
        ``InvalidS3ObjectException``, ``ImageTooLargeException`` or
        ``InvalidImageFormatException``, as Rekognition answers them.
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
            # Rekognition applies the EXIF orientation first; so must the local models.
            rgb = ImageOps.exif_transpose(opened).convert("RGB")
    except Image.DecompressionBombError as error:
        raise RekognitionError("ImageTooLargeException", str(error)) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise RekognitionError(
            "InvalidImageFormatException", "Request has invalid image format"
        ) from error
    pixels = np.asarray(rgb)
    return LoadedImage(pixels=pixels, width=rgb.width, height=rgb.height)


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
