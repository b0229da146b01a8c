"""The ML workflows: Spark job throughput by catalog size and cores, inference by payload.

Spark: the label-mining job (FPGrowth, then LDA with 10 iterations) in a fresh process
per run, on generated catalogs, with ``local[1]`` and ``local[2]``. Session start-up is
measured apart from the job. Sizes come from ``BENCH_SPARK_SIZES`` (default
10,000, 100,000 and 1,000,000 records).

Inference: the label suggester's own inference code through the local Batch
Transform (split by line, mini-batches, joined output) at several MaxPayloadInMB.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [int(n) for n in os.environ.get("BENCH_SPARK_SIZES", "10000,100000,1000000").split(",")]
MASTERS = ("local[1]", "local[2]")
INFERENCE_RECORDS = 100_000
PAYLOADS_MB = (1.0, 6.0, 20.0)


def spark_run(master: str, source: Path, target: Path) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.spark_child", master, str(source), str(target)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def spark(folder: Path) -> list[str]:
    from jobs.synthetic_catalog import write

    rows = [
        "Spark MLlib job (FPGrowth + LDA, 10 iterations), a fresh process per run; "
        "records per second over the job alone.",
        "",
        "| records | input MB | master | session start s | job s | records/s |",
        "| ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for size in SIZES:
        source = write(folder / f"catalog-{size}.jsonl", size)
        megabytes = source.stat().st_size / 2**20
        for master in MASTERS:
            target = folder / f"out-{size}-{master[6]}"
            result = spark_run(master, source, target)
            shutil.rmtree(target, ignore_errors=True)
            rows.append(
                f"| {size:,} | {megabytes:.0f} | {master} | {result['startup_s']:.1f} "
                f"| {result['job_s']:.1f} | {size / result['job_s']:,.0f} |"
            )
        source.unlink()
    return rows


def theme_model(folder: Path) -> Path:
    """A suggester trained on the generated catalog's themes: every theme's labels lead to
    each other (confidence 0.8, lift 3)."""
    from jobs import synthetic_catalog, train_suggester

    related = [
        {
            "label": label.lower(),
            "related": [
                {"label": other.lower(), "confidence": 0.8, "lift": 3.0}
                for other in labels
                if other != label
            ],
        }
        for labels in synthetic_catalog.THEMES.values()
        for label in labels
    ]
    return train_suggester.pack(train_suggester.train(related), folder / "model.tar.gz")


def inference(folder: Path) -> list[str]:
    from medialens_local.batch_transform import TransformSettings, transform

    from jobs import synthetic_catalog

    archive = theme_model(folder)
    inputs = folder / "inference-in"
    synthetic_catalog.write(inputs / "catalog.jsonl", INFERENCE_RECORDS)
    rows = [
        f"Label suggester through the local Batch Transform, {INFERENCE_RECORDS:,} records "
        "(split by line, mini-batches, output joined to input).",
        "",
        "| BatchStrategy | MaxPayloadInMB | requests | seconds | records/s |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for strategy, payload in [("MultiRecord", p) for p in PAYLOADS_MB] + [("SingleRecord", 6.0)]:
        out = folder / f"inference-out-{strategy}-{payload:g}"
        started = time.perf_counter()
        report = transform(
            inputs, out, archive, TransformSettings(batch_strategy=strategy, max_payload_mb=payload)
        )
        seconds = time.perf_counter() - started
        shutil.rmtree(out)
        rows.append(
            f"| {strategy} | {payload:g} | {report.requests:,} | {seconds:.2f} "
            f"| {report.records / seconds:,.0f} |"
        )
    return rows


def workflows() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as name:
        folder = Path(name)
        return [*inference(folder), "", *spark(folder)]


if __name__ == "__main__":
    print("\n".join(workflows()))
