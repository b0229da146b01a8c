"""A synthetic catalog export with known co-occurrences, for tests and benchmarks.

Each media item is drawn from one theme (beach, pets, kitchen, city, documents). A
theme's labels appear together with known probabilities, plus a little noise from the
other themes, so the rules and topics the job should find are known in advance.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

THEMES: dict[str, dict[str, float]] = {
    "beach": {"Beach": 0.95, "Sea": 0.9, "Sky": 0.8, "Sand": 0.6, "Person": 0.4},
    "pets": {"Dog": 0.55, "Cat": 0.45, "Pet": 0.95, "Animal": 0.95, "Mammal": 0.8},
    "kitchen": {"Coffee": 0.7, "Cup": 0.75, "Food": 0.6, "Table": 0.5},
    "city": {"Building": 0.9, "City": 0.85, "Car": 0.6, "Road": 0.7, "Person": 0.3},
    "documents": {"Text": 0.95, "Document": 0.85, "Paper": 0.5},
}
# Rekognition's taxonomy for some of them (a label's parents and aliases), which
# DetectLabels also returns as labels of their own: the miner must not offer these.
IMPLIED: dict[str, tuple[str, ...]] = {
    "Dog": ("animal", "canine", "mammal", "pet"),
    "Cat": ("animal", "mammal", "pet"),
    "Pet": ("animal",),
    "Mammal": ("animal",),
    "Coffee": ("beverage",),
    "Car": ("transportation", "vehicle"),
    "Document": ("text",),
}
WORDS = {"documents": ["invoice", "total", "due"], "city": ["exit", "stop"]}
NOISE = ["Tree", "Plant", "Chair", "Bottle", "Lamp", "Window"]


def records(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Yield ``count`` catalog records; the same seed gives the same records."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    themes = sorted(THEMES)
    for index in range(count):
        theme = themes[index % len(themes)] if index < len(themes) else rng.choice(themes)
        labels = [
            {
                "name": name,
                "confidence": round(rng.uniform(70, 99.9), 2),
                "implied": list(IMPLIED.get(name, ())),
            }
            for name, chance in THEMES[theme].items()
            if rng.random() < chance
        ]
        if rng.random() < 0.3:
            noise = {"name": rng.choice(NOISE), "confidence": round(rng.uniform(55, 90), 2)}
            labels.append({**noise, "implied": []})
        words = [w for w in WORDS.get(theme, []) if rng.random() < 0.7]
        video = rng.random() < 0.2
        yield {
            "media_id": f"uploads/{theme}/{index:07d}.{'mp4' if video else 'jpg'}",
            "media_type": "video" if video else "photo",
            "analysed_at": f"2026-11-{1 + index % 27:02d}T10:00:00+00:00",
            "labels": labels,
            "words": words,
            "persons": ["alice"] if theme == "beach" and rng.random() < 0.2 else [],
            "faces": 1 if any(label["name"] == "Person" for label in labels) else 0,
            "moderation": [],
            "flagged": False,
            "theme": theme,
        }


def catalog_items(record: dict[str, Any]) -> list[dict[str, Any]]:
    """List the catalog table's items of one record, keyed as the catalog adapter writes them.

    What the table's DynamoDB export holds, for the pipeline's tests: a ``META`` item
    and one item per label and detected word, confidences as ``Decimal``.
    """
    media = str(record["media_id"])
    pk = f"MEDIA#{media}"
    items: list[dict[str, Any]] = [
        {
            "pk": pk,
            "sk": "META",
            "media_id": media,
            "media_type": record["media_type"],
            "flagged": False,
        }
    ]
    items += [
        {
            "pk": pk,
            "sk": f"LABEL#{label['name'].lower()}",
            "media_id": media,
            "value": label["name"],
            "confidence": Decimal(str(label["confidence"])),
            **({"implies": label["implied"]} if label.get("implied") else {}),
        }
        for label in record["labels"]
    ]
    items += [
        {"pk": pk, "sk": f"WORD#{word}", "media_id": media, "value": word}
        for word in record["words"]
    ]
    return items


def write(path: Path, count: int, seed: int = 7) -> Path:
    """Write ``count`` records to ``path`` as JSON Lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for record in records(count, seed):
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Write a synthetic export: ``python jobs/synthetic_catalog.py OUT.jsonl --count N``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write(args.output, args.count, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
