"""The offline stack as a library: local AWS, the local Rekognition, the samples analysed.

``make demo``, ``make chat`` and ``make workflows`` are commands over it (``demo``,
``chat``, ``workflows``); the tests and the benchmarks use it directly.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from medialens_local.aws import LocalAws, collection_ids, local_aws
from medialens_local.loopback import Served
from medialens_local.rekognition.harsh import Harshness, default_quotas
from medialens_local.rekognition.protocol import serve
from medialens_local.rekognition.service import LocalRekognition
from medialens_local.rekognition.video import LocalVideo
from medialens_local.router import Delivery, Router
from medialens_local.sagemaker_runtime import EndpointBehaviour, ServedEndpoints, serving
from medialens_local.template import ROOT

SAMPLES = ROOT / "samples"


OUT = ROOT / "out"


SUGGESTER_ARCHIVE = OUT / "workflows" / "model.tar.gz"
"""The label suggester ``make workflows`` trains; the offline stack hosts it when present."""

HOSTING = "SuggesterHosting"


def trained_suggester(out: Path = OUT) -> Path | None:
    """Find the suggester ``make workflows`` trained into ``out``, if it has run."""
    archive = out / SUGGESTER_ARCHIVE.relative_to(OUT)
    return archive if archive.exists() else None


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
    harshness: Harshness

    @property
    def endpoint(self) -> str:
        """Where boto3 reaches it (``AWS_ENDPOINT_URL_REKOGNITION``)."""
        return self.served.endpoint

    def client(self, **options: Any) -> Any:
        """Create a boto3 Rekognition client for it."""
        return self.served.client(**options)


@contextlib.contextmanager
def local_rekognition(
    aws: LocalAws, harshness: Harshness | None = None, *, cache_inference: bool = False
) -> Iterator[LocalRekognitionService]:
    """Serve the local Rekognition and create the template's face collections in it.

    Video jobs publish their completion messages to the local SNS, as Rekognition does.
    Unless told otherwise, every image operation has the template's default TPS quota
    (``harsh.default_quotas``), and no faults are injected. ``cache_inference`` keeps
    model answers by image content (for load runs, where model time would dominate).
    """
    harshness = harshness or Harshness(quotas=default_quotas())
    service = LocalRekognition(aws.read_object, cache_inference=cache_inference)
    sns = aws.client("sns")

    def publish(topic_arn: str, message: str) -> None:
        sns.publish(TopicArn=topic_arn, Message=message)

    video = LocalVideo(aws.read_object, publish, service.collections)
    served = serve(harshness.wrap(service.operations() | video.operations()))
    try:
        for collection_id in collection_ids(aws):
            service.create_collection({"CollectionId": collection_id})
        yield LocalRekognitionService(served=served, video=video, harshness=harshness)
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


def media_with_term(aws: LocalAws, term: str) -> list[str]:
    """Media ids the catalog's ``ByTerm`` index lists under ``term`` (``LABEL#cat``), sorted."""
    response = aws.client("dynamodb").query(
        TableName=aws.resolver.ref("CatalogTable"),
        IndexName="ByTerm",
        KeyConditionExpression="gsi1pk = :term",
        ExpressionAttributeValues={":term": {"S": term}},
    )
    return sorted(item["media_id"]["S"] for item in response["Items"])


def media_of_person(aws: LocalAws, person_id: str) -> list[str]:
    """Media ids the catalog's ``ByTerm`` index lists under ``PERSON#<person_id>``."""
    return media_with_term(aws, f"PERSON#{person_id.lower()}")


def erasure_audit(aws: LocalAws) -> list[dict[str, Any]]:
    """Read the catalog's erasure audit records, oldest first."""
    response = aws.client("dynamodb").query(
        TableName=aws.resolver.ref("CatalogTable"),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "AUDIT#ERASURE"}},
    )
    return [
        {name: next(iter(value.values())) for name, value in item.items()}
        for item in response["Items"]
    ]


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
    suggester: ServedEndpoints | None = None


def hosting_parameters(archive: Path | None) -> dict[str, str]:
    """Choose the stack's parameters: the suggester hosted serverless when there is a model."""
    return {HOSTING: "Serverless"} if archive is not None else {}


@contextlib.contextmanager
def suggester_endpoint(
    aws: LocalAws, archive: Path | None, behaviour: EndpointBehaviour | None = None
) -> Iterator[ServedEndpoints | None]:
    """Serve ``archive`` as the endpoint the analysis functions call, if the stack hosts one.

    The endpoint's name is the one the template gives the functions (``SUGGESTER_ENDPOINT``);
    its concurrency limit is the template's ``SuggesterMaxConcurrency``.
    """
    name = aws.resolver.function_environment("AnalyzeMediaFunction")["SUGGESTER_ENDPOINT"]
    if archive is None or not name:
        yield None
        return
    limits = behaviour or EndpointBehaviour(
        max_concurrency=int(aws.resolver.ref("SuggesterMaxConcurrency"))
    )
    with serving({name: archive}, limits) as served:
        yield served


def service_endpoints(suggester: ServedEndpoints | None) -> dict[str, str]:
    """Name the handlers' endpoint variables for the stand-ins besides S3 and Rekognition."""
    return {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": suggester.endpoint} if suggester else {}


@contextlib.contextmanager
def analysed(
    folder: Path, progress: Progress, *, suggester: Path | None = None
) -> Iterator[OfflineStack]:
    """Start the local stack, drop every file of ``folder`` and wait until all are analysed.

    The stack stays up inside the ``with`` block (the chat asks its catalog questions).
    With ``suggester`` (a ``model.tar.gz``), the stack hosts the label suggester on a
    local serverless endpoint, as ``SuggesterHosting=Serverless`` deploys it.
    """
    stack_task = progress.add_task("Starting local AWS from template.yaml", total=1)
    with local_aws(parameters=hosting_parameters(suggester)) as aws:
        progress.advance(stack_task)
        warm_models(progress)
        # One image's DetectLabels, DetectFaces and SearchFacesByImage share one face-model
        # run (the answers are the model's, remembered by image content).
        with (
            local_rekognition(aws, cache_inference=True) as rekognition,
            suggester_endpoint(aws, suggester) as endpoint,
        ):
            router = Router(aws, rekognition.endpoint, service_endpoints(endpoint))
            router.drain()  # S3's test event, sent when the bucket's notifications were set
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
                        for record_key in delivery_keys(delivery):
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
                    for record_key in delivery_keys(delivery):
                        if record_key in by_key:
                            by_key[record_key].deliveries.append(delivery)
            yield OfflineStack(aws=aws, router=router, drops=drops, suggester=endpoint)


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


def delivery_keys(delivery: Delivery) -> list[str]:
    """Keys of the media an S3 event or a Rekognition completion message is about."""
    from urllib.parse import unquote_plus

    keys = []
    for record in delivery.event.get("Records", []):
        if "s3" in record:
            keys.append(unquote_plus(record["s3"]["object"]["key"]))
        elif record.get("eventSource") == "aws:sqs":
            with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
                body = json.loads(record["body"])
                if "Records" in body:
                    keys.extend(
                        unquote_plus(r["s3"]["object"]["key"]) for r in body["Records"] if "s3" in r
                    )
                elif "key" in body:  # a backfill request names its key as it is
                    keys.append(str(body["key"]))
        elif "Sns" in record:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                keys.append(json.loads(record["Sns"]["Message"])["Video"]["S3ObjectName"])
    return keys
