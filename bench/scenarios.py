"""Environment, events and context shared by the benchmarks."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from typing import Any

from tests.support.images import png_bytes
from tests.support.stack import ROOT, function_environment, s3_event

# What the Lambda runtime sets. LAMBDA_TASK_ROOT matters: outside Lambda the X-Ray SDK
# builds a sampling client at import (about 200 ms here) that it never builds in Lambda.
ENVIRONMENT = {
    "LAMBDA_TASK_ROOT": str(ROOT / "functions"),
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "_X_AMZN_TRACE_ID": (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    ),
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "medialens-bench",
}


def configure() -> None:
    """Set the runtime's variables and the function environment from template.yaml."""
    os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)
    os.environ.update(ENVIRONMENT)
    os.environ.update(
        function_environment(
            {
                "CatalogTable": "medialens-catalog",
                "IdempotencyTable": "medialens-idempotency",
                "AlertsTopic": "arn:aws:sns:eu-west-1:123456789012:medialens-alerts",
                "FaceCollection": "medialens-faces",
            }
        )
    )


configure()


@dataclass
class Context:
    function_name: str = "medialens-bench"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:medialens-bench"
    aws_request_id: str = "bench-request"

    def get_remaining_time_in_millis(self) -> int:
        return 55_000


def context() -> Context:
    return Context()


def s3_records(count: int, prefix: str = "uploads/bench") -> dict[str, Any]:
    """One notification naming ``count`` distinct objects."""
    records = [
        s3_event("medialens-media", f"{prefix}/{n:05d} photo.jpg", 245_761, f"{n:032x}", f"v{n}")[
            "Records"
        ][0]
        for n in range(count)
    ]
    return {"Records": records}


def event_for(function_dir: str) -> dict[str, Any]:
    if function_dir == "analyze_image_bytes":
        return {"image_base64": base64.b64encode(png_bytes(32, 32)).decode(), "name": "bench"}
    event: dict[str, Any] = json.loads((ROOT / "events" / "s3_put_upload.json").read_text())
    return event
