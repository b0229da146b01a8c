"""One image's Rekognition calls: independent ones in flight together, a failure stops the rest."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from medialens.images.analyze import run_analysis
from medialens.images.models import Feature
from medialens.images.settings import ImageAnalysisSettings
from medialens.shared.errors import RejectedMediaError
from medialens.shared.media import S3ImageRef

from bench.memory_ports import MemoryRecognizer

IMAGE = S3ImageRef(bucket="media", key="uploads/a.jpg")
INDEPENDENT = ("detect_labels", "detect_text", "detect_faces", "detect_moderation_labels")


def settings(concurrency: int) -> ImageAnalysisSettings:
    return ImageAnalysisSettings(
        catalog_table="catalog",
        idempotency_table="idempotency",
        results_bucket="media",
        alerts_topic_arn="arn:aws:sns:eu-west-1:123456789012:alerts",
        face_collection_id="faces",
        call_concurrency=concurrency,
    )


class RendezvousRecognizer(MemoryRecognizer):
    """Each independent call waits until all four are in flight at once (or times out)."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(len(INDEPENDENT), timeout=10)
        self.calls: list[str] = []

    def __getattribute__(self, name: str) -> Any:
        method = super().__getattribute__(name)
        if name not in (*INDEPENDENT, "search_faces_by_image"):
            return method
        calls = super().__getattribute__("calls")
        barrier = super().__getattribute__("barrier")

        def call(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            if name in INDEPENDENT:
                barrier.wait()
            return method(*args, **kwargs)

        return call


def test_independent_calls_are_in_flight_together_and_face_search_follows_faces() -> None:
    recognizer = RendezvousRecognizer()

    analysis = run_analysis(
        IMAGE,
        media_id=IMAGE.key,
        reference_faces=None,
        recognizer=recognizer,
        settings=settings(4),
        analysed_at="2026-12-04T00:00:00Z",
    )

    assert sorted(recognizer.calls[:4]) == sorted(INDEPENDENT)
    assert recognizer.calls[4:] == ["search_faces_by_image"]
    assert analysis.features_run == (
        Feature.LABELS,
        Feature.TEXT,
        Feature.FACES,
        Feature.MODERATION,
        Feature.FACE_SEARCH,
    )
    assert analysis.persons == ("alice",)


def test_concurrent_and_in_order_runs_give_the_same_analysis() -> None:
    def analyse(concurrency: int) -> dict[str, Any]:
        return run_analysis(
            IMAGE,
            media_id=IMAGE.key,
            reference_faces=None,
            recognizer=MemoryRecognizer(),
            settings=settings(concurrency),
            analysed_at="2026-12-04T00:00:00Z",
        ).to_dict()

    assert analyse(4) == analyse(1)


class RefusingRecognizer(MemoryRecognizer):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def detect_labels(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("detect_labels")
        raise RejectedMediaError("invalid_image_format", "Request has invalid image format")

    def detect_text(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append("detect_text")
        return super().detect_text(*args, **kwargs)


def test_a_refused_image_sends_no_further_call_when_calls_run_in_order() -> None:
    recognizer = RefusingRecognizer()

    with pytest.raises(RejectedMediaError):
        run_analysis(
            IMAGE,
            media_id=IMAGE.key,
            reference_faces=None,
            recognizer=recognizer,
            settings=settings(1),
            analysed_at="2026-12-04T00:00:00Z",
        )

    assert recognizer.calls == ["detect_labels"]
