"""`make workflows`: the ML pipeline offline, end to end, on the analysed samples.

1. The samples are analysed into the offline catalog, as `make demo` does.
2. The catalog is exported as JSON Lines, one media item per line.
3. The Spark MLlib job (``jobs/label_mining.py``) runs with ``spark-submit``'s
   arguments in PySpark local mode: co-occurrence rules and topics.
4. The label suggester is trained from the rules (``jobs/train_suggester.py``).
5. Batch Transform runs the model's own inference code over the export, with the
   template's MaxPayloadInMB and BatchStrategy (``medialens_local.batch_transform``).
6. Every ``.out`` is checked line by line against its input.

Seven sample files are too few to mine, so generated records with known co-occurrences
(``jobs/synthetic_catalog.py``) are exported beside them unless ``--synthetic 0``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from medialens.domain.transform_check import check_joined
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from medialens_local.aws import LocalAws
from medialens_local.batch_transform import TransformSettings, transform
from medialens_local.demo import OUT, SAMPLES, ModelMissingError, analysed, progress_bar
from medialens_local.template import ROOT, load_template

KINDS = {"LABEL": "labels", "WORD": "words", "PERSON": "persons", "MODERATION": "moderation"}


def export_catalog(aws: LocalAws, path: Path) -> int:
    """Write the offline catalog as JSON Lines (the Spark job's input); return the count."""
    deserializer = TypeDeserializer()
    media: dict[str, dict[str, Any]] = {}
    pages = (
        aws.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=aws.resolver.ref("CatalogTable"))
    )
    for page in pages:
        for raw in page["Items"]:
            item = {name: deserializer.deserialize(value) for name, value in raw.items()}
            media_id = str(item.get("media_id", ""))
            if not media_id:
                continue
            record = media.setdefault(media_id, _empty_record(media_id))
            kind = str(item["sk"]).split("#", 1)[0]
            if item["sk"] == "META":
                record["media_type"] = str(item.get("media_type", "photo"))
                record["analysed_at"] = str(item.get("analysed_at", ""))
                record["flagged"] = bool(item.get("flagged", False))
                record["faces"] = int(item.get("face_count", 0))
            elif "via" in item:
                # A parent or alias of another label: mining it would only find that
                # "cat" comes with "animal", which Rekognition already says.
                continue
            elif kind in ("LABEL", "MODERATION"):
                record[KINDS[kind]].append(
                    {"name": str(item["value"]), "confidence": float(item["confidence"])}
                )
            elif kind in ("WORD", "PERSON"):
                record[KINDS[kind]].append(str(item["value"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as out:
        for record in media.values():
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    return len(media)


def _empty_record(media_id: str) -> dict[str, Any]:
    return {
        "media_id": media_id,
        "media_type": "photo",
        "analysed_at": "",
        "labels": [],
        "words": [],
        "persons": [],
        "faces": 0,
        "moderation": [],
        "flagged": False,
    }


def template_transform_settings() -> TransformSettings:
    """Read the Batch Transform settings the template deploys (its parameters' defaults)."""
    parameters = load_template()["Parameters"]
    return TransformSettings(
        batch_strategy=str(parameters["TransformBatchStrategy"]["Default"]),
        max_payload_mb=float(parameters["TransformMaxPayloadInMB"]["Default"]),
    )


@contextlib.contextmanager
def step(progress: Progress, description: str, timings: dict[str, float]) -> Iterator[None]:
    """Show one pipeline step and time it."""
    task = progress.add_task(description, total=1)
    started = time.perf_counter()
    yield
    timings[description] = time.perf_counter() - started
    progress.advance(task)


def run(folder: Path, console: Console, *, synthetic: int, out: Path) -> int:
    """Run the whole pipeline; return the exit code."""
    work = out / "workflows"
    export = work / "export"
    timings: dict[str, float] = {}
    progress = progress_bar(console)
    log = (out / "workflows.log").open("w")
    with progress, log, contextlib.redirect_stdout(log):
        with step(progress, "Analysing the samples into the offline catalog", timings):
            stack = contextlib.ExitStack()
            offline = stack.enter_context(analysed(folder, progress))
        with step(progress, "Exporting the catalog as JSON Lines", timings), stack:
            for stale in export.glob("*.jsonl"):
                stale.unlink()
            exported = export_catalog(offline.aws, export / "catalog.jsonl")
        if synthetic:
            from jobs.synthetic_catalog import write

            write(export / "synthetic.jsonl", synthetic)
        with step(progress, "Spark MLlib job (local[2])", timings):
            spark = subprocess.run(  # noqa: S603 - our own script, fixed arguments
                [
                    sys.executable,
                    str(ROOT / "jobs" / "label_mining.py"),
                    "--master",
                    "local[2]",
                    "--input",
                    str(export),
                    "--output",
                    str(work / "mining"),
                    "--topics",
                    "6",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if spark.returncode != 0:
            console.print(f"[red]The Spark job failed; see {out / 'workflows.log'}[/red]")
            return 1
        with step(progress, "Training the label suggester", timings):
            trained = subprocess.run(  # noqa: S603 - our own script, fixed arguments
                [
                    sys.executable,
                    str(ROOT / "jobs" / "train_suggester.py"),
                    str(work / "mining" / "related_labels"),
                    str(work / "model.tar.gz"),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if trained.returncode != 0:
            console.print("[red]No rule was strong enough to train the suggester.[/red]")
            return 1
        settings = template_transform_settings()
        with step(progress, "Batch Transform (local)", timings):
            report = transform(export, work / "transforms", work / "model.tar.gz", settings)
        checks = [
            check_joined(
                f.key,
                (export / f.key).read_text().splitlines(),
                f.output.read_text().splitlines() if f.output else [],
            )
            for f in report.files
        ]
    console.print(summary(work, exported, synthetic, report.records, report.requests, settings))
    for check in checks:
        status = "[green]ok[/green]" if check.ok else f"[red]{check.mismatches} mismatches[/red]"
        console.print(f"  {check.key}.out: {check.outputs} of {check.inputs} lines, {status}")
    console.print(
        "Times: "
        + ", ".join(f"{name.split(' (')[0].lower()} {s:.1f} s" for name, s in timings.items())
    )
    console.print(f"Outputs: {work}   Logs: {out / 'workflows.log'}")
    return 0 if all(check.ok for check in checks) else 1


def summary(
    work: Path,
    exported: int,
    synthetic: int,
    records: int,
    requests: int,
    settings: TransformSettings,
) -> Table:
    """Tabulate the strongest rules, and what the suggester says about the sample media."""
    table = Table(title="medialens ML workflows, offline")
    table.add_column("what")
    table.add_column("result", overflow="fold")
    table.add_row("exported", f"{exported} analysed sample media + {synthetic} generated records")
    related = [
        json.loads(line)
        for part in sorted((work / "mining" / "related_labels").glob("part-*"))
        for line in part.read_text().splitlines()
    ]
    strongest = sorted(
        ((r["label"], item) for r in related for item in r["related"]),
        key=lambda pair: -pair[1]["confidence"],
    )[:6]
    table.add_row(
        "strongest rules",
        "; ".join(
            f"{label} -> {item['label']} ({item['confidence']:.0%}, lift {item['lift']:.1f})"
            for label, item in strongest
        ),
    )
    table.add_row(
        "batch transform",
        f"{records} records in {requests} requests (MaxPayloadInMB {settings.max_payload_mb:g}, "
        f"{settings.batch_strategy})",
    )
    sample_out = work / "transforms" / "catalog.jsonl.out"
    if sample_out.exists():
        for line in sample_out.read_text().splitlines():
            joined = json.loads(line)
            suggestions = joined["SageMakerOutput"]["suggestions"]
            labels = ", ".join(label["name"] for label in joined["labels"][:3]) or "no labels"
            said = ", ".join(f"{s['label']} ({s['confidence']:.0%})" for s in suggestions[:3])
            table.add_row(joined["media_id"], f"{labels} -> may also show: {said or 'nothing'}")
    return table


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make workflows``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    parser.add_argument(
        "--synthetic", type=int, default=5000, help="generated records exported beside the samples"
    )
    args = parser.parse_args(argv)
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    try:
        return run(args.folder.resolve(), console, synthetic=args.synthetic, out=OUT)
    except ModelMissingError as error:
        console.print(f"[red]{error}[/red]")
        return 3


if __name__ == "__main__":
    sys.exit(main())
