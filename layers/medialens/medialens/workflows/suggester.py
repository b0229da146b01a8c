"""The label suggester: learnt from the mined co-occurrence rules, published twice.

The label-mining job (``jobs/label_mining.py``) writes ``related_labels/``: JSON Lines,
one label per line with the labels its rules lead to. From those lines this module

* trains the model Batch Transform serves (``model.json`` packed with the inference code
  as the ``model.tar.gz`` SageMaker's scikit-learn container loads), and
* publishes the same suggestions to the catalog, where the chatbot reads them
  ("you may also like ...").
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from medialens.workflows.transform_check import ObjectLines, split_s3_uri

FORMAT = "medialens-label-suggester/1"
"""``format`` of ``model.json``; the inference code refuses anything else."""


@dataclass(frozen=True, slots=True)
class RelatedLabel:
    """A label suggested beside another, from the rule ``label -> this``.

    Attributes
    ----------
    label : str
        The suggested label (lower-case, as mined).
    confidence : float
        The rule's confidence: of the media showing the first label, the share that
        also shows this one.
    lift : float
        How much more often they occur together than by chance.
    """

    label: str
    confidence: float
    lift: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Which rules are worth suggesting.

    Attributes
    ----------
    min_confidence, min_lift : float
        A rule below either is left out.
    suggestions : int
        Suggestions the model answers per media item.
    min_label_confidence : float
        Labels the model reads from a record need at least this confidence (percent).
    """

    min_confidence: float = 0.5
    min_lift: float = 1.2
    suggestions: int = 5
    min_label_confidence: float = 50.0


class MalformedRulesError(ValueError):
    """A ``related_labels`` line that is not what the mining job writes."""


def related_from_record(record: Mapping[str, Any]) -> tuple[str, tuple[RelatedLabel, ...]]:
    """Read one ``related_labels`` record as ``(label, related labels)``.

    Raises
    ------
    KeyError, TypeError, ValueError
        For a record that is not ``{"label": ..., "related": [{label, confidence, lift}]}``.
    """
    related = tuple(
        RelatedLabel(str(r["label"]), float(r["confidence"]), float(r["lift"]))
        for r in record["related"]
    )
    return str(record["label"]), related


def parse_related(lines: Iterable[str]) -> Iterator[tuple[str, tuple[RelatedLabel, ...]]]:
    """Read ``related_labels`` JSON Lines as ``(label, related labels)``.

    Raises
    ------
    MalformedRulesError
        For a line that is not ``{"label": ..., "related": [{label, confidence, lift}]}``.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield related_from_record(json.loads(line))
        except (ValueError, KeyError, TypeError) as error:
            raise MalformedRulesError(f"line {number}: {error!r}: {line[:200]!r}") from error


def train(
    rules: Iterable[tuple[str, Sequence[RelatedLabel]]], thresholds: Thresholds = Thresholds()
) -> dict[str, Any]:
    """Keep, for each label, the related labels worth suggesting, best first.

    Returns
    -------
    dict
        ``model.json``'s content.
    """
    related: dict[str, list[dict[str, Any]]] = {}
    for label, candidates in rules:
        kept = sorted(
            (
                r
                for r in candidates
                if r.confidence >= thresholds.min_confidence and r.lift >= thresholds.min_lift
            ),
            key=lambda r: (-r.confidence, r.label),
        )
        if kept:
            related[label] = [
                {"label": r.label, "confidence": r.confidence, "lift": r.lift} for r in kept
            ]
    return {
        "format": FORMAT,
        "related": dict(sorted(related.items())),
        "suggestions": thresholds.suggestions,
        "min_label_confidence": thresholds.min_label_confidence,
    }


def suggestions_of(model: dict[str, Any]) -> dict[str, tuple[RelatedLabel, ...]]:
    """Each label's kept suggestions in a trained model, as the catalog stores them."""
    return {
        label: tuple(RelatedLabel(r["label"], r["confidence"], r["lift"]) for r in kept)
        for label, kept in model["related"].items()
    }


def pack_archive(model: dict[str, Any], inference_code: bytes) -> bytes:
    """Build ``model.tar.gz``: ``model.json`` and ``code/inference.py``, byte-reproducibly."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, data in (
            ("model.json", json.dumps(model, indent=1, sort_keys=True).encode()),
            ("code/inference.py", inference_code),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class ObjectWriter(Protocol):
    """Writes whole objects."""

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        """Store ``body`` at ``key``."""
        ...


class RelatedLabelsStore(Protocol):
    """Where the chatbot reads the suggestions from."""

    def replace(self, run: str, related: dict[str, tuple[RelatedLabel, ...]]) -> int:
        """Store every label's suggestions for ``run``, drop older runs'; return removals."""
        ...


@dataclass(frozen=True, slots=True)
class Published:
    """What one publication did.

    Attributes
    ----------
    model_data_url : str
        Where ``model.tar.gz`` went.
    labels_read : int
        Labels in ``related_labels``.
    labels_suggested : int
        Labels with at least one suggestion over the thresholds (the model's and the
        catalog's entries).
    labels_removed : int
        Suggestions of earlier runs taken out of the catalog.
    """

    model_data_url: str
    labels_read: int
    labels_suggested: int
    labels_removed: int

    def to_dict(self) -> dict[str, Any]:
        """Summarise for the workflow."""
        return {
            "model_data_url": self.model_data_url,
            "labels_read": self.labels_read,
            "labels_suggested": self.labels_suggested,
            "labels_removed": self.labels_removed,
        }


class NothingToSuggestError(ValueError):
    """No rule passed the thresholds: a model would suggest nothing."""


def publish_suggestions(
    related_uri: str,
    model_data_url: str,
    *,
    run: str,
    inference_code: bytes,
    objects: ObjectLines,
    writer: ObjectWriter,
    catalog: RelatedLabelsStore,
    thresholds: Thresholds = Thresholds(),
) -> Published:
    """Train the suggester from the mined rules, store the archive, update the catalog.

    Parameters
    ----------
    related_uri : str
        The mining job's ``related_labels/`` folder (``s3://.../``); every object under it
        that is not a marker (``_SUCCESS``, ``.crc``) is read.
    model_data_url : str
        Where ``model.tar.gz`` goes (``s3://.../model.tar.gz``).
    run : str
        The run publishing (the execution); the catalog keeps only its suggestions.
    inference_code : bytes
        ``code/inference.py`` of the archive.
    objects, writer, catalog
        The ports.
    thresholds : Thresholds

    Returns
    -------
    Published

    Raises
    ------
    MalformedRulesError
        For a line the mining job would not have written.
    NothingToSuggestError
        When no rule passes the thresholds (the catalog is left as it was).
    """
    bucket, prefix = split_s3_uri(related_uri)
    read: dict[str, tuple[RelatedLabel, ...]] = {}
    files = 0
    for key in objects.keys(bucket, prefix):
        name = key.rsplit("/", 1)[-1]
        if not name or name.startswith(("_", ".")) or name.endswith(".crc"):
            continue
        files += 1
        lines = objects.lines(bucket, key)
        read.update(parse_related(lines or ()))
    if not files:
        raise NothingToSuggestError(f"no rule files under {related_uri}")
    model = train(read.items(), thresholds)
    if not model["related"]:
        raise NothingToSuggestError(
            f"none of the {len(read)} labels' rules reaches confidence "
            f"{thresholds.min_confidence} and lift {thresholds.min_lift}"
        )
    model_bucket, model_key = split_s3_uri(model_data_url)
    writer.put(model_bucket, model_key, pack_archive(model, inference_code), "application/gzip")
    suggested = suggestions_of(model)
    removed = catalog.replace(run, suggested)
    return Published(
        model_data_url=model_data_url,
        labels_read=len(read),
        labels_suggested=len(suggested),
        labels_removed=removed,
    )
