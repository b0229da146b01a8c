"""Checks a Batch Transform's output against its input, line by line, streaming.

With ``SplitType: Line``, ``AssembleWith: Line`` and ``JoinSource: Input``, each output
line is its input record plus ``SageMakerOutput``. Every input line must have exactly
one output line, in the same order; a line that does not carry its input back, or a
count that differs, is a mismatch.

Asked to, the same pass also combines the outputs: every ``.out`` line of every input
object, in the input objects' key order, goes to one JSON Lines object through a
:class:`LineSink`. That object appears only when the whole check is ok; otherwise the
sink is aborted and nothing is written, so a half-right file never looks like a result.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, Protocol
from urllib.parse import urlsplit

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


class ObjectLines(Protocol):
    """Objects under a prefix, read as lines."""

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        """Every key under ``prefix``."""
        ...

    def lines(self, bucket: str, key: str) -> Iterator[str] | None:
        """Stream the object's lines; ``None`` when it does not exist."""
        ...


class LineSink(Protocol):
    """One object written line by line, that appears only once committed."""

    def write(self, line: str) -> None:
        """Append one line (given without its line break)."""
        ...

    def commit(self) -> None:
        """Make the object appear, holding every line written."""
        ...

    def abort(self) -> None:
        """Drop whatever was written: nothing appears. Safe to call more than once."""
        ...


OpenSink = Callable[[str, str], LineSink]
"""Opens a :class:`LineSink` on ``(bucket, key)``."""


@dataclass(frozen=True, slots=True)
class TransformSummary:
    """What a whole Batch Transform produced, checked object by object.

    Attributes
    ----------
    checks : tuple[TransformCheck, ...]
        One per input object that has its ``.out``.
    missing_outputs : tuple[str, ...]
        Input objects without a ``.out``.
    combined : str or None
        The combined object's ``s3://`` URI, when one was asked for and written.
    combined_lines : int
        Lines in the combined object (0 when none was written).
    """

    checks: tuple[TransformCheck, ...]
    missing_outputs: tuple[str, ...] = ()
    combined: str | None = None
    combined_lines: int = 0

    @property
    def ok(self) -> bool:
        """Whether every input object has a complete, ordered ``.out``."""
        return bool(self.checks) and not self.missing_outputs and all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Summarise for the workflow's notification (counts and the first problems)."""
        problems = [
            {"key": c.key, "inputs": c.inputs, "outputs": c.outputs, "lines": c.first_mismatches}
            for c in self.checks
            if not c.ok
        ][:MAX_REPORTED]
        return {
            "ok": self.ok,
            "files": len(self.checks),
            "records": sum(c.inputs for c in self.checks),
            "outputs": sum(c.outputs for c in self.checks),
            "mismatches": sum(c.mismatches for c in self.checks),
            "failed_predictions": sum(c.failures for c in self.checks),
            "missing_outputs": list(self.missing_outputs[:MAX_REPORTED]),
            "problems": problems,
            "combined": self.combined,
            "combined_lines": self.combined_lines,
        }


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` as (bucket, prefix).

    Raises
    ------
    ValueError
        For anything that is not an ``s3://`` URI with a bucket.
    """
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return parts.netloc, parts.path.lstrip("/")


def verify_transform(
    input_uri: str,
    output_uri: str,
    store: ObjectLines,
    *,
    combine_uri: str | None = None,
    open_sink: OpenSink | None = None,
) -> TransformSummary:
    """Check every input object under ``input_uri`` against its ``.out`` under ``output_uri``.

    Batch Transform writes ``<output path>/<key relative to the input prefix>.out``.

    With ``combine_uri``, every non-blank ``.out`` line is also written, as it is read, to
    one object: the outputs concatenated in the input objects' key order, each in its own
    line order. Nothing is read twice or held beyond the sink's buffer. The object is
    committed only when the summary is ok; the sink is aborted as soon as an object
    fails its check (or has no ``.out``) and on any error, so nothing appears then. A
    transform with no input objects is not ok (nothing was checked), so it combines to
    nothing; input objects that all hold no records combine to an empty object.

    Parameters
    ----------
    input_uri, output_uri : str
        The job's ``S3Uri`` (an S3Prefix) and ``S3OutputPath``.
    store : ObjectLines
    combine_uri : str, optional
        ``s3://bucket/key`` of the combined object (an object, not a folder).
    open_sink : OpenSink, optional
        Opens the combined object's sink; required with ``combine_uri``.

    Returns
    -------
    TransformSummary

    Raises
    ------
    ValueError
        For a ``combine_uri`` that is not an ``s3://`` object URI, or one without
        ``open_sink``.
    """
    in_bucket, in_prefix = split_s3_uri(input_uri)
    out_bucket, out_prefix = split_s3_uri(output_uri)
    base = (
        in_prefix if in_prefix.endswith("/") or not in_prefix else in_prefix.rsplit("/", 1)[0] + "/"
    )
    out_base = out_prefix if not out_prefix or out_prefix.endswith("/") else out_prefix + "/"
    combiner = _Combiner.open(combine_uri, open_sink) if combine_uri is not None else None
    checks, missing = [], []
    try:
        for key in store.keys(in_bucket, in_prefix):
            if key.endswith("/"):
                continue
            outputs = store.lines(out_bucket, f"{out_base}{key.removeprefix(base)}.out")
            inputs = store.lines(in_bucket, key)
            if outputs is None or inputs is None:
                missing.append(key)
                if combiner is not None:
                    combiner.abort()
                continue
            check = check_joined(
                key, inputs, combiner.through(outputs) if combiner is not None else outputs
            )
            checks.append(check)
            if combiner is not None and not check.ok:
                combiner.abort()
        summary = TransformSummary(checks=tuple(checks), missing_outputs=tuple(missing))
        if combiner is None:
            return summary
        if not summary.ok:
            combiner.abort()
            return summary
        combiner.commit()
    except BaseException:
        if combiner is not None:
            combiner.abort()
        raise
    return TransformSummary(
        checks=summary.checks,
        missing_outputs=summary.missing_outputs,
        combined=combine_uri,
        combined_lines=combiner.lines,
    )


@dataclass(slots=True)
class _Combiner:
    """Tees ``.out`` lines into a sink while the check reads them."""

    sink: LineSink
    lines: int = 0
    aborted: bool = False

    @classmethod
    def open(cls, uri: str, open_sink: OpenSink | None) -> _Combiner:
        bucket, key = split_s3_uri(uri)
        if not key or key.endswith("/"):
            raise ValueError(f"combine_uri must name an object, not a folder: {uri!r}")
        if open_sink is None:
            raise ValueError("combine_uri needs open_sink")
        return cls(open_sink(bucket, key))

    def through(self, outputs: Iterable[str]) -> Iterator[str]:
        """Yield ``outputs`` unchanged, writing each record line to the sink on the way."""
        for line in outputs:
            if not self.aborted and line.strip():
                self.sink.write(line)
                self.lines += 1
            yield line

    def abort(self) -> None:
        """Stop combining: the sink drops what it had."""
        if not self.aborted:
            self.aborted = True
            self.lines = 0
            self.sink.abort()

    def commit(self) -> None:
        """Let the combined object appear."""
        self.sink.commit()
