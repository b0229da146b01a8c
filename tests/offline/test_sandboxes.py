"""The ingest queue's event source mapping, run as Lambda runs it: long-polling sandboxes."""

from __future__ import annotations

import time

from medialens_local.aws import local_aws
from medialens_local.rekognition.harsh import Harshness, default_quotas
from medialens_local.router import Router
from medialens_local.stack import SAMPLES, catalog_entry, delivery_keys, local_rekognition

DROPS = 8


def test_a_burst_of_drops_is_analysed_by_at_most_maximum_concurrency_sandboxes() -> None:
    photo = next((SAMPLES / "uploads" / "pets").glob("*.jpg")).read_bytes()
    with (
        local_aws() as aws,
        local_rekognition(
            aws, Harshness(quotas=default_quotas(1000.0)), cache_inference=True
        ) as rekognition,
    ):
        router = Router(aws, rekognition.endpoint)
        router.drain()  # S3's test event
        [source] = aws.functions["AnalyzeMediaFunction"].queue_sources
        keys = [f"uploads/burst/{n}.jpg" for n in range(DROPS)]
        with router.sandboxes("AnalyzeMediaFunction") as sandboxes:
            for key in keys:
                aws.client("s3").put_object(Bucket=aws.bucket, Key=key, Body=photo)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and any(
                catalog_entry(aws, key) is None for key in keys
            ):
                time.sleep(0.2)
        statuses = {key: (catalog_entry(aws, key) or {}).get("status", {}).get("S") for key in keys}
        assert statuses == dict.fromkeys(keys, "ANALYSED")
        assert 1 <= sandboxes.most_in_flight <= (source.max_concurrency or 0)
        handled = [key for delivery in sandboxes.deliveries for key in delivery_keys(delivery)]
        assert sorted(handled) == sorted(keys)
