"""`make demo`: the image and video pipelines end to end on this machine, no AWS account.

Starts the local AWS stand-in and the local Rekognition, drops the sample media (or a
folder of your own) into the local bucket exactly as a user would, lets the S3 events
reach the real handler, then shows what landed in the catalog and writes
``out/report.html``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from medialens_local.report import write_report
from medialens_local.stack import (
    LOCAL_MODELS,
    OUT,
    SAMPLES,
    Drop,
    ModelMissingError,
    analysed,
    catalog_entry,
    progress_bar,
    result_document,
    trained_suggester,
    video_findings,
)


def run(folder: Path, console: Console, out: Path = OUT) -> int:
    """Run the pipeline over ``folder``, report into ``out``; return the exit code.

    When ``make workflows`` has trained the suggester into ``out``, the stack hosts it
    and every image gets its suggestions.
    """
    log_path = out / "demo.log"
    started = time.perf_counter()
    hosted = trained_suggester(out)
    progress = progress_bar(console)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        progress,
        log_path.open("w") as log,
        contextlib.redirect_stdout(log),
        analysed(folder, progress, suggester=hosted) as stack,
    ):
        aws, drops = stack.aws, stack.drops
        calls = stack.suggester.runtime.ledger if stack.suggester else []
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
    if hosted is None:
        console.print(
            "No label suggestions: `make workflows` trains the suggester, then `make demo` "
            "hosts it on a local serverless endpoint."
        )
    else:
        answered = sum(call.outcome == "ok" for call in calls)
        console.print(
            f"Label suggestions: {answered} of {len(calls)} InvokeEndpoint calls answered by "
            f"the local serverless endpoint serving {hosted} (suggested, not detected)"
        )
    console.print(
        "Local models: "
        + "; ".join(f"{operation}: {model}" for operation, model in LOCAL_MODELS.items())
        + "; answers remembered by image content (one face-model run per image)"
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


def summary_table(rows: list[tuple[Drop, dict[str, Any] | None, dict[str, Any] | None]]) -> Table:
    """Build the terminal summary: one row per file."""
    table = Table(title="medialens, offline")
    columns = ("file", "status", "labels", "suggested", "text", "faces", "persons", "moderation")
    for column in (*columns, "time"):
        table.add_column(column, overflow="fold")
    for drop, meta, document in rows:
        status = meta["status"]["S"] if meta else "missing"
        if meta and status == "REJECTED":
            status = f"rejected: {meta['rejection_reason']['S']}"
        seconds = sum(d.duration_s for d in drop.deliveries)
        if document is not None and document.get("kind") == "video":
            labels, *rest = _video_cells(document)
            table.add_row(drop.key, status, labels, "-", *rest, f"{seconds:.2f} s")
            continue
        if document is None:
            table.add_row(drop.key, status, "", "", "", "", "", "", f"{seconds:.2f} s")
            continue
        labels = ", ".join(
            f"{label['name']} {label['confidence']:.0f}" for label in document["labels"][:3]
        )
        lines = [t["text"] for t in document["text"] if t["kind"] == "LINE"]
        moderation = ", ".join(m["name"] for m in document["moderation"]) or "-"
        suggested = ", ".join(s["name"] for s in document.get("suggested", [])[:3]) or "-"
        table.add_row(
            drop.key,
            status,
            labels,
            suggested,
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
