"""SageMaker Batch Transform, run on this machine with the model's own inference code.

What it reproduces, from SageMaker's documentation of CreateTransformJob:

* ``SplitType: Line`` splits each input object into records at line ends.
* ``BatchStrategy: MultiRecord`` sends as many records per request as fit in
  ``MaxPayloadInMB``; ``SingleRecord`` sends one. A single record larger than
  ``MaxPayloadInMB`` fails the job.
* The container's ``input_fn``/``predict_fn``/``output_fn`` (loaded from
  ``code/inference.py`` in ``model.tar.gz``, the ``SAGEMAKER_PROGRAM``) answer each
  request; the answer must hold one line per record.
* ``AssembleWith: Line`` ends every output record with a newline, and
  ``JoinSource: Input`` adds each prediction to its input record under
  ``SageMakerOutput`` (a record that is not an object goes under ``SageMakerInput``).
* Each input object's results go to ``<key>.out`` under the output path, in input
  order, and only for objects that succeeded; one failed object fails the job.
"""

from __future__ import annotations

import importlib.util
import json
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

MEGABYTE = 1024 * 1024


class TransformFailedError(RuntimeError):
    """The job failed: what SageMaker would report as the FailureReason."""


@dataclass(frozen=True)
class TransformSettings:
    """The CreateTransformJob parameters the local run honours."""

    content_type: str = "application/jsonlines"
    accept: str = "application/jsonlines"
    batch_strategy: str = "MultiRecord"
    max_payload_mb: float = 6.0
    join_source: str = "Input"

    def __post_init__(self) -> None:
        """Refuse what SageMaker refuses."""
        if self.batch_strategy not in ("MultiRecord", "SingleRecord"):
            raise ValueError(f"BatchStrategy must be MultiRecord or SingleRecord: {self}")
        if not 0 < self.max_payload_mb <= 100:
            raise ValueError("MaxPayloadInMB must be between 1 and 100")


@dataclass
class FileReport:
    """One input object's outcome."""

    key: str
    records: int = 0
    requests: int = 0
    output: Path | None = None


@dataclass
class TransformReport:
    """The job's outcome, per input object."""

    files: list[FileReport] = field(default_factory=list)

    @property
    def records(self) -> int:
        """Records transformed in all."""
        return sum(f.records for f in self.files)

    @property
    def requests(self) -> int:
        """Requests (mini-batches) sent to the model."""
        return sum(f.requests for f in self.files)


@dataclass
class LoadedModel:
    """The inference module and the model it loaded from ``model.tar.gz``."""

    module: ModuleType
    model: Any
    directory: tempfile.TemporaryDirectory[str]


def load_model(archive: Path) -> LoadedModel:
    """Unpack ``model.tar.gz`` as the container does and call its ``model_fn``."""
    directory = tempfile.TemporaryDirectory(prefix="model-")
    with tarfile.open(archive) as tar:
        tar.extractall(directory.name, filter="data")
    program = Path(directory.name) / "code" / "inference.py"
    spec = importlib.util.spec_from_file_location("inference", program)
    if spec is None or spec.loader is None:
        raise TransformFailedError(f"{archive} has no code/inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return LoadedModel(module=module, model=module.model_fn(directory.name), directory=directory)


def mini_batches(records: Sequence[bytes], settings: TransformSettings) -> Iterator[list[bytes]]:
    """Group records into requests no larger than ``MaxPayloadInMB``.

    Raises
    ------
    TransformFailedError
        When one record alone is larger than ``MaxPayloadInMB``.
    """
    limit = int(settings.max_payload_mb * MEGABYTE)
    batch: list[bytes] = []
    size = 0
    for number, record in enumerate(records, start=1):
        if len(record) > limit:
            raise TransformFailedError(
                f"record {number} is {len(record):,} bytes, more than MaxPayloadInMB "
                f"({settings.max_payload_mb:g} MB = {limit:,} bytes)"
            )
        if settings.batch_strategy == "SingleRecord":
            yield [record]
            continue
        added = len(record) + (1 if batch else 0)
        if batch and size + added > limit:
            yield batch
            batch, size, added = [], 0, len(record)
        batch.append(record)
        size += added
    if batch:
        yield batch


def joined(record: bytes, prediction: str) -> str:
    """``JoinSource: Input`` for JSON Lines: the prediction under ``SageMakerOutput``."""
    source = json.loads(record)
    output = json.loads(prediction)
    if isinstance(source, dict):
        return json.dumps({**source, "SageMakerOutput": output}, separators=(",", ":"))
    return json.dumps({"SageMakerInput": source, "SageMakerOutput": output}, separators=(",", ":"))


def transform_object(
    data: bytes, loaded: LoadedModel, settings: TransformSettings
) -> tuple[list[str], int]:
    """Transform one input object; return its output records and the requests made."""
    records = [line for line in data.splitlines() if line.strip()]
    outputs: list[str] = []
    requests = 0
    for batch in mini_batches(records, settings):
        requests += 1
        module = loaded.module
        parsed = module.input_fn(b"\n".join(batch), settings.content_type)
        answer = module.output_fn(module.predict_fn(parsed, loaded.model), settings.accept)
        lines = answer.splitlines() if isinstance(answer, str) else answer.decode().splitlines()
        if len(lines) != len(batch):
            raise TransformFailedError(
                f"the model answered {len(lines)} lines for a request of {len(batch)} records"
            )
        if settings.join_source == "Input":
            lines = [joined(record, line) for record, line in zip(batch, lines, strict=True)]
        outputs.extend(lines)
    return outputs, requests


def transform(
    input_dir: Path, output_dir: Path, archive: Path, settings: TransformSettings
) -> TransformReport:
    """Run the job over every object under ``input_dir`` (an S3 prefix, locally).

    Raises
    ------
    TransformFailedError
        Naming the input object, when any object fails (its ``.out`` is not written).
    """
    loaded = load_model(archive)
    report = TransformReport()
    try:
        for path in sorted(p for p in input_dir.rglob("*") if p.is_file()):
            key = path.relative_to(input_dir).as_posix()
            try:
                outputs, requests = transform_object(path.read_bytes(), loaded, settings)
            except (TransformFailedError, ValueError) as error:
                raise TransformFailedError(f"{key}: {error}") from error
            target = output_dir / f"{key}.out"
            target.parent.mkdir(parents=True, exist_ok=True)
            # AssembleWith Line: every record ends with a newline.
            target.write_text("".join(line + "\n" for line in outputs))
            report.files.append(FileReport(key, len(outputs), requests, target))
    finally:
        loaded.directory.cleanup()
    return report
