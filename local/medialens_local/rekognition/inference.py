"""The engines' answers for one local service, optionally remembered by image content.

Rekognition's answers for the same image are deterministic here (the models are), so a
load run, where model time would otherwise set the pace, may keep them: one image's
DetectLabels, DetectFaces and SearchFacesByImage then run the face model once, and a
repeated image costs no model time. Requests still pass every check (quota, validation,
S3 read and decoding); only the model call is skipped. Off unless asked for.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from medialens_local.rekognition.engines.faces import Face, face_engine
from medialens_local.rekognition.engines.labels import Prediction, label_engine
from medialens_local.rekognition.engines.moderation import moderation_engine
from medialens_local.rekognition.engines.text import TextLine, text_engine
from medialens_local.rekognition.images import LoadedImage

T = TypeVar("T")

DEFAULT_CAPACITY = 2048
"""Answers kept (least recently used dropped first); a face list is a few kilobytes."""


def _key(model: str, image: LoadedImage, *arguments: Hashable) -> Hashable | None:
    if image.digest is None:
        return None
    return (model, image.digest, *arguments)


class Inference:
    """Model calls for decoded images, cached by content when ``cache`` is set.

    Parameters
    ----------
    cache : bool
        Remember answers by (model, image digest, arguments).
    capacity : int
        Answers kept at most.
    """

    def __init__(self, *, cache: bool = False, capacity: int = DEFAULT_CAPACITY) -> None:
        self.cache = cache
        self._capacity = capacity
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def faces(self, image: LoadedImage) -> list[Face]:
        """Faces, largest first (see :meth:`FaceEngine.faces`)."""
        return self.remember(_key("faces", image), lambda: face_engine().faces(image.pixels))

    def labels(self, image: LoadedImage, *, min_confidence: float) -> list[Prediction]:
        """Labels at or above ``min_confidence`` (see :meth:`LabelEngine.predict`)."""
        return self.remember(
            _key("labels", image, min_confidence),
            lambda: label_engine().predict(image.pixels, min_confidence=min_confidence),
        )

    def text(self, image: LoadedImage) -> list[TextLine]:
        """Lines and words (see :meth:`TextEngine.read`)."""
        return self.remember(_key("text", image), lambda: text_engine().read(image.pixels))

    def explicit_confidence(self, image: LoadedImage) -> float:
        """0-100 that the image is explicit (see :meth:`ModerationEngine`)."""
        return self.remember(
            _key("explicit", image),
            lambda: moderation_engine().explicit_confidence(image.pixels),
        )

    def remember(self, key: Hashable | None, compute: Callable[[], T]) -> T:
        """Answer ``compute()`` for ``key``, from memory when the cache is on and has it.

        Parameters
        ----------
        key : Hashable or None
            The model, the image's digest and any arguments that change the answer;
            ``None`` when the image has no digest, which is never cached.
        compute : Callable[[], T]
            The model call. A failure is raised to every waiter and not remembered.
        """
        if not self.cache or key is None:
            return compute()
        with self._lock:
            if key in self._answers:
                self._answers.move_to_end(key)
                self.hits += 1
                answer: T = self._answers[key]
                return answer
            pending = self._pending.get(key)
            computing = pending is None
            if pending is None:
                pending = self._pending[key] = Future()
                self.misses += 1
            else:
                self.hits += 1
        if not computing:
            # The same image's other operation is already running this model: wait for it
            # rather than run it twice side by side.
            waited: T = pending.result()
            return waited
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            pending.set_exception(error)
            raise
        with self._lock:
            self._answers[key] = value
            while len(self._answers) > self._capacity:
                self._answers.popitem(last=False)
            del self._pending[key]
        pending.set_result(value)
        return value
