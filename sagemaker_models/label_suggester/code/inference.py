"""Suggest labels a media item probably also shows, from the mined co-occurrence rules.

The SageMaker scikit-learn container's inference contract (``model_fn``, ``input_fn``,
``predict_fn``, ``output_fn``), serving JSON Lines: with ``SplitType: Line`` and
``BatchStrategy: MultiRecord`` one request carries several catalog records, one per line,
and the answer carries exactly one line per record, in the same order. The standard
library is all it needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JSON_LINES = ("application/jsonlines", "application/x-jsonlines", "application/json")


def model_fn(model_dir: str) -> dict[str, Any]:
    """Load ``model.json`` (written by ``jobs/train_suggester.py``) from the model directory."""
    model: dict[str, Any] = json.loads((Path(model_dir) / "model.json").read_text())
    if model.get("format") != "medialens-label-suggester/1":
        raise ValueError(f"not a label-suggester model: {model.get('format')!r}")
    return model


def input_fn(request_body: bytes | str, content_type: str) -> list[Any]:
    """Parse a mini-batch: one catalog record per line (a line that is not JSON stays text)."""
    if content_type.split(";")[0].strip() not in JSON_LINES:
        raise ValueError(f"unsupported content type {content_type!r}; send application/jsonlines")
    text = request_body.decode("utf-8") if isinstance(request_body, bytes) else request_body
    records: list[Any] = []
    for line in text.splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append(line)
    return records


def predict_fn(records: list[Any], model: dict[str, Any]) -> list[dict[str, Any]]:
    """For each record, the labels its own labels lead to and it does not have yet."""
    related: dict[str, list[dict[str, Any]]] = model["related"]
    threshold = float(model.get("min_label_confidence", 50.0))
    limit = int(model.get("suggestions", 5))
    predictions: list[dict[str, Any]] = []
    for record in records:
        try:
            have = {
                str(label["name"]).strip().lower()
                for label in record.get("labels") or []
                if float(label.get("confidence", 0)) >= threshold
            }
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            # One malformed record gets an error line; the rest of the job goes on.
            predictions.append({"error": f"malformed record: {type(error).__name__}: {error}"})
            continue
        best: dict[str, dict[str, Any]] = {}
        for label in sorted(have):
            for rule in related.get(label, []):
                candidate = rule["label"]
                if candidate in have:
                    continue
                if candidate not in best or rule["confidence"] > best[candidate]["confidence"]:
                    best[candidate] = {
                        "label": candidate,
                        "confidence": rule["confidence"],
                        "because": label,
                    }
        ranked = sorted(best.values(), key=lambda s: (-s["confidence"], s["label"]))
        predictions.append({"suggestions": ranked[:limit]})
    return predictions


def output_fn(predictions: list[dict[str, Any]], accept: str) -> str:
    """One JSON line per record, in input order."""
    if accept.split(";")[0].strip() not in JSON_LINES:
        raise ValueError(f"unsupported accept type {accept!r}; ask for application/jsonlines")
    return "\n".join(json.dumps(p, separators=(",", ":")) for p in predictions)
