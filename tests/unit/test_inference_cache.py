"""The local Rekognition's inference cache: by content, once per image, never an error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from medialens_local.rekognition.inference import Inference


class Counting:
    """A stand-in model call that counts how often it really ran."""

    def __init__(self, answer: object = "answer", *, gate: threading.Event | None = None) -> None:
        self.answer = answer
        self.runs = 0
        self._gate = gate
        self._lock = threading.Lock()

    def __call__(self) -> object:
        with self._lock:
            self.runs += 1
        if self._gate is not None:
            assert self._gate.wait(5)
        return self.answer


def test_without_the_cache_every_call_runs_the_model() -> None:
    inference = Inference(cache=False)
    model = Counting()

    for _ in range(3):
        inference.remember(("faces", b"same"), model)

    assert model.runs == 3
    assert (inference.hits, inference.misses) == (0, 0)


def test_the_same_content_runs_the_model_once_and_other_content_again() -> None:
    inference = Inference(cache=True)
    model = Counting()

    answers = [inference.remember(("faces", digest), model) for digest in (b"a", b"a", b"b")]

    assert answers == ["answer"] * 3
    assert model.runs == 2
    assert (inference.hits, inference.misses) == (1, 2)


def test_concurrent_asks_for_one_image_wait_for_the_one_run() -> None:
    inference = Inference(cache=True)
    gate = threading.Event()
    model = Counting(gate=gate)

    with ThreadPoolExecutor(4) as pool:
        asked = [pool.submit(inference.remember, ("faces", b"a"), model) for _ in range(4)]
        gate.set()
        answers = [future.result(5) for future in asked]

    assert answers == ["answer"] * 4
    assert model.runs == 1


def test_a_failing_model_call_is_not_remembered() -> None:
    inference = Inference(cache=True)
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model crashed")
        return "answer"

    with pytest.raises(RuntimeError, match="model crashed"):
        inference.remember(("text", b"a"), flaky)

    assert inference.remember(("text", b"a"), flaky) == "answer"
    assert calls == 2


def test_the_least_recently_used_answer_is_dropped_at_capacity() -> None:
    inference = Inference(cache=True, capacity=2)
    model = Counting()

    for digest in (b"a", b"b", b"a", b"c", b"a", b"b"):
        inference.remember(("faces", digest), model)

    # a, b, c ran; a was kept by use; b had been dropped when c came, so it runs again.
    assert model.runs == 4


def test_an_image_without_a_digest_is_never_remembered() -> None:
    inference = Inference(cache=True)
    model = Counting()

    for _ in range(2):
        inference.remember(None, model)

    assert model.runs == 2
