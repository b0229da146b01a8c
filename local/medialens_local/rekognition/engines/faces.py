"""Faces with dlib: HOG detection, 5-point landmarks, ResNet 128-d embeddings.

Weights come from the ``face_recognition_models`` package (CC0). Its module imports
``pkg_resources``, which current setuptools no longer ships, so the model folder is
found without importing it.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from medialens_local.rekognition.images import frame_scale

MIN_DETECTION_SCORE = 0.5
"""HOG scores: real faces score about 1, the astronaut's mission patch 0.12."""

MODEL_VERSION = "local-dlib-20.0-resnet-v1"


@dataclass(frozen=True)
class Face:
    """A detected face in pixel coordinates, with landmarks and its embedding."""

    left: float
    top: float
    right: float
    bottom: float
    score: float
    landmarks: dict[str, tuple[float, float]]
    embedding: np.ndarray

    @property
    def area(self) -> float:
        """Box area in pixels."""
        return (self.right - self.left) * (self.bottom - self.top)

    @property
    def confidence(self) -> float:
        """HOG score mapped onto 0-100 (saturating): 0.5 -> 63, 1.16 -> 90."""
        return round(100.0 * (1.0 - math.exp(-2.0 * self.score)), 3)


def _models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed: run `make venv`")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceEngine:
    """dlib's detector, landmark predictor and recogniser behind one lock."""

    def __init__(self) -> None:
        import dlib

        models = _models_dir()
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._recogniser = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )
        self._lock = threading.Lock()

    def faces(self, pixels: np.ndarray) -> list[Face]:
        """Every face scoring at least :data:`MIN_DETECTION_SCORE`, largest first.

        Detection looks at the image shrunk to just cover Rekognition's 1920x1080 face
        frame (:func:`frame_scale`; with dlib's upsampling once, faces from about 40
        pixels there, as Rekognition's guideline says); landmarks and embeddings come
        from the pixels given.
        """
        import dlib

        height, width = pixels.shape[:2]
        scale = frame_scale(width, height)
        searched = pixels
        if scale < 1.0:
            size = (round(width * scale), round(height * scale))
            searched = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
        with self._lock:
            rects, scores, _ = self._detector.run(searched, 1, 0.0)
            found = []
            for detected, score in zip(rects, scores, strict=True):
                if score < MIN_DETECTION_SCORE:
                    continue
                rect = detected
                if scale < 1.0:
                    rect = dlib.rectangle(
                        round(detected.left() / scale),
                        round(detected.top() / scale),
                        round(detected.right() / scale),
                        round(detected.bottom() / scale),
                    )
                shape = self._shape(pixels, rect)
                points = [(float(p.x), float(p.y)) for p in shape.parts()]
                embedding = np.array(self._recogniser.compute_face_descriptor(pixels, shape))
                found.append(
                    Face(
                        left=float(rect.left()),
                        top=float(rect.top()),
                        right=float(rect.right()),
                        bottom=float(rect.bottom()),
                        score=float(score),
                        landmarks=_landmarks(points),
                        embedding=embedding,
                    )
                )
        return sorted(found, key=lambda face: -face.area)


def _landmarks(points: list[tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Dlib's 5 points (two corners per eye, nose base) as Rekognition landmark types.

    Rekognition names eyes from the viewer's side (its documented examples have
    ``eyeLeft.X < eyeRight.X``); the eyes are told apart by position rather than by
    dlib's point order.
    """
    first = ((points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
    second = ((points[2][0] + points[3][0]) / 2, (points[2][1] + points[3][1]) / 2)
    image_left, image_right = sorted((first, second))
    return {"eyeLeft": image_left, "eyeRight": image_right, "nose": points[4]}


@cache
def face_engine() -> FaceEngine:
    """Return the shared engine (loading the models takes about half a second)."""
    return FaceEngine()


def describe(face: Face, width: int, height: int) -> dict[str, Any]:
    """Describe a face with what the local models know: box, confidence, landmarks.

    Age, emotions, smile, glasses and the other attributes have no local model and are
    left out rather than guessed.
    """
    from medialens_local.rekognition.images import LoadedImage, bounding_box

    image = LoadedImage(pixels=np.empty((0, 0, 3)), width=width, height=height)
    return {
        "BoundingBox": bounding_box(face.left, face.top, face.right, face.bottom, image),
        "Confidence": face.confidence,
        "Landmarks": [
            {"Type": kind, "X": x / width, "Y": y / height}
            for kind, (x, y) in face.landmarks.items()
        ],
    }
