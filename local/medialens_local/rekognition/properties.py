"""DetectLabels' IMAGE_PROPERTIES, computed from the pixels.

Rekognition does not document its formulas; these are the textbook measures, scaled to
its 0-100 range: brightness is mean luma, contrast the luma's standard deviation
relative to its maximum, sharpness the variance of a Laplacian (saturating), and the
dominant colours a count of pixels per colour name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Rekognition's simplified colour names, with representative sRGB values.
SIMPLIFIED_COLORS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "red": (200, 30, 30),
    "orange": (240, 140, 20),
    "yellow": (240, 220, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 200),
    "purple": (130, 50, 160),
    "pink": (240, 150, 190),
    "brown": (120, 75, 40),
}
_PALETTE = np.array(list(SIMPLIFIED_COLORS.values()), dtype=np.float32)
_NAMES = list(SIMPLIFIED_COLORS)
SHARPNESS_SATURATION = 1000.0


def _luma(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels.astype(np.float32)
    luma: np.ndarray = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    return luma


def image_properties(pixels: np.ndarray, max_colors: int = 10) -> dict[str, Any]:
    """Quality and dominant colours in Rekognition's ``ImageProperties`` shape."""
    luma = _luma(pixels)
    laplacian = (
        -4 * luma[1:-1, 1:-1] + luma[:-2, 1:-1] + luma[2:, 1:-1] + luma[1:-1, :-2] + luma[1:-1, 2:]
    )
    sharpness = min(100.0, float(laplacian.var()) / SHARPNESS_SATURATION * 100.0)
    step = max(1, int(np.sqrt(pixels.shape[0] * pixels.shape[1] / 40_000)))
    sample = pixels[::step, ::step].reshape(-1, 3).astype(np.float32)
    # Squared distance to each palette colour, expanded so it is one matrix product.
    distances = (_PALETTE**2).sum(axis=1)[None, :] - 2.0 * sample @ _PALETTE.T
    nearest = distances.argmin(axis=1)
    counts = np.bincount(nearest, minlength=len(_NAMES))
    sums = np.stack(
        [np.bincount(nearest, weights=sample[:, c], minlength=len(_NAMES)) for c in range(3)],
        axis=1,
    )
    colors = []
    for index in counts.argsort()[::-1][:max_colors]:
        if counts[index] == 0:
            break
        red, green, blue = (round(float(c)) for c in sums[index] / counts[index])
        colors.append(
            {
                "Red": red,
                "Green": green,
                "Blue": blue,
                "HexCode": f"#{red:02x}{green:02x}{blue:02x}",
                "SimplifiedColor": _NAMES[index],
                "PixelPercent": float(counts[index] / len(sample) * 100.0),
            }
        )
    return {
        "Quality": {
            "Brightness": float(luma.mean() / 255.0 * 100.0),
            "Sharpness": sharpness,
            "Contrast": float(min(100.0, luma.std() / 127.5 * 100.0)),
        },
        "DominantColors": colors,
    }
