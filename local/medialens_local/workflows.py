"""`make workflows`: the ML pipeline offline, end to end, the way the cloud one runs it.

1. The samples are analysed into the offline catalog, as `make demo` does.
2. The catalog table is exported with DynamoDB's ExportTableToPointInTime (moto's),
   as the pipeline's first state does; its ``data/`` files are fetched.
3. The Spark MLlib job (``jobs/label_mining.py``) runs with ``spark-submit``'s
   arguments in PySpark local mode, ``--input-format dynamodb``: co-occurrence rules,
   topics, related labels, and the records it read (``catalog/``).
4. The label suggester is trained from the rules (``jobs/train_suggester.py``).
5. Batch Transform runs the model's own inference code over ``catalog/``, with the
   template's MaxPayloadInMB and BatchStrategy (``medialens_local.batch_transform``).
6. Every ``.out`` is checked line by line against its input, and the checked outputs
   are combined into one ``suggestions.jsonl``, as the verify step does when asked.
7. The model is served on a local serverless endpoint, as the deploy workflow hosts it,
   and each sample's record is sent to InvokeEndpoint: the answers must be the Batch
   Transform's. ``make demo`` then hosts this model for every new image.

Seven sample files are too few to mine, so generated media with known co-occurrences
(``jobs/synthetic_catalog.py``) are written into the catalog table beside them, as the
catalog adapter keys them, unless ``--synthetic 0``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from medialens_local.aws import LocalAws
from medialens_local.batch_transform import TransformSettings, transform
from medialens_local.router import Delivery, Router
from medialens_local.sagemaker_runtime import serving
from medialens_local.stack import OUT, SAMPLES, ModelMissingError, analysed, progress_bar
from medialens_local.template import ROOT, load_template

EXPORT_PREFIX = "exports/offline"
EXPORT_TIMEOUT_S = 120


def add_synthetic(aws: LocalAws, count: int) -> int:
    """Write ``count`` generated media into the catalog table; return the items written."""
    from jobs.synthetic_catalog import catalog_items, records

    table = aws.resource("dynamodb").Table(aws.resolver.ref("CatalogTable"))
    written = 0
    with table.batch_writer() as batch:
        for record in records(count):
            for item in catalog_items(record):
                batch.put_item(Item=item)
                written += 1
    return written


def export_catalog(aws: LocalAws, folder: Path) -> int:
    """Export the catalog table as the pipeline does and fetch its data files.

    Returns
    -------
    int
        The items exported.

    Raises
    ------
    RuntimeError
        When the export fails or does not complete in time.
    """
    dynamodb, s3 = aws.client("dynamodb"), aws.client("s3")
    table_arn = aws.resolver.attributes[("CatalogTable", "Arn")]
    export = dynamodb.export_table_to_point_in_time(
        TableArn=table_arn,
        S3Bucket=aws.bucket,
        S3Prefix=EXPORT_PREFIX,
        ExportFormat="DYNAMODB_JSON",
    )["ExportDescription"]
    deadline = time.monotonic() + EXPORT_TIMEOUT_S
    while export["ExportStatus"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.2)
        export = dynamodb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]
    if export["ExportStatus"] != "COMPLETED":
        raise RuntimeError(f"the catalog export ended {export['ExportStatus']}: {export}")
    folder.mkdir(parents=True, exist_ok=True)
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=aws.bucket, Prefix=f"{EXPORT_PREFIX}/AWSDynamoDB/"
    )
    for page in pages:
        for item in page.get("Contents", []):
            if "/data/" in item["Key"]:
                body = s3.get_object(Bucket=aws.bucket, Key=item["Key"])["Body"].read()
                (folder / item["Key"].rsplit("/", 1)[1]).write_bytes(body)
    return int(export.get("ItemCount", 0))


def transform_inputs(catalog: Path, folder: Path) -> Path:
    """Copy the job's ``catalog/`` part files, as they would be on S3 (no ``.crc``)."""
    folder.mkdir(parents=True, exist_ok=True)
    for part in sorted(catalog.glob("part-*")):
        shutil.copyfile(part, folder / part.name)
    return folder


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
    if work.exists():
        shutil.rmtree(work)
    export, mining = work / "export", work / "mining"
    timings: dict[str, float] = {}
    progress = progress_bar(console)
    log = (out / "workflows.log").open("w")
    with progress, log, contextlib.redirect_stdout(log):
        with step(progress, "Analysing the samples into the offline catalog", timings):
            stack = contextlib.ExitStack()
            offline = stack.enter_context(analysed(folder, progress))
        with stack:
            aws, router = offline.aws, offline.router
            with step(progress, f"Adding {synthetic} generated media to the catalog", timings):
                add_synthetic(aws, synthetic)
            with step(progress, "Exporting the catalog table (ExportTableToPointInTime)", timings):
                exported = export_catalog(aws, export)
            with step(progress, "Spark MLlib job (local[2])", timings):
                spark = subprocess.run(  # noqa: S603 - our own script, fixed arguments
                    [
                        sys.executable,
                        str(ROOT / "jobs" / "label_mining.py"),
                        "--master",
                        "local[2]",
                        "--input",
                        str(export),
                        "--input-format",
                        "dynamodb",
                        "--output",
                        str(mining),
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
            with step(progress, "Training the label suggester (PublishSuggestions)", timings):
                published = publish(aws, router, mining / "related_labels", work / "model.tar.gz")
            if published.error:
                console.print(f"[red]The suggester was not trained: {published.error}[/red]")
                return 1
            settings = template_transform_settings()
            inputs = transform_inputs(mining / "catalog", work / "transform-input")
            with step(progress, "Batch Transform (local)", timings):
                report = transform(inputs, work / "transforms", work / "model.tar.gz", settings)
            with step(progress, "Verifying and combining (VerifyTransform)", timings):
                verified = verify(aws, router, inputs, work / "transforms", work)
            endpoint_name = aws.resolver.resolve({"Fn::Sub": "${NamePrefix}-suggester"})
        samples = {drop.key for drop in offline.drops}
        with step(progress, "Serverless endpoint (local InvokeEndpoint)", timings):
            agreeing = endpoint_agrees(
                work / "model.tar.gz", work / "suggestions.jsonl", samples, endpoint_name
            )
    if verified.error or verified.response is None:
        console.print(f"[red]The outputs could not be verified: {verified.error}[/red]")
        return 1
    checked: dict[str, Any] = verified.response
    table = summary(work, samples, exported, synthetic, report.records, report.requests, settings)
    agreed, asked = agreeing
    table.add_row(
        f"endpoint {endpoint_name}",
        f"{agreed} of {asked} sample records answered by InvokeEndpoint exactly as by Batch "
        "Transform (same model.tar.gz, same inference code); make demo now hosts it",
    )
    console.print(table)
    status = "[green]ok[/green]" if checked["ok"] else "[red]mismatches[/red]"
    console.print(
        f"Verified {checked['files']} .out files: {checked['outputs']} of {checked['records']} "
        f"lines, {checked['failed_predictions']} failed predictions, {status}; combined into "
        f"{work / 'suggestions.jsonl'} ({checked['combined_lines']} lines)"
    )
    console.print(
        "Times: "
        + ", ".join(f"{name.split(' (')[0].lower()} {s:.1f} s" for name, s in timings.items())
    )
    console.print(f"Outputs: {work}   Logs: {out / 'workflows.log'}")
    return 0 if checked["ok"] and agreed == asked else 1


RUN = "offline"


def endpoint_agrees(
    archive: Path, combined: Path, samples: set[str], endpoint_name: str
) -> tuple[int, int]:
    """Serve the model and ask the endpoint about each sample's record.

    Returns
    -------
    tuple[int, int]
        Sample records whose endpoint answer equals their Batch Transform output, and
        sample records asked.
    """
    joined = [json.loads(line) for line in combined.read_text().splitlines() if line.strip()]
    ours = [record for record in joined if record["media_id"] in samples]
    agreed = 0
    with serving({endpoint_name: archive}) as served:
        client = served.served.client()
        for record in ours:
            batch = record.pop("SageMakerOutput")
            answer = client.invoke_endpoint(
                EndpointName=endpoint_name,
                Body=json.dumps(record).encode(),
                ContentType="application/jsonlines",
                Accept="application/jsonlines",
            )["Body"].read()
            agreed += json.loads(answer) == batch
    return agreed, len(ours)


def upload(aws: LocalAws, folder: Path, prefix: str) -> str:
    """Put a folder's files under ``prefix`` of the offline bucket; return its ``s3://`` URI."""
    s3 = aws.client("s3")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if not path.name.endswith(".crc"):
            key = f"{prefix}{path.relative_to(folder).as_posix()}"
            s3.put_object(Bucket=aws.bucket, Key=key, Body=path.read_bytes())
    return f"s3://{aws.bucket}/{prefix}"


def publish(aws: LocalAws, router: Router, related: Path, archive: Path) -> Delivery:
    """Run PublishSuggestionsFunction on the mined rules, as the pipeline's task does.

    The model archive it writes is fetched to ``archive``; the catalog gets the
    suggestions.
    """
    key = f"models/label_suggester/runs/{RUN}/model.tar.gz"
    delivery = router.invoke_sync(
        "PublishSuggestionsFunction",
        {
            "related_uri": upload(aws, related, f"mining/{RUN}/related_labels/"),
            "model_data_url": f"s3://{aws.bucket}/{key}",
            "run": RUN,
        },
    )
    if not delivery.error:
        body = aws.client("s3").get_object(Bucket=aws.bucket, Key=key)["Body"].read()
        archive.write_bytes(body)
    return delivery


def verify(aws: LocalAws, router: Router, inputs: Path, outputs: Path, work: Path) -> Delivery:
    """Run VerifyTransformFunction over the transform, combining the outputs, as asked.

    The inputs and ``.out`` files go where SageMaker would have them; the combined file
    is fetched to ``work/suggestions.jsonl``.
    """
    combined = f"transforms/{RUN}/suggestions.jsonl"
    delivery = router.invoke_sync(
        "VerifyTransformFunction",
        {
            "input_uri": upload(aws, inputs, f"mining/{RUN}/catalog/"),
            "output_uri": upload(aws, outputs, f"transforms/{RUN}/out/"),
            "combine_uri": f"s3://{aws.bucket}/{combined}",
        },
    )
    if delivery.response and delivery.response.get("combined"):
        body = aws.client("s3").get_object(Bucket=aws.bucket, Key=combined)["Body"].read()
        (work / "suggestions.jsonl").write_bytes(body)
    return delivery


def summary(
    work: Path,
    samples: set[str],
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
    table.add_row(
        "exported",
        f"{exported} catalog items: {len(samples)} analysed sample files and "
        f"{synthetic} generated media",
    )
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
    taxonomy = sorted(
        ((r["label"], r.get("hierarchy") or []) for r in related if r.get("hierarchy")),
        key=lambda pair: -len(pair[1]),
    )[:4]
    table.add_row(
        "left out as Rekognition's taxonomy",
        "; ".join(f"{label} -> {', '.join(parents)}" for label, parents in taxonomy) or "nothing",
    )
    table.add_row(
        "batch transform",
        f"{records} records in {requests} requests (MaxPayloadInMB {settings.max_payload_mb:g}, "
        f"{settings.batch_strategy})",
    )
    combined = work / "suggestions.jsonl"
    lines = combined.read_text().splitlines() if combined.exists() else []
    for line in lines:
        joined = json.loads(line)
        if joined["media_id"] not in samples:
            continue
        suggestions = joined["SageMakerOutput"].get("suggestions", [])
        labels = ", ".join(label["name"] for label in joined.get("labels", [])[:3])
        said = ", ".join(f"{s['label']} ({s['confidence']:.0%})" for s in suggestions[:3])
        table.add_row(
            joined["media_id"], f"{labels or 'no labels'} -> may also show: {said or 'nothing'}"
        )
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
