"""Write the environment `sam local invoke` needs to run against a deployed stack.

Usage: python scripts/local_env.py STACK_NAME OUTPUT_PATH

`sam local invoke` cannot resolve the template's !Ref to deployed resources, so the
functions would start without their table, topic and collection names. This reads
the stack's outputs and writes an --env-vars file for both functions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import boto3

FUNCTIONS = ("AnalyzeMediaFunction", "AnalyzeImageBytesFunction")
VARIABLES = {
    "CATALOG_TABLE": "CatalogTableName",
    "IDEMPOTENCY_TABLE": "IdempotencyTableName",
    "RESULTS_BUCKET": "MediaBucketName",
    "ALERTS_TOPIC_ARN": "AlertsTopicArn",
    "FACE_COLLECTION_ID": "FaceCollectionId",
    "INGEST_QUEUE_URL": "IngestQueueUrl",
    "INGEST_DEAD_LETTER_QUEUE_URL": "IngestDeadLetterQueueUrl",
}


def environment(stack_name: str, cloudformation: Any) -> dict[str, dict[str, str]]:
    """Map each function to the variables resolved from the stack's outputs."""
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = sorted(set(VARIABLES.values()) - set(outputs))
    if missing:
        raise SystemExit(f"stack {stack_name} has no output(s) {', '.join(missing)}")
    variables = {name: outputs[output] for name, output in VARIABLES.items()}
    return dict.fromkeys(FUNCTIONS, variables)


def main(argv: list[str]) -> int:
    stack_name, target = argv
    resolved = environment(stack_name, boto3.client("cloudformation"))
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text(json.dumps(resolved, indent=2) + "\n")
    print(f"wrote {target} for stack {stack_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
