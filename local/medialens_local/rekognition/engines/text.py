"""Text with RapidOCR: PP-OCR detection and recognition models shipped in its wheel."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

MODEL_VERSION = "local-rapidocr-3.10"


@dataclass(frozen=True)
class TextPiece:
    """A line or a word: its text, confidence (0-1) and four corner points in pixels."""

    text: str
    score: float
    corners: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TextLine:
    """A line and its words."""

    line: TextPiece
    words: tuple[TextPiece, ...]


class TextEngine:
    """RapidOCR with a bounded detection size (the default upscales small images 4-5x)."""

    def __init__(self) -> None:
        from rapidocr import RapidOCR

        from medialens_local.rekognition.engines.onnx_threads import sessions_sleep_between_runs

        sessions_sleep_between_runs()
        self._ocr = RapidOCR(
            params={
                "Global.log_level": "error",
                "Det.limit_type": "max",
                "Det.limit_side_len": 960,
            }
        )
        self._lock = threading.Lock()

    def read(self, pixels: np.ndarray) -> list[TextLine]:
        """Lines of text, each with its words, in reading order."""
        with self._lock:
            result: Any = self._ocr(pixels[..., ::-1].copy(), return_word_box=True)
        texts = result.txts or ()
        scores = result.scores or ()
        boxes = result.boxes if result.boxes is not None else ()
        word_results = result.word_results or ()
        lines = []
        for index, (text, score, box) in enumerate(zip(texts, scores, boxes, strict=False)):
            words: tuple[TextPiece, ...] = ()
            if index < len(word_results):
                words = tuple(
                    TextPiece(str(word), float(word_score), _corners(word_box))
                    for word, word_score, word_box in word_results[index]
                    if str(word).strip()
                )
            lines.append(TextLine(TextPiece(str(text), float(score), _corners(box)), words))
        return lines


def _corners(box: object) -> tuple[tuple[float, float], ...]:
    array = np.asarray(box, dtype=np.float32).reshape(-1, 2)
    return tuple((float(x), float(y)) for x, y in array)


@cache
def text_engine() -> TextEngine:
    """Return the shared engine (its three ONNX models load in about a second)."""
    return TextEngine()
