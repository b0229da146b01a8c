"""`make load`: thousands of drops and a backfill against the quotas, offline, nothing lost.

The whole path runs as deployed, on this machine: the bucket's notifications go to the
ingest queue (moto), the analysis function runs in ``MaximumConcurrency`` sandboxes as
its event source mapping would (each with its own pacer), and the local Rekognition
refuses what exceeds each operation's TPS quota and, in the fault phase, injects 5xx
answers and timeouts. Model time is taken out of the way by the local service's
inference cache (the drops reuse a few images under thousands of keys), so the quotas,
not this machine's two cores, set the pace; the idle phase uses fresh images, so its
calls run the real models.

Phases: **idle** (one drop at a time: latency against the slowest call), **drops** (a
burst of distinct keys), **backfill** (objects already in the bucket, through the
backfill definition), **faults** (a burst with faults injected). For each: sustained
images per second against the binding quota's ceiling, lost keys, dead letters, billed
Rekognition calls per image and duplicates, p50/p99 drop-to-catalog latency. The report
goes to docs/load.md and the chart to docs/images/load-throughput.png.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import platform
import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medialens.ingest.sqs import REASON_ATTRIBUTE
from medialens_local.aws import LocalAws, local_aws
from medialens_local.backfill import run_backfill, upload_without_notifications
from medialens_local.rekognition.harsh import Faults, Harshness, default_quotas
from medialens_local.router import Delivery, Router, Sandboxes
from medialens_local.stack import SAMPLES, catalog_entry, delivery_keys, local_rekognition
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "load.md"
CHART = Path("images") / "load-throughput.png"
"""Relative to the report's folder, where its link points."""
LOG = ROOT / "out" / "load.log"
"""The handlers' own JSON logs of the run, as Lambda would have sent them to CloudWatch."""
FINISHED = {"ANALYSED", "REJECTED"}


@dataclass
class Phase:
    """One phase's keys, when each was dropped, and what became of it."""

    name: str
    dropped_at: dict[str, float] = field(default_factory=dict)
    done_at: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    slowest_call_s: dict[str, float] = field(default_factory=dict)
    calls_s: dict[str, float] = field(default_factory=dict)
    """Each key's Rekognition calls' durations summed: its latency had they run in turn."""
    parked: dict[str, str] = field(default_factory=dict)
    started: float = 0.0
    ended: float = 0.0

    def latencies(self) -> list[float]:
        return sorted(self.done_at[k] - self.dropped_at[k] for k in self.done_at)

    def sustained_rate(self) -> float:
        """Images per second between the 10th and 90th percentile completions."""
        times = sorted(self.done_at.values())
        if len(times) < 10:
            return len(times) / max(self.ended - self.started, 1e-9)
        low, high = times[len(times) // 10], times[len(times) * 9 // 10]
        return (len(times) * 8 // 10) / max(high - low, 1e-9)

    def calls_per_operation(self) -> dict[str, float]:
        per_operation: Counter[str] = Counter()
        for (operation, _), count in self.calls.items():
            per_operation[operation] += count
        return {op: count / max(len(self.dropped_at), 1) for op, count in per_operation.items()}

    def duplicates(self) -> int:
        return sum(count - 1 for count in self.calls.values() if count > 1)

    def lost(self) -> list[str]:
        return [key for key in self.dropped_at if self.statuses.get(key) not in FINISHED]

    @property
    def dead_lettered(self) -> int:
        return len(self.parked)


def images() -> list[tuple[str, bytes]]:
    """The sample photos and documents (JPEG/PNG), as the load's contents."""
    return [
        (path.suffix, path.read_bytes())
        for path in sorted(SAMPLES.rglob("*"))
        if path.suffix in {".jpg", ".png"} and "faces" not in path.parts
    ]


def fresh_variant(data: bytes, n: int) -> bytes:
    """The same picture under new bytes (re-encoded), so no cache has seen it."""
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(
            out, format="JPEG", quality=80 + n % 15, comment=f"load variant {n}".encode()
        )
        return out.getvalue()


def queue_empty(aws: LocalAws, sandboxes: Sandboxes) -> bool:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.resolver.ref("IngestQueue"), AttributeNames=["All"]
    )["Attributes"]
    waiting = sum(
        int(attributes[name])
        for name in (
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        )
    )
    return waiting == 0 and sandboxes.in_flight == 0


def handled(sandboxes: Sandboxes, key: str, timeout_s: float) -> None:
    """Wait until a sandbox has finished an invocation that carried ``key``.

    Watches the sandboxes' own record rather than polling the catalog, which would add
    the bench's requests to the local DynamoDB the handler is writing to.
    """
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        deliveries = sandboxes.deliveries[seen:]
        seen += len(deliveries)
        if any(key in delivery_keys(delivery) for delivery in deliveries):
            return
        time.sleep(0.01)


def settle(aws: LocalAws, sandboxes: Sandboxes, timeout_s: float) -> None:
    """Wait until the queue is empty and no sandbox is busy, twice in a row."""
    deadline = time.monotonic() + timeout_s
    calm = 0
    while calm < 2 and time.monotonic() < deadline:
        calm = calm + 1 if queue_empty(aws, sandboxes) else 0
        time.sleep(0.5)


def account(
    phase: Phase, aws: LocalAws, deliveries: Iterable[Delivery], harshness: Harshness
) -> None:
    """Fill in completions (the last delivery that handled a key), statuses and calls."""
    for delivery in deliveries:
        failed = {
            item.get("itemIdentifier")
            for item in (delivery.response or {}).get("batchItemFailures", [])
        }
        for record in delivery.event.get("Records", []):
            if record["messageId"] in failed:
                continue
            for key in delivery_keys(_one(delivery, record)):
                if key in phase.dropped_at:
                    phase.done_at[key] = max(phase.done_at.get(key, 0.0), delivery.finished)
    for key in phase.dropped_at:
        meta = catalog_entry(aws, key)
        phase.statuses[key] = meta["status"]["S"] if meta else "MISSING"
    for call in harshness.billed():
        if call.subject in phase.dropped_at:
            phase.calls[(call.operation, call.subject)] += 1
            phase.slowest_call_s[call.subject] = max(
                phase.slowest_call_s.get(call.subject, 0.0), call.duration_s
            )
            phase.calls_s[call.subject] = phase.calls_s.get(call.subject, 0.0) + call.duration_s


def parked_keys(aws: LocalAws) -> dict[str, str]:
    """Keys of the messages waiting in the ingest dead-letter queue, with why each is there.

    The reason is the one the function gave when it parked an unreadable message, or
    SQS's redrive after ``maxReceiveCount`` receives.
    """
    sqs, url = aws.client("sqs"), aws.resolver.ref("IngestDeadLetterQueue")
    keys: dict[str, str] = {}
    while messages := sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=600,
        MessageAttributeNames=["All"],
        AttributeNames=["ApproximateReceiveCount"],
    ).get("Messages", []):
        for message in messages:
            record = {"eventSource": "aws:sqs", "body": message["Body"], "messageId": ""}
            given = message.get("MessageAttributes", {}).get(REASON_ATTRIBUTE, {})
            reason = given.get("StringValue") or (
                f"received {message['Attributes'].get('ApproximateReceiveCount', '?')} times"
            )
            for key in delivery_keys(Delivery("", {"Records": [record]}, 0)):
                keys[key] = reason
    return keys


def _one(delivery: Delivery, record: dict[str, Any]) -> Delivery:
    return Delivery(function=delivery.function, event={"Records": [record]}, attempts=0)


def run(args: argparse.Namespace) -> list[Phase]:
    contents = images()
    quotas = default_quotas(args.tps)
    harshness = Harshness(quotas=quotas)
    phases: list[Phase] = []
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with (
        local_aws() as aws,
        local_rekognition(aws, harshness, cache_inference=True) as rekognition,
        LOG.open("w") as log,
        contextlib.redirect_stdout(log),
    ):
        router = Router(aws, rekognition.endpoint)
        router.drain()  # S3's test event
        # Every stand-in shares this process, so a full collection walks moto's state and
        # botocore's models too and pauses every thread (~0.2 s at ~400,000 objects),
        # which no Lambda sandbox suffers from Rekognition's heap. What the deploy made
        # lives as long as the run: out of the collector's way.
        gc.freeze()
        s3 = aws.client("s3")
        with router.sandboxes("AnalyzeMediaFunction") as sandboxes:
            idle = Phase("idle")
            idle.started = time.time()
            for n in range(args.idle):
                suffix, data = contents[n % len(contents)]
                key = f"uploads/load/idle/{n:05d}.jpg"
                body = fresh_variant(data, n)
                idle.dropped_at[key] = time.time()
                s3.put_object(Bucket=aws.bucket, Key=key, Body=body)
                handled(sandboxes, key, timeout_s=60)
                time.sleep(1.2)  # let this sandbox's pacer refill: idle means not quota-bound
            settle(aws, sandboxes, 60)
            idle.ended = time.time()
            phases.append(idle)

            for name, count, faults in (
                ("drops", args.drops, Faults()),
                ("faults", args.fault_drops, Faults.parse(args.faults)),
            ):
                if name == "faults":
                    phases.append(backfill_phase(aws, sandboxes, contents, args))
                harshness.faults = faults
                phase = Phase(name)
                phase.started = time.time()
                for n in range(count):
                    suffix, data = contents[n % len(contents)]
                    key = f"uploads/load/{name}/{n:05d}{suffix}"
                    phase.dropped_at[key] = time.time()
                    s3.put_object(Bucket=aws.bucket, Key=key, Body=data)
                settle(aws, sandboxes, args.timeout)
                phase.ended = time.time()
                harshness.faults = Faults()
                phases.append(phase)
            deliveries = list(sandboxes.deliveries)
        parked = parked_keys(aws)
        for phase in phases:
            account(phase, aws, deliveries, harshness)
            phase.parked = {key: parked[key] for key in parked.keys() & phase.dropped_at.keys()}
    return phases


def backfill_phase(
    aws: LocalAws, sandboxes: Sandboxes, contents: list[tuple[str, bytes]], args: Any
) -> Phase:
    phase = Phase("backfill")
    files = []
    folder = ROOT / "out" / "load-existing"
    folder.mkdir(parents=True, exist_ok=True)
    for n, (suffix, data) in enumerate(contents):
        path = folder / f"{n}{suffix}"
        path.write_bytes(data)
        files.append(path)
    upload_without_notifications(
        aws,
        [
            (files[n % len(files)], f"uploads/load/existing/{n:05d}{files[n % len(files)].suffix}")
            for n in range(args.backfill)
        ],
    )
    phase.started = time.time()
    run = run_backfill(aws, "uploads/load/existing/")
    phase.dropped_at = dict(run.enqueued_at)
    settle(aws, sandboxes, args.timeout)
    phase.ended = time.time()
    return phase


def report(phases: list[Phase], args: argparse.Namespace) -> str:
    lines = [
        "# Load: bulk drops and a backfill at Rekognition's quotas",
        "",
        f"Written by `make load` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{platform.machine()}, {platform.python_version()}. Every image operation has a "
        f"quota of {args.tps:g} TPS (the template's default, `RekognitionTpsQuotas`); the "
        "ingest function runs in `IngestMaxConcurrency` sandboxes. See the module docstring "
        "of bench/load.py for what is real and what is stood in.",
        "",
        "| phase | images | sustained images/s | ceiling images/s | share | lost | "
        "dead-lettered | calls per image | duplicate calls | p50 latency s | p99 latency s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for phase in phases:
        per_op = phase.calls_per_operation()
        ceiling = min((args.tps / calls for calls in per_op.values() if calls), default=0.0)
        latencies = phase.latencies() or [0.0]
        rate = phase.sustained_rate()
        lines.append(
            f"| {phase.name} | {len(phase.dropped_at)} | {rate:.2f} | {ceiling:.2f} | "
            f"{rate / ceiling:.0%} | {len(phase.lost())} | {phase.dead_lettered} | "
            f"{sum(per_op.values()):.2f} | {phase.duplicates()} | "
            f"{statistics.median(latencies):.2f} | "
            f"{latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]:.2f} |"
        )
    idle = phases[0]
    timed = [key for key in idle.done_at if idle.slowest_call_s.get(key)]
    if timed:
        latency = {key: idle.done_at[key] - idle.dropped_at[key] for key in timed}
        slowest = statistics.median(latency[key] / idle.slowest_call_s[key] for key in timed)
        in_turn = statistics.median(idle.calls_s[key] / idle.slowest_call_s[key] for key in timed)
        lines += [
            "",
            "Idle drops (one at a time, models really run): median drop-to-catalog latency is "
            f"**{slowest:.2f}x** the image's slowest Rekognition call (goal: at most 1.3x); "
            f"its calls one after another would take {in_turn:.2f}x.",
        ]
    parked = [
        (phase.name, key, why) for phase in phases for key, why in sorted(phase.parked.items())
    ]
    if parked:
        lines += ["", "Dead-lettered messages (the handlers' logs are in `out/load.log`):", ""]
        lines += [f"* {name}: `{key}`, {why}" for name, key, why in parked]
    lines += [
        "",
        f"Faults injected in the faults phase: `{args.faults}`.",
        "",
        f"![Throughput over time against the quota's ceiling]({CHART.as_posix()})",
        "",
    ]
    return "\n".join(lines)


def chart(phases: list[Phase], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 4))
    origin = min(phase.started for phase in phases)
    for phase in phases[1:]:
        times = sorted(t - origin for t in phase.done_at.values())
        if not times:
            continue
        bins = range(int(times[0]), int(times[-1]) + 6, 5)
        counts = [sum(1 for t in times if b <= t < b + 5) / 5 for b in bins]
        axes.plot(list(bins), counts, label=phase.name)
        per_op = phase.calls_per_operation()
        ceiling = min((args.tps / c for c in per_op.values() if c), default=0.0)
        axes.hlines(ceiling, times[0], times[-1], linestyles="dashed", colors="grey")
    axes.set_xlabel("seconds since the first drop")
    axes.set_ylabel("images catalogued per second (5 s bins)")
    axes.set_title("Ingest throughput against the binding quota's ceiling (dashed)")
    axes.legend()
    path = args.out.parent / CHART
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make load", description=__doc__)
    parser.add_argument("--drops", type=int, default=2000)
    parser.add_argument("--backfill", type=int, default=2000)
    parser.add_argument("--fault-drops", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=24)
    parser.add_argument("--tps", type=float, default=5.0)
    parser.add_argument("--faults", default="server_error=0.1,timeout=0.01")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    phases = run(args)
    text = report(phases, args)
    chart(phases, args)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
