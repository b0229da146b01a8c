"""`make backfill`: analyse what is already in the bucket, through the paced ingest queue.

Uploads a folder into the local bucket *without* notifications (objects that were there
before the stack), then runs the template's backfill state machine: a Distributed Map
whose ItemReader lists the prefix and whose child workflow sends each object to the
ingest queue. moto's Step Functions interpreter has no Distributed Map, so
:func:`run_backfill` executes this one definition itself: the Settings pass state, the
ItemReader's listing, the ItemSelector, MaxConcurrency child sends with the task's
Retry, and ToleratedFailurePercentage. It refuses any other shape rather than guess.
The analysis then runs in the function's sandboxes, as Lambda's event source mapping
would run it; a second backfill of the same prefix skips everything already catalogued.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from medialens_local.aws import LocalAws
from medialens_local.template import ROOT

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
STRING_TO_JSON = re.compile(r"^States\.StringToJson\('(.*)'\)$")


class UnsupportedDefinitionError(ValueError):
    """The backfill definition uses something this runner does not execute."""


@dataclass
class BackfillRun:
    """How a backfill ended: items listed, enqueued, failed, and whether it succeeded."""

    listed: int = 0
    enqueued: int = 0
    failed: int = 0
    succeeded: bool = True
    enqueued_at: dict[str, float] = field(default_factory=dict)


def rendered_definition(aws: LocalAws, logical_id: str = "BackfillStateMachine") -> dict[str, Any]:
    """Render the state machine's definition with its DefinitionSubstitutions applied."""
    properties = aws.resolver.template["Resources"][logical_id]["Properties"]
    text = (ROOT / properties["DefinitionUri"]).read_text()
    values = {
        name: aws.resolver.resolve(value)
        for name, value in properties.get("DefinitionSubstitutions", {}).items()
    }
    document: dict[str, Any] = json.loads(PLACEHOLDER.sub(lambda m: values[m.group(1)], text))
    return document


def _path(expression: str, data: Any, context: dict[str, Any]) -> Any:
    """Evaluate the JSONPath forms the definition uses: ``$.a.b`` and ``$$.Map.Item.Value.X``."""
    if match := STRING_TO_JSON.match(expression):
        return json.loads(match.group(1))
    root, rest = (context, expression[3:]) if expression.startswith("$$.") else (data, "")
    if not rest:
        if expression == "$":
            return data
        if not expression.startswith("$."):
            raise UnsupportedDefinitionError(f"path {expression!r}")
        rest = expression[2:]
    value = root
    for part in rest.split("."):
        value = value[part]
    return value


def _parameters(template: dict[str, Any], data: Any, context: dict[str, Any]) -> dict[str, Any]:
    return {
        (name[:-2] if name.endswith(".$") else name): (
            _path(value, data, context) if name.endswith(".$") else value
        )
        for name, value in template.items()
    }


def run_backfill(
    aws: LocalAws,
    prefix: str,
    *,
    on_item: Callable[[int, int], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillRun:
    """Execute the backfill definition for ``{"prefix": prefix}`` against the local stack.

    Parameters
    ----------
    aws : LocalAws
    prefix : str
        The key prefix to backfill.
    on_item : Callable[[int, int], None], optional
        Called with (done, listed) after each item, for progress.

    Raises
    ------
    UnsupportedDefinitionError
        When the definition is not the shape this runner executes.
    """
    definition = rendered_definition(aws)
    states = definition["States"]
    settings = states[definition["StartAt"]]
    if settings["Type"] != "Pass":
        raise UnsupportedDefinitionError("the first state must be the Settings pass state")
    data = _parameters(settings["Parameters"], {"prefix": prefix}, {})
    mapping = states[settings["Next"]]
    reader = mapping["ItemReader"]
    if mapping["Type"] != "Map" or reader["Resource"] != "arn:aws:states:::s3:listObjectsV2":
        raise UnsupportedDefinitionError("expected a Map over an S3 listing")
    processor = mapping["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    if task["Resource"] != "arn:aws:states:::sqs:sendMessage" or not task.get("End"):
        raise UnsupportedDefinitionError("expected one SQS SendMessage task per item")
    listing = _parameters(reader["Parameters"], data, {})
    max_concurrency = int(_path(mapping["MaxConcurrencyPath"], data, {}))
    tolerated = float(_path(mapping["ToleratedFailurePercentagePath"], data, {}))
    [retry] = task.get("Retry", [{"MaxAttempts": 0}])

    s3, sqs = aws.client("s3"), aws.client("sqs")
    items = [
        item
        for page in s3.get_paginator("list_objects_v2").paginate(**listing)
        for item in page.get("Contents", [])
    ]
    run = BackfillRun(listed=len(items))

    def child(item: dict[str, Any]) -> bool:
        context = {"Map": {"Item": {"Value": _s3_item(item)}}}
        selected = _parameters(mapping["ItemSelector"], data, context)
        parameters = _parameters(task["Parameters"], selected, context)
        body = parameters["MessageBody"]
        for attempt in range(int(retry["MaxAttempts"]) + 1):
            try:
                sqs.send_message(
                    QueueUrl=parameters["QueueUrl"],
                    MessageBody=body if isinstance(body, str) else json.dumps(body),
                )
            except Exception:  # noqa: BLE001 - States.TaskFailed, retried as the definition says
                sleep(float(retry["IntervalSeconds"]) * float(retry["BackoffRate"]) ** attempt)
            else:
                run.enqueued_at[str(item["Key"])] = time.time()
                return True
        return False

    with ThreadPoolExecutor(max_workers=max(1, min(max_concurrency, 32))) as children:
        for done, ok in enumerate(children.map(child, items), start=1):
            run.enqueued += ok
            run.failed += not ok
            if on_item is not None:
                on_item(done, run.listed)
    run.succeeded = run.listed == 0 or 100 * run.failed / run.listed <= tolerated
    return run


def _s3_item(item: dict[str, Any]) -> dict[str, Any]:
    """Shape a listed object as the S3 ItemReader hands it over (ListObjectsV2 fields)."""
    return {
        "Key": item["Key"],
        "Size": item["Size"],
        "Etag": item["ETag"],
        "LastModified": str(item["LastModified"]),
        "StorageClass": item.get("StorageClass", "STANDARD"),
    }


def upload_without_notifications(aws: LocalAws, files: list[tuple[Path, str]]) -> None:
    """Put objects as if they predated the stack: the bucket's notifications are off meanwhile."""
    s3 = aws.client("s3")
    saved = s3.get_bucket_notification_configuration(Bucket=aws.bucket)
    saved.pop("ResponseMetadata", None)
    s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration={})
    try:
        for path, key in files:
            s3.put_object(Bucket=aws.bucket, Key=key, Body=path.read_bytes())
    finally:
        s3.put_bucket_notification_configuration(Bucket=aws.bucket, NotificationConfiguration=saved)


def catalogued(aws: LocalAws, keys: list[str], timeout_s: float) -> bool:
    """Wait until every key has a catalog entry; ``False`` if ``timeout_s`` passes first."""
    from medialens_local.stack import catalog_entry

    deadline = time.monotonic() + timeout_s
    waiting = list(keys)
    while waiting and time.monotonic() < deadline:
        waiting = [key for key in waiting if catalog_entry(aws, key) is None]
        if waiting:
            time.sleep(0.2)
    return not waiting


def main(argv: list[str] | None = None) -> int:
    """Upload a folder as pre-existing objects, backfill it twice, and report."""
    from medialens_local.aws import local_aws
    from medialens_local.router import Router
    from medialens_local.stack import (
        OUT,
        SAMPLES,
        VIDEO_TIMEOUT_S,
        catalog_entry,
        local_rekognition,
        plan_drops,
        progress_bar,
        videos_settled,
        warm_models,
    )

    parser = argparse.ArgumentParser(prog="make backfill", description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    args = parser.parse_args(argv)
    console = Console()
    OUT.mkdir(exist_ok=True)
    lines = []
    with (
        progress_bar(console) as progress,
        (OUT / "backfill.log").open("w") as log,
        contextlib.redirect_stdout(log),
        local_aws() as aws,
    ):
        warm_models(progress)
        with local_rekognition(aws, cache_inference=True) as rekognition:
            env = aws.resolver.function_environment("AnalyzeMediaFunction")
            drops = plan_drops(args.folder, env["UPLOADS_PREFIX"], env["FACES_PREFIX"])
            upload_without_notifications(aws, [(drop.path, drop.key) for drop in drops])
            router = Router(aws, rekognition.endpoint)
            keys = [drop.key for drop in drops]
            for label in ("first", "second"):
                billed_before = len(rekognition.harshness.billed())
                task = progress.add_task(f"Backfill, {label} run", total=len(keys))
                runs = []
                with router.sandboxes("AnalyzeMediaFunction"):
                    # Reference faces first, so that the uploads can be matched to them.
                    for prefix in (env["FACES_PREFIX"], env["UPLOADS_PREFIX"]):
                        runs.append(run_backfill(aws, prefix))
                        wanted = [key for key in keys if key.startswith(prefix)]
                        if not catalogued(aws, wanted, timeout_s=600):
                            lines.append(f"[red]{label} run: not every {prefix} key was catalogued")
                        progress.update(task, advance=len(wanted))
                videos = [
                    key
                    for key in keys
                    if (meta := catalog_entry(aws, key)) and "media_type" in meta
                ]
                router.drain(
                    until=functools.partial(videos_settled, aws, videos), timeout_s=VIDEO_TIMEOUT_S
                )
                billed = len(rekognition.harshness.billed()) - billed_before
                lines.append(
                    f"{label} run: {sum(r.listed for r in runs)} objects listed, "
                    f"{sum(r.enqueued for r in runs)} enqueued, "
                    f"{sum(r.failed for r in runs)} failed to enqueue, "
                    f"{billed} Rekognition image calls"
                    + ("" if all(r.succeeded for r in runs) else " [red](backfill FAILED)")
                )
            table = Table("key", "status", "note")
            for key in keys:
                meta = catalog_entry(aws, key) or {}
                table.add_row(
                    key,
                    meta.get("status", {}).get("S", "MISSING"),
                    meta.get("rejection_reason", {}).get("S", ""),
                )
    console.print(table)
    for line in lines:
        console.print(line)
    console.print(f"Handler logs: {OUT / 'backfill.log'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
