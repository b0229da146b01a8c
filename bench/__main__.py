"""`make bench`: cold start, per record, video, chatbot, sizes, offline, ML workflows.

Every ratio compares figures measured side by side in this one run (interleaved
rounds), since the machine is shared and absolute times drift. The report is written
to docs/benchmarks.md with the date and the machine: no figure is copied by hand.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import scenarios

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ("analyze_media", "analyze_image_bytes")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
RECORDS = 200


def child(target: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.cold_start_child", target],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'medialens'}"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


INIT_GOAL = 1.5
PER_RECORD_GOAL_MS = 2.0


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def cold_start() -> list[str]:
    targets = ("baseline", "baseline_clients", *FUNCTIONS)
    samples: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
    for _ in range(ROUNDS):
        for target in targets:
            samples[target].append(child(target))
    baseline = statistics.median(s["import_ms"] for s in samples["baseline"])
    with_clients = statistics.median(s["import_ms"] for s in samples["baseline_clients"])
    rows = [
        f"Cold start: median of {ROUNDS} fresh processes per row, rounds interleaved.",
        f"Goal: init at most {INIT_GOAL}x the bare `import boto3` baseline.",
        "",
        "| module | init (import) ms | init x boto3 | goal | first invocation ms "
        "| init + first ms | init + first x (boto3 + 4 clients) |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
        f"| bare `import boto3` | {baseline:.0f} | 1.00 | | | | |",
        f"| `import boto3` + Rekognition, S3, SNS, DynamoDB clients | | | | | "
        f"{with_clients:.0f} | 1.00 |",
    ]
    for function in FUNCTIONS:
        init = statistics.median(s["import_ms"] for s in samples[function])
        first = statistics.median(s["first_invoke_ms"] for s in samples[function])
        ratio = init / baseline
        rows.append(
            f"| functions/{function} | {init:.0f} | {ratio:.2f} | {verdict(ratio <= INIT_GOAL)} "
            f"| {first:.0f} | {init + first:.0f} | {(init + first) / with_clients:.2f} |"
        )
    return rows


def per_record(label: str, run: Callable[[], Any], records: int) -> tuple[str, float]:
    """Median time per record over 5 runs, after one warm-up run."""
    run()
    timings = []
    for _ in range(5):
        start = time.perf_counter()
        run()
        timings.append((time.perf_counter() - start) * 1000 / records)
    return label, statistics.median(timings)


def overhead() -> list[str]:
    """Per-record cost; logs and metrics are written to /dev/null (as costly as stdout)."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        return _overhead()


def _overhead() -> list[str]:
    from medialens.images.settings import ImageAnalysisSettings
    from medialens.images.wiring import s3_analyzer

    from bench import fake_aws
    from bench.memory_ports import memory_ports
    from tests.support.stack import load_handler

    uninstall = fake_aws.install()
    event = scenarios.s3_records(RECORDS)
    context = scenarios.context()

    in_memory = load_handler("analyze_media")
    settings = ImageAnalysisSettings.from_env()
    memory_analyzer = s3_analyzer(settings, ports=memory_ports())
    setattr(in_memory, "_analyzer", lambda _settings, _video: memory_analyzer)  # noqa: B010
    os.environ["POWERTOOLS_IDEMPOTENCY_DISABLED"] = "true"
    memory_row = per_record(
        "handler + use case, in-memory ports, no idempotency (AWS excluded)",
        lambda: in_memory.lambda_handler(event, context),
        RECORDS,
    )
    del os.environ["POWERTOOLS_IDEMPOTENCY_DISABLED"]

    fake_http = load_handler("analyze_media")
    http_row = per_record(
        "handler + boto3 adapters + idempotency, AWS answered at the HTTP layer",
        lambda: fake_http.lambda_handler(event, context),
        RECORDS,
    )
    uninstall()
    memory_verdict = verdict(memory_row[1] < PER_RECORD_GOAL_MS)
    return [
        f"Per-record time, warm, {RECORDS} records per event, median of 5 runs.",
        f"Goal: the pipeline's own work (AWS excluded) under {PER_RECORD_GOAL_MS} ms per record.",
        "",
        "| path | ms per record | goal |",
        "| --- | ---: | --- |",
        f"| {memory_row[0]} | {memory_row[1]:.3f} | {memory_verdict} |",
        f"| {http_row[0]} | {http_row[1]:.3f} | (informative: includes botocore's own work) |",
    ]


def in_own_process(module: str) -> list[str]:
    """Run a section's module in a process of its own (this one has the Lambda variables set)."""
    environment = {k: v for k, v in os.environ.items() if k not in scenarios.ENVIRONMENT}
    environment.pop("POWERTOOLS_TRACE_DISABLED", None)
    output = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return output.rstrip("\n").splitlines()


def offline() -> list[str]:
    """The offline section: the local Rekognition's overhead and the pipeline's share."""
    return in_own_process("bench.offline")


def web_chat() -> list[str]:
    """The web chat's page weight and question-to-answer time."""
    return in_own_process("bench.web_chat")


def suggester_endpoint() -> list[str]:
    """The suggester endpoint's call latency, share of the analysis, and work per record."""
    return in_own_process("bench.suggester_endpoint")


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def sizes() -> list[str]:
    rows = ["Deployment size.", "", "| artifact | size |", "| --- | ---: |"]
    for function in FUNCTIONS:
        handler = ROOT / "functions" / function / "handler.py"
        rows.append(f"| functions/{function} code | {handler.stat().st_size / 1024:.1f} KB |")
    layer = ROOT / ".aws-sam" / "build" / "MedialensLayer"
    if layer.exists():
        with tempfile.TemporaryDirectory() as scratch:
            zipped = Path(shutil.make_archive(f"{scratch}/layer", "zip", layer)).stat().st_size
        rows.append(
            f"| MedialensLayer, unzipped (`make build`) | {size_of(layer) / 2**20:.1f} MB |"
        )
        rows.append(f"| MedialensLayer, zipped | {zipped / 2**20:.1f} MB |")
    else:
        rows.append("| MedialensLayer | run `make build` first |")
    return rows


def quietly(measure: Callable[[], list[str]]) -> list[str]:
    """Run a section with the handlers' logs and metrics sent to /dev/null."""
    import logging

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        # Powertools' handler keeps the stream it was made with (an earlier, closed sink).
        for handler in logging.getLogger("medialens").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.stream = sink
        return measure()


def video_results() -> list[str]:
    """The video results handler's throughput and memory."""
    from bench.video import video

    return quietly(video)


def chatbot() -> list[str]:
    """The chatbot code hook's latency beside a bare catalog query."""
    from bench.chatbot import chatbot as measure

    return quietly(measure)


def workflows() -> list[str]:
    """Spark job throughput by size and cores; inference records/s by MaxPayloadInMB."""
    from bench.workflows import workflows as measure

    return measure()


PAGE = ROOT / "docs" / "benchmarks.md"
# Headings the other docs pages link to (benchmarks.md#cold-start, ...).
SECTIONS: tuple[tuple[str, Callable[[], list[str]]], ...] = (
    ("Cold start", cold_start),
    ("Per-record cost", overhead),
    ("Video results", video_results),
    ("Chatbot", chatbot),
    ("Package size", sizes),
    ("Offline mode", offline),
    ("Web chat", web_chat),
    ("ML workflows", workflows),
    ("Suggester endpoint", suggester_endpoint),
)


def machine() -> str:
    """Say what the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GB memory"
    return (
        f"{os.cpu_count()} CPUs ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _section(title: str, measure: Callable[[], list[str]], note: str = "") -> str:
    return f"## {title}\n\n" + note + "\n".join(measure())


def main(argv: list[str] | None = None) -> None:
    """Measure every section and write the page; or, given section titles, only those.

    A partial run replaces its sections in the existing page and dates each one, so
    the page never shows a figure under a date it was not measured on.
    """
    wanted = {name.lower() for name in (sys.argv[1:] if argv is None else argv)}
    started = datetime.now(UTC)
    if wanted:
        unknown = wanted - {title.lower() for title, _ in SECTIONS}
        if unknown:
            raise SystemExit(f"no such section: {', '.join(sorted(unknown))}")
        page = PAGE.read_text()
        for title, measure in SECTIONS:
            if title.lower() not in wanted:
                continue
            note = (
                f"Measured again on {started:%Y-%m-%d %H:%M} UTC, on {machine()}, by "
                f"`make bench ARGS=\"'{title}'\"`; the other sections are from the run "
                "the page's header names.\n\n"
            )
            start = page.index(f"## {title}\n")
            end = page.find("\n## ", start + 1)
            tail = page[end:] if end != -1 else "\n"
            page = page[:start] + _section(title, measure, note) + "\n" + tail
        print(page)
        PAGE.write_text(page)
        return
    sections = [_section(title, measure) for title, measure in SECTIONS]
    header = (
        "# Benchmarks\n\n"
        f"Written by `make bench` on {started:%Y-%m-%d %H:%M} UTC, on {machine()}. "
        "Each ratio compares figures measured side by side in this run; what each "
        "benchmark measures, and how, is in [development.md](development.md#benchmarks).\n"
    )
    report = header + "\n" + "\n\n".join(sections) + "\n"
    print(report)
    PAGE.write_text(report)


if __name__ == "__main__":
    main()
