"""The local Rekognition's ONNX Runtime sessions leave the cores alone between runs."""

from __future__ import annotations

import gc

import numpy as np
import onnxruntime
from medialens_local.rekognition.engines.labels import label_engine
from medialens_local.rekognition.engines.moderation import moderation_engine
from medialens_local.rekognition.engines.onnx_threads import NO_SPINNING
from medialens_local.rekognition.engines.text import text_engine
from medialens_local.stack import SAMPLES
from PIL import Image


def test_every_session_the_engines_build_sleeps_between_runs() -> None:
    # RapidOCR builds its sessions on first use, so the engines run before the check.
    document = next((SAMPLES / "uploads" / "docs").glob("*.png"))
    pixels = np.asarray(Image.open(document).convert("RGB"))
    assert text_engine().read(pixels)
    label_engine().probabilities(pixels)
    moderation_engine().explicit_confidence(pixels)
    sessions = [o for o in gc.get_objects() if isinstance(o, onnxruntime.InferenceSession)]
    assert len(sessions) >= 4  # labels, moderation, and RapidOCR's detector and recogniser
    for session in sessions:
        options = session.get_session_options()
        for key, value in NO_SPINNING.items():
            assert options.get_session_config_entry(key) == value
