"""The suggester endpoint: its call's latency, its share of an image's analysis, and its
work per record beside Batch Transform's.

The offline stack hosts a suggester on the local SageMaker Runtime and the sample images
are dropped again and again under new keys, each through S3's event, the ingest queue and
the real AnalyzeMediaFunction handler, which calls the endpoint after Rekognition. The
call is timed where the handler makes it (boto3 over HTTP to the local endpoint, the
inference code's work included); the analysis is the handler's whole invocation. The
local Rekognition's model answers are remembered by image content, so after the first
round an image's analysis is the pipeline's own work, not the local models'.

Run alone with ``python -m bench.suggester_endpoint``; ``make bench`` runs it as a section.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from medialens.images import suggester_endpoint
from medialens_local.batch_transform import TransformSettings, transform
from medialens_local.sagemaker_runtime import serving
from medialens_local.stack import analysed
from medialens_local.template import ROOT
from rich.progress import Progress

from bench.chatbot import percentile
from bench.workflows import theme_model
from jobs import synthetic_catalog

ROUNDS = 30
RECORDS = 2_000


def analyses(archive: Path) -> tuple[list[float], list[float], int]:
    """Drop the sample images ROUNDS times; return each analysis' and each call's seconds,
    and the number of sample images."""
    calls: list[float] = []
    ask = suggester_endpoint.SageMakerLabelSuggester.suggest

    def timed(self: Any, labels: Any) -> Any:
        started = time.perf_counter()
        try:
            return ask(self, labels)
        finally:
            calls.append(time.perf_counter() - started)

    suggester_endpoint.SageMakerLabelSuggester.suggest = timed  # type: ignore[method-assign]
    analysed_s: list[float] = []
    with contextlib.redirect_stdout(io.StringIO()):
        folder = ROOT / "samples"
        with analysed(folder, Progress(disable=True), suggester=archive) as offline:
            images = [
                drop
                for drop in offline.drops
                if drop.key.startswith("uploads/") and drop.path.suffix in (".jpg", ".png")
            ]
            s3 = offline.aws.client("s3")
            calls.clear()
            for round_ in range(ROUNDS):
                for drop in images:
                    key = drop.key.replace("uploads/", f"uploads/bench-{round_}/", 1)
                    s3.put_object(Bucket=offline.aws.bucket, Key=key, Body=drop.path.read_bytes())
                    [delivery] = offline.router.drain(expected=1)
                    assert delivery.error is None, delivery.error
                    analysed_s.append(delivery.duration_s)
    suggester_endpoint.SageMakerLabelSuggester.suggest = ask  # type: ignore[method-assign]
    return analysed_s, calls, len(images)


def per_record(archive: Path, folder: Path) -> tuple[float, float]:
    """Records per second: one InvokeEndpoint per record, and one Batch Transform job."""
    inputs = folder / "in"
    synthetic_catalog.write(inputs / "catalog.jsonl", RECORDS)
    lines = (inputs / "catalog.jsonl").read_bytes().splitlines()
    with serving({"suggester": archive}) as served:
        client = served.served.client()
        started = time.perf_counter()
        for line in lines:
            client.invoke_endpoint(
                EndpointName="suggester",
                Body=line,
                ContentType="application/jsonlines",
                Accept="application/jsonlines",
            )["Body"].read()
        endpoint_rate = len(lines) / (time.perf_counter() - started)
    started = time.perf_counter()
    report = transform(inputs, folder / "out", archive, TransformSettings())
    batch_rate = report.records / (time.perf_counter() - started)
    return endpoint_rate, batch_rate


def section() -> list[str]:
    """Measure and report."""
    with tempfile.TemporaryDirectory(prefix="bench-endpoint-") as name:
        folder = Path(name)
        archive = theme_model(folder)
        analysed_s, calls, images = analyses(archive)
        endpoint_rate, batch_rate = per_record(archive, folder)
    share = sum(calls) / sum(analysed_s)
    rows = [
        f"{len(analysed_s)} image analyses ({ROUNDS} rounds of the {images} sample images "
        "under new keys), each through S3's event, the ingest queue and the real "
        "AnalyzeMediaFunction handler, with the suggester hosted on the local serverless "
        "endpoint (`SuggesterHosting=Serverless`):",
        "",
        "| | median | p90 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, values in (
        ("whole analysis (handler invocation)", analysed_s),
        ("InvokeEndpoint call (as the handler makes it)", calls),
    ):
        ms = [v * 1000 for v in values]
        rows.append(
            f"| {label} | {statistics.median(ms):.1f} ms | {percentile(ms, 0.9):.1f} ms | "
            f"{percentile(ms, 0.99):.1f} ms | {max(ms):.1f} ms |"
        )
    rows += [
        "",
        f"The endpoint's share of the analysis time: **{share:.1%}** "
        f"({len(calls)} calls, {sum(calls):.2f} s of {sum(analysed_s):.2f} s).",
        "",
        "Offline, Rekognition's answers come from the local models' cache and every service "
        "is on the loopback: on AWS, the four Rekognition calls and the endpoint call each "
        "add a network round trip, and a cold serverless endpoint adds its start-up "
        "(the adapter then gives up after `SUGGESTER_TIMEOUT_S`, 3 s, and the image waits "
        "for the batch run).",
        "",
        f"Work per record, the same {RECORDS:,} generated catalog records and the same "
        "model, measured one after the other:",
        "",
        "| path | records/s |",
        "| --- | ---: |",
        f"| one InvokeEndpoint per record (boto3, HTTP, sequential) | {endpoint_rate:,.0f} |",
        f"| one Batch Transform job (MultiRecord, 6 MB mini-batches) | {batch_rate:,.0f} |",
        "",
        f"Batch Transform does {batch_rate / endpoint_rate:,.0f}x the records per second: the "
        "model itself is a dictionary lookup; a per-record request's cost is the request. "
        "Which is cheaper on AWS depends on billing, not on this work: see "
        "[serving.md](serving.md).",
    ]
    return rows


if __name__ == "__main__":
    print("\n".join(section()))
