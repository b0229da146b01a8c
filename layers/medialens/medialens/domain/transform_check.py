"""Checks a Batch Transform's output against its input, line by line, streaming.

With ``SplitType: Line``, ``AssembleWith: Line`` and ``JoinSource: Input``, each output
line is its input record plus ``SageMakerOutput``. Every input line must have exactly
one output line, in the same order; a line that does not carry its input back, or a
count that differs, is a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any

MAX_REPORTED = 10
"""Mismatching line numbers kept in a report (the count covers them all)."""


@dataclass(frozen=True, slots=True)
class TransformCheck:
    """One input object's check.

    Attributes
    ----------
    key : str
        The input object.
    inputs, outputs : int
        Records read on each side.
    mismatches : int
        Output lines that do not carry their own input line back, or are missing.
    first_mismatches : tuple[int, ...]
        The first mismatching line numbers (1-based).
    failures : int
        Output records whose prediction is an error object (``{"error": ...}``).
    """

    key: str
    inputs: int
    outputs: int
    mismatches: int
    first_mismatches: tuple[int, ...] = field(default_factory=tuple)
    failures: int = 0

    @property
    def ok(self) -> bool:
        """Whether every input line has its output line, in order."""
        return self.inputs == self.outputs and self.mismatches == 0


def _input_of(output: dict[str, Any]) -> Any:
    if "SageMakerInput" in output:
        return output["SageMakerInput"]
    return {name: value for name, value in output.items() if name != "SageMakerOutput"}


def check_joined(key: str, inputs: Iterable[str], outputs: Iterable[str]) -> TransformCheck:
    """Compare an input object's lines with its ``.out`` lines.

    Parameters
    ----------
    key : str
        Name of the input object, for the report.
    inputs, outputs : Iterable[str]
        Their lines; blank lines are not records.

    Returns
    -------
    TransformCheck
    """
    counted = {"inputs": 0, "outputs": 0, "mismatches": 0, "failures": 0}
    first: list[int] = []
    records = (line for line in inputs if line.strip())
    answers = (line for line in outputs if line.strip())
    for number, (source, answer) in enumerate(zip_longest(records, answers), start=1):
        counted["inputs"] += source is not None
        counted["outputs"] += answer is not None
        matches = False
        if source is not None and answer is not None:
            try:
                joined = json.loads(answer)
                matches = isinstance(joined, dict) and _input_of(joined) == json.loads(source)
                prediction = joined.get("SageMakerOutput") if isinstance(joined, dict) else None
                counted["failures"] += isinstance(prediction, dict) and "error" in prediction
            except json.JSONDecodeError:
                matches = False
        if not matches:
            counted["mismatches"] += 1
            if len(first) < MAX_REPORTED:
                first.append(number)
    return TransformCheck(key=key, first_mismatches=tuple(first), **counted)
