"""Move what waits in the ingest dead-letter queue back to the ingest queue.

Usage: python -m scripts.redrive STACK_NAME [--status]

SQS moves the messages itself (StartMessageMoveTask, back to the queue each came from:
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html),
at its own pace; ``--status`` shows the last tasks (ListMessageMoveTasks). Fix what made
them fail first: a redriven message that fails five more times comes back.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import boto3

OUTPUT = "IngestDeadLetterQueueArn"


def dead_letter_queue_arn(stack_name: str, cloudformation: Any) -> str:
    """Read the ingest dead-letter queue's ARN from the stack's outputs."""
    [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if OUTPUT not in outputs:
        raise SystemExit(f"stack {stack_name} has no output {OUTPUT}: deploy this version first")
    return str(outputs[OUTPUT])


def redrive(queue_arn: str, sqs: Any) -> str:
    """Start moving every message back to its source queue; return the task handle."""
    handle: str = sqs.start_message_move_task(SourceArn=queue_arn)["TaskHandle"]
    return handle


def status(queue_arn: str, sqs: Any) -> list[str]:
    """Describe the latest move tasks of the queue, newest first."""
    tasks = sqs.list_message_move_tasks(SourceArn=queue_arn, MaxResults=10)["Results"]
    return [
        f"{task['Status']}: {task.get('ApproximateNumberOfMessagesMoved', 0)} of "
        f"{task.get('ApproximateNumberOfMessagesToMove', '?')} moved"
        + (f" ({task['FailureReason']})" if task.get("FailureReason") else "")
        for task in tasks
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make redrive", description=__doc__)
    parser.add_argument("stack")
    parser.add_argument("--status", action="store_true")
    args = parser.parse_args(argv)
    arn = dead_letter_queue_arn(args.stack, boto3.client("cloudformation"))
    sqs = boto3.client("sqs")
    if args.status:
        print("\n".join(status(arn, sqs)) or "no move task yet")
    else:
        print(f"moving messages of {arn} back to their queue: task {redrive(arn, sqs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
