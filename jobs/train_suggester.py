"""Build the label-suggester model from the label-mining job's related-label rules.

Reads ``related_labels/`` (JSON Lines written by ``jobs/label_mining.py``), keeps the
rules above a confidence and lift, and packs ``model.json`` with the inference code as
the ``model.tar.gz`` that SageMaker's scikit-learn container serves
(``code/inference.py`` is the ``SAGEMAKER_PROGRAM``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medialens.workflows.suggester import Thresholds, pack_archive, related_from_record
from medialens.workflows.suggester import train as train_model

ROOT = Path(__file__).resolve().parents[1]
INFERENCE = ROOT / "sagemaker_models" / "label_suggester" / "code" / "inference.py"


def read_related(folder: Path) -> Iterable[dict[str, Any]]:
    """Read the related-label lines of every part file under ``folder``."""
    for part in sorted(folder.glob("part-*")):
        for line in part.read_text().splitlines():
            if line.strip():
                yield json.loads(line)


def train(
    lines: Iterable[dict[str, Any]],
    *,
    min_confidence: float = 0.5,
    min_lift: float = 1.2,
) -> dict[str, Any]:
    """Keep, for each label, the related labels worth suggesting, best first."""
    rules = (related_from_record(line) for line in lines)
    return train_model(rules, Thresholds(min_confidence=min_confidence, min_lift=min_lift))


def pack(model: dict[str, Any], archive: Path) -> Path:
    """Write ``model.tar.gz`` (``model.json`` and ``code/inference.py``) at ``archive``."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(pack_archive(model, INFERENCE.read_bytes()))
    return archive


def main(argv: Sequence[str] | None = None) -> int:
    """``python jobs/train_suggester.py MINING_OUTPUT/related_labels model.tar.gz``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("related", type=Path, help="the mining job's related_labels folder")
    parser.add_argument("archive", type=Path, help="where model.tar.gz goes")
    parser.add_argument("--min-confidence", type=float, default=0.5)
    parser.add_argument("--min-lift", type=float, default=1.2)
    args = parser.parse_args(argv)
    model = train(
        read_related(args.related), min_confidence=args.min_confidence, min_lift=args.min_lift
    )
    if not model["related"]:
        print("no rule passed the thresholds: nothing to suggest", file=sys.stderr)
        return 1
    pack(model, args.archive)
    print(f"{args.archive}: {len(model['related'])} labels with suggestions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
