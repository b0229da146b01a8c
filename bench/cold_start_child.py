"""One fresh process: time an import, then (for a handler) its first invocation.

Usage: python -m bench.cold_start_child baseline|baseline_clients|<function_dir>
Prints one JSON line: {"import_ms": ..., "first_invoke_ms": ...}.
"""

from __future__ import annotations

import json
import sys
import time

start = time.perf_counter()
target = sys.argv[1]

if target.startswith("baseline"):
    import boto3

    if target == "baseline_clients":
        for service in ("rekognition", "s3", "sns", "dynamodb"):
            boto3.client(service)
    print(json.dumps({"import_ms": (time.perf_counter() - start) * 1000}))
    sys.exit(0)

import importlib.util  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("handler", ROOT / "functions" / target / "handler.py")
assert spec is not None
assert spec.loader is not None
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter()

from bench import fake_aws  # noqa: E402
from bench.scenarios import context, event_for  # noqa: E402

fake_aws.install()
ready = time.perf_counter()
module.lambda_handler(event_for(target), context())
invoked = time.perf_counter()
print(
    json.dumps(
        {
            "import_ms": (imported - start) * 1000,
            "first_invoke_ms": (invoked - ready) * 1000,
        }
    )
)
