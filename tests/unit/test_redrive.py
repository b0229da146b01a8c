"""`make redrive`: the dead-letter queue's ARN from the stack, SQS's own move task."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from scripts import redrive

ARN = "arn:aws:sqs:eu-west-1:123456789012:medialens-IngestDeadLetterQueue-abc"


def test_the_queue_is_read_from_the_stack_outputs() -> None:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "medialens",
                        "CreationTime": "2026-12-04T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                        "Outputs": [{"OutputKey": "IngestDeadLetterQueueArn", "OutputValue": ARN}],
                    }
                ]
            },
            {"StackName": "medialens"},
        )
        assert redrive.dead_letter_queue_arn("medialens", cloudformation) == ARN


def test_an_older_stack_without_the_output_is_refused_clearly() -> None:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    with Stubber(cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "old",
                        "CreationTime": "2026-12-04T00:00:00Z",
                        "StackStatus": "CREATE_COMPLETE",
                    }
                ]
            },
        )
        with pytest.raises(SystemExit, match="IngestDeadLetterQueueArn"):
            redrive.dead_letter_queue_arn("old", cloudformation)


def test_redrive_starts_sqss_move_task_to_the_source_and_reports_progress() -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    with Stubber(sqs) as stubber:
        stubber.add_response("start_message_move_task", {"TaskHandle": "t-1"}, {"SourceArn": ARN})
        stubber.add_response(
            "list_message_move_tasks",
            {
                "Results": [
                    {
                        "Status": "RUNNING",
                        "SourceArn": ARN,
                        "ApproximateNumberOfMessagesMoved": 3,
                        "ApproximateNumberOfMessagesToMove": 7,
                    }
                ]
            },
            {"SourceArn": ARN, "MaxResults": 10},
        )
        assert redrive.redrive(ARN, sqs) == "t-1"
        assert redrive.status(ARN, sqs) == ["RUNNING: 3 of 7 moved"]
