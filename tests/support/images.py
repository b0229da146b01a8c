"""Real, tiny image files built in memory (no binary fixtures in the repo)."""

from __future__ import annotations

import struct
import zlib


def png_bytes(width: int = 80, height: int = 80) -> bytes:
    """Return a valid RGB PNG with a colour gradient (80 pixels, Rekognition's least)."""
    rows = b"".join(
        b"\x00" + bytes(value for x in range(width) for value in (x * 31 % 256, y * 31 % 256, 128))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """Return the leading segments of a baseline JFIF JPEG (enough for format checks)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xdb" + bytes(200) + b"\xff\xd9"


def gif_bytes() -> bytes:
    """Return a 1x1 GIF89a."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
        b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def heic_bytes() -> bytes:
    """Return the ISO-BMFF ``ftyp`` box with which every HEIC file starts."""
    brands = b"heic" + b"\x00\x00\x00\x00" + b"mif1heic"
    box = b"ftyp" + brands
    return struct.pack(">I", len(box) + 4) + box + bytes(64)


def mp4_bytes() -> bytes:
    """Return the ``ftyp`` box with which an MP4 (ISO base media) file starts."""
    brands = b"isom" + b"\x00\x00\x02\x00" + b"isomiso2avc1mp41"
    box = b"ftyp" + brands
    return struct.pack(">I", len(box) + 4) + box + bytes(64)
