"""`make demo`: the image and video pipelines end to end on this machine, no AWS account.

Starts the local AWS stand-in and the local Rekognition, drops the sample media (or a
folder of your own) into the local bucket exactly as a user would, lets the S3 events
reach the real handler, then shows what landed in the catalog and writes
``out/report.html``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medialens_local.aws import LocalAws, collection_ids, local_aws
from medialens_local.loopback import Served
from medialens_local.rekognition.protocol import serve
from medialens_local.rekognition.service import LocalRekognition
from medialens_local.rekognition.video import LocalVideo
from medialens_local.report import write_report
from medialens_local.router import Delivery, Router
from medialens_local.template import ROOT

SAMPLES = ROOT / "samples"
OUT = ROOT / "out"
FACES_DIR = "faces"
VIDEO_TIMEOUT_S = 600.0
LOCAL_MODELS = {
    "DetectLabels": "EfficientNet-Lite0 (ImageNet-1k) + dlib faces for Person",
    "DetectText": "RapidOCR (PP-OCR)",
    "DetectFaces": "dlib HOG + 5-point landmarks (no age, emotions or other attributes)",
    "DetectModerationLabels": "open_nsfw ('Explicit' only)",
    "IndexFaces / SearchFaces*": "dlib ResNet 128-d embeddings",
    "Start*/Get* (video)": "the same models on 2 frames per second; shots by colour histogram",
}


class ModelMissingError(RuntimeError):
    """A local model's package is missing or broken."""


@dataclass
class Drop:
    """One local file and the key it is uploaded under."""

    path: Path
    key: str
    deliveries: list[Delivery] = field(default_factory=list)


def plan_drops(folder: Path, uploads_prefix: str, faces_prefix: str) -> list[Drop]:
    """Files under ``<folder>/faces/<person>/`` become face references, the rest uploads."""
    drops = []
    files = (p for p in folder.rglob("*") if p.is_file())
    for path in sorted(files):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        relative = path.relative_to(folder).as_posix()
        if relative.startswith(f"{FACES_DIR}/"):
            key = faces_prefix + relative.removeprefix(f"{FACES_DIR}/")
        else:
            key = uploads_prefix + relative.removeprefix("uploads/")
        drops.append(Drop(path=path, key=key))
    return drops


@dataclass
class LocalRekognitionService:
    """The running local Rekognition: image operations and video jobs on one endpoint."""

    served: Served
    video: LocalVideo

    @property
    def endpoint(self) -> str:
        """Where boto3 reaches it (``AWS_ENDPOINT_URL_REKOGNITION``)."""
        return self.served.endpoint

    def client(self, **options: Any) -> Any:
        """Create a boto3 Rekognition client for it."""
        return self.served.client(**options)


@contextlib.contextmanager
def local_rekognition(aws: LocalAws) -> Iterator[LocalRekognitionService]:
    """Serve the local Rekognition and create the template's face collections in it.

    Video jobs publish their completion messages to the local SNS, as Rekognition does.
    """
    service = LocalRekognition(aws.read_object)
    sns = aws.client("sns")

    def publish(topic_arn: str, message: str) -> None:
        sns.publish(TopicArn=topic_arn, Message=message)

    video = LocalVideo(aws.read_object, publish, service.collections)
    served = serve(service.operations() | video.operations())
    try:
        for collection_id in collection_ids(aws):
            service.create_collection({"CollectionId": collection_id})
        yield LocalRekognitionService(served=served, video=video)
    finally:
        video.shutdown()
        served.stop()


def warm_models(progress: Progress) -> None:
    """Load every model once, so the per-file times are inference, not loading."""
    from medialens_local.rekognition.engines.faces import face_engine
    from medialens_local.rekognition.engines.labels import label_engine
    from medialens_local.rekognition.engines.moderation import moderation_engine
    from medialens_local.rekognition.engines.text import text_engine

    loaders = [
        ("text (RapidOCR)", text_engine),
        ("faces (dlib)", face_engine),
        ("labels (EfficientNet-Lite0)", label_engine),
        ("moderation (open_nsfw)", moderation_engine),
    ]
    task = progress.add_task("Loading local models", total=len(loaders))
    for name, load in loaders:
        progress.update(task, description=f"Loading {name}")
        try:
            load()
        except (ImportError, RuntimeError, OSError) as error:
            raise ModelMissingError(
                f"the local model for {name} cannot load ({error}); "
                "`make venv` installs the model packages"
            ) from error
        progress.advance(task)


def catalog_entry(aws: LocalAws, key: str) -> dict[str, Any] | None:
    """Read a media item's META entry from the local catalog."""
    table = aws.resolver.ref("CatalogTable")
    response = aws.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"MEDIA#{key}"}, "sk": {"S": "META"}}
    )
    item: dict[str, Any] | None = response.get("Item")
    return item


def result_document(aws: LocalAws, key: str) -> dict[str, Any] | None:
    """Read ``results/<key>.json`` from the local bucket, if it was written."""
    s3 = aws.client("s3")
    try:
        body = s3.get_object(Bucket=aws.bucket, Key=f"results/{key}.json")["Body"]
    except s3.exceptions.NoSuchKey:
        return None
    document: dict[str, Any] = json.loads(body.read())
    return document


def video_findings(aws: LocalAws, key: str) -> dict[str, Any] | None:
    """Collect a video's catalog terms (with the seconds they were seen) and its duration."""
    meta = catalog_entry(aws, key)
    if meta is None or meta.get("media_type", {}).get("S") != "video":
        return None
    items = aws.client("dynamodb").query(
        TableName=aws.resolver.ref("CatalogTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"MEDIA#{key}"}},
    )["Items"]
    terms: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if "seen_seconds" not in item:
            continue
        kind = item["sk"]["S"].split("#", 1)[0]
        terms.setdefault(kind, []).append(
            {
                "value": item["value"]["S"],
                "confidence": float(item["confidence"]["N"]),
                "seconds": sorted(int(n) for n in item["seen_seconds"]["NS"]),
            }
        )
    for found in terms.values():
        found.sort(key=lambda term: -float(term["confidence"]))
    duration_ms = 0
    s3 = aws.client("s3")
    for api in ("label_detection", "segment_detection", "text_detection"):
        with contextlib.suppress(s3.exceptions.NoSuchKey):
            page = s3.get_object(Bucket=aws.bucket, Key=f"results/{key}/{api}/page-00001.json")
            metadata = json.loads(page["Body"].read()).get("VideoMetadata", {})
            duration_ms = int(metadata.get("DurationMillis", 0))
            break
    return {
        "kind": "video",
        "terms": terms,
        "jobs": {name: value["S"] for name, value in meta.get("jobs", {}).get("M", {}).items()},
        "duration_s": duration_ms / 1000,
        "flagged": bool(meta.get("flagged", {}).get("BOOL", False)),
    }


def videos_settled(aws: LocalAws, keys: list[str]) -> bool:
    """Whether every video's jobs have ended (its catalog status left IN_PROGRESS)."""
    for key in keys:
        meta = catalog_entry(aws, key)
        if meta is not None and meta["status"]["S"] == "IN_PROGRESS":
            return False
    return True


@dataclass
class OfflineStack:
    """The local stack after the drops were analysed: AWS stand-in, router and drops."""

    aws: LocalAws
    router: Router
    drops: list[Drop]


@contextlib.contextmanager
def analysed(folder: Path, progress: Progress) -> Iterator[OfflineStack]:
    """Start the local stack, drop every file of ``folder`` and wait until all are analysed.

    The stack stays up inside the ``with`` block (the chat asks its catalog questions).
    """
    stack_task = progress.add_task("Starting local AWS from template.yaml", total=1)
    with local_aws() as aws:
        progress.advance(stack_task)
        warm_models(progress)
        with local_rekognition(aws) as rekognition:
            router = Router(aws, rekognition.endpoint)
            env = aws.resolver.function_environment("AnalyzeMediaFunction")
            drops = plan_drops(folder, env["UPLOADS_PREFIX"], env["FACES_PREFIX"])
            by_key = {drop.key: drop for drop in drops}
            task = progress.add_task("Analysing", total=len(drops))
            s3 = aws.client("s3")
            # Reference faces first, so the uploads can be matched against them.
            for group in (
                [d for d in drops if d.key.startswith(env["FACES_PREFIX"])],
                [d for d in drops if not d.key.startswith(env["FACES_PREFIX"])],
            ):
                for drop in group:
                    progress.update(task, description=f"Analysing {drop.path.name}")
                    s3.put_object(Bucket=aws.bucket, Key=drop.key, Body=drop.path.read_bytes())
                    for delivery in router.drain(expected=1):
                        for record_key in _keys(delivery):
                            if record_key in by_key:
                                by_key[record_key].deliveries.append(delivery)
                    progress.advance(task)
            videos = [
                drop.key
                for drop in drops
                if (meta := catalog_entry(aws, drop.key)) and "media_type" in meta
            ]
            if videos:
                progress.update(task, description=f"Waiting for {len(videos)} video(s)")
                for delivery in router.drain(
                    until=lambda: videos_settled(aws, videos), timeout_s=VIDEO_TIMEOUT_S
                ):
                    for record_key in _keys(delivery):
                        if record_key in by_key:
                            by_key[record_key].deliveries.append(delivery)
            yield OfflineStack(aws=aws, router=router, drops=drops)


def progress_bar(console: Console, *, transient: bool = False) -> Progress:
    """Make the progress display of the offline commands: step, bar, count, time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def run(folder: Path, console: Console, out: Path = OUT) -> int:
    """Run the pipeline over ``folder``, report into ``out``; return the exit code."""
    log_path = out / "demo.log"
    started = time.perf_counter()
    progress = progress_bar(console)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        progress,
        log_path.open("w") as log,
        contextlib.redirect_stdout(log),
        analysed(folder, progress) as stack,
    ):
        aws, drops = stack.aws, stack.drops
        rows = [
            (
                drop,
                catalog_entry(aws, drop.key),
                video_findings(aws, drop.key) or result_document(aws, drop.key),
            )
            for drop in drops
        ]
    unfinished = {"IN_PROGRESS", "PARTIAL", "FAILED"}
    failed = [
        drop
        for drop, meta, _ in rows
        if not drop.deliveries
        or any(d.error for d in drop.deliveries)
        or (meta is not None and meta["status"]["S"] in unfinished)
    ]
    console.print(summary_table(rows))
    report = write_report(rows, out / "report.html")
    console.print(f"Report: {report}   Handler logs: {log_path}")
    console.print(
        "Local models: "
        + "; ".join(f"{operation}: {model}" for operation, model in LOCAL_MODELS.items())
    )
    statuses = {drop.key: meta["status"]["S"] for drop, meta, _ in rows if meta is not None}
    for drop in failed:
        errors = [d.error for d in drop.deliveries if d.error] or [
            f"video analysis {statuses[drop.key].lower()}"
            if drop.key in statuses
            else "no event was delivered"
        ]
        console.print(f"[red]FAILED[/red] {drop.key}: {errors[-1]}")
    console.print(f"{len(drops)} files in {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


def _keys(delivery: Delivery) -> list[str]:
    """Keys of the media an S3 event or a Rekognition completion message is about."""
    from urllib.parse import unquote_plus

    keys = []
    for record in delivery.event.get("Records", []):
        if "s3" in record:
            keys.append(unquote_plus(record["s3"]["object"]["key"]))
        elif "Sns" in record:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                keys.append(json.loads(record["Sns"]["Message"])["Video"]["S3ObjectName"])
    return keys


def summary_table(rows: list[tuple[Drop, dict[str, Any] | None, dict[str, Any] | None]]) -> Table:
    """Build the terminal summary: one row per file."""
    table = Table(title="medialens, offline")
    for column in ("file", "status", "labels", "text", "faces", "persons", "moderation", "time"):
        table.add_column(column, overflow="fold")
    for drop, meta, document in rows:
        status = meta["status"]["S"] if meta else "missing"
        if meta and status == "REJECTED":
            status = f"rejected: {meta['rejection_reason']['S']}"
        seconds = sum(d.duration_s for d in drop.deliveries)
        if document is not None and document.get("kind") == "video":
            table.add_row(drop.key, status, *_video_cells(document), f"{seconds:.2f} s")
            continue
        if document is None:
            table.add_row(drop.key, status, "", "", "", "", "", f"{seconds:.2f} s")
            continue
        labels = ", ".join(
            f"{label['name']} {label['confidence']:.0f}" for label in document["labels"][:3]
        )
        lines = [t["text"] for t in document["text"] if t["kind"] == "LINE"]
        moderation = ", ".join(m["name"] for m in document["moderation"]) or "-"
        table.add_row(
            drop.key,
            status,
            labels,
            " / ".join(lines)[:60],
            str(len(document["faces"])),
            ", ".join(document["persons"]) or "-",
            "FLAGGED: " + moderation if document["flagged"] else moderation,
            f"{seconds:.2f} s",
        )
    return table


def _video_cells(document: dict[str, Any]) -> tuple[str, str, str, str, str]:
    terms = document["terms"]

    def top(kind: str, count: int) -> list[dict[str, Any]]:
        return list(terms.get(kind, []))[:count]

    labels = ", ".join(
        f"{t['value']} {t['seconds'][0]}-{t['seconds'][-1]}s" for t in top("LABEL", 3)
    )
    words = " ".join(t["value"] for t in top("WORD", 6))
    faces = str(sum(len(t["seconds"]) for t in top("LABEL", 100) if t["value"] == "Face"))
    persons = ", ".join(t["value"] for t in top("PERSON", 5)) or "-"
    moderation = ", ".join(t["value"] for t in top("MODERATION", 3)) or "-"
    if document["flagged"]:
        moderation = "FLAGGED: " + moderation
    return labels, words, f"{faces} face-seconds", persons, moderation


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make demo`` (``ARGS=path/to/folder`` analyses your own images)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    args = parser.parse_args(argv)
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    if not args.folder.is_dir():
        console.print(f"[red]{args.folder} is not a folder[/red]")
        return 2
    try:
        return run(args.folder.resolve(), console)
    except ModelMissingError as error:
        console.print(f"[red]{error}[/red]")
        return 3


if __name__ == "__main__":
    sys.exit(main())
