"""The user journeys, as a user or an operator walks them, against a :class:`Target`.

The same code runs offline (``make test``) and against a deployed stack (``make e2e
STACK=<name>``): only boto3 calls and the target's ``settle`` are used. Every file and
run this writes carries the run id, under ``uploads/e2e/<run id>/``,
``exports/e2e-<run id>*/``, ``transforms/e2e-<run id>/`` and ``mining/e2e-<run id>/``,
so runs never see each other's results.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from medialens.catalog.keys import term_key

from jobs import synthetic_catalog, train_suggester
from tests.e2e.targets import Target

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "uploads"
IMAGE = SAMPLES / "pets" / "chelsea the cat.jpg"
VIDEO = SAMPLES / "clips" / "cat-and-rocket.mp4"
MAX_PAGES = 10
RULES = [
    {"label": "beach", "related": [{"label": "sea", "confidence": 0.93, "lift": 4.6}]},
    {"label": "sea", "related": [{"label": "beach", "confidence": 0.95, "lift": 4.6}]},
]
"""The rules of the model archive put at ModelDataKey when the stack has none there."""
MINED_RECORDS = 300


@dataclass(frozen=True)
class Drop:
    """A file dropped under the uploads prefix, and its catalog entry once it settled."""

    key: str
    meta: dict[str, Any] | None
    label: str | None = None
    """The label to search it by, once the catalog's index lists it."""

    @property
    def status(self) -> str | None:
        return None if self.meta is None else str(self.meta["status"]["S"])


def catalog_meta(target: Target, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        target.client("dynamodb")
        .get_item(
            TableName=target.resources.catalog_table,
            Key={"pk": {"S": f"MEDIA#{key}"}, "sk": {"S": "META"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item


def drop(target: Target, path: Path, key: str, timeout_s: float) -> Drop:
    """Upload like a user, then wait until the catalog entry has left IN_PROGRESS."""
    target.client("s3").put_object(Bucket=target.resources.bucket, Key=key, Body=path.read_bytes())

    def settled() -> bool:
        meta = catalog_meta(target, key)
        return meta is not None and meta["status"]["S"] != "IN_PROGRESS"

    target.settle(settled, timeout_s)
    return Drop(key=key, meta=catalog_meta(target, key))


@pytest.fixture(scope="module")
def image(target: Target, run_id: str) -> Drop:
    """The cat photo (a key with spaces), dropped and settled, and findable by its label.

    DynamoDB's indexes are eventually consistent: the wait goes on until the ByTerm
    index lists the photo under its label, as a search a moment later would.
    """
    key = f"{target.resources.uploads_prefix}e2e/{run_id}/{IMAGE.name}"
    dropped = drop(target, IMAGE, key, target.timeouts.image_s)
    if dropped.status != "ANALYSED" or not labels_of(dropped):
        return dropped
    label = rarest_label(target, dropped)
    target.settle(lambda: key in search_by_label(target, label), target.timeouts.image_s)
    return replace(dropped, label=label)


@pytest.fixture(scope="module")
def video(target: Target, run_id: str) -> Drop:
    key = f"{target.resources.uploads_prefix}e2e/{run_id}/{VIDEO.name}"
    return drop(target, VIDEO, key, target.timeouts.video_s)


def search_by_label(target: Target, label: str) -> Iterator[str]:
    """Media ids the ByTerm index holds under a label, most confident first."""
    pages = (
        target.client("dynamodb")
        .get_paginator("query")
        .paginate(
            TableName=target.resources.catalog_table,
            IndexName="ByTerm",
            KeyConditionExpression="gsi1pk = :key",
            ExpressionAttributeValues={":key": {"S": term_key("LABEL", label)}},
            ScanIndexForward=False,
        )
    )
    for page in pages:
        for item in page["Items"]:
            yield item["media_id"]["S"]


def labels_of(dropped: Drop) -> list[str]:
    """The labels the catalog entry lists, most confident first."""
    assert dropped.meta is not None
    return [label["S"] for label in dropped.meta.get("labels", {}).get("L", [])]


def rarest_label(target: Target, dropped: Drop) -> str:
    """The drop's label that the fewest catalog entries carry: the most telling search.

    A deployed catalog may hold many photos of animals and few of Egyptian cats.
    """
    pages = target.client("dynamodb").get_paginator("query")

    def count(label: str) -> int:
        return sum(
            page["Count"]
            for page in pages.paginate(
                TableName=target.resources.catalog_table,
                IndexName="ByTerm",
                KeyConditionExpression="gsi1pk = :key",
                ExpressionAttributeValues={":key": {"S": term_key("LABEL", label)}},
                Select="COUNT",
            )
        )

    return min(labels_of(dropped), key=count)


# ---------------------------------------------------------------- 1. an image


def test_a_dropped_image_is_analysed_into_the_catalog(target: Target, image: Drop) -> None:
    assert image.status == "ANALYSED", f"{image.key} on {target.name}: {image.meta}"
    assert image.meta is not None
    result_key = f"results/{image.key}.json"
    assert image.meta["result_key"]["S"] == result_key
    body = target.client("s3").get_object(Bucket=target.resources.bucket, Key=result_key)["Body"]
    document = json.loads(body.read())
    assert document["media_id"] == image.key
    found = [label["name"] for label in document["labels"]]
    labels = labels_of(image)
    assert labels, "the catalog holds no label for the image"
    assert set(labels) <= set(found)
    assert image.label in labels
    assert image.key in search_by_label(target, image.label)


# ---------------------------------------------------------------- 2. a video


def test_a_dropped_video_is_analysed_through_its_jobs(target: Target, video: Drop) -> None:
    assert video.status == "ANALYSED", f"{video.key} on {target.name}: {video.meta}"
    assert video.meta is not None
    assert video.meta["media_type"]["S"] == "video"
    jobs = {name: state["S"] for name, state in video.meta["jobs"]["M"].items()}
    assert jobs
    assert set(jobs.values()) == {"SUCCEEDED"}


# ---------------------------------------------------------------- 3. the bot


class Conversation:
    """One session with the bot through Lex V2's RecognizeText."""

    def __init__(self, target: Target, session_id: str) -> None:
        self.target = target
        self.session_id = session_id
        self.lex = target.client("lexv2-runtime")

    def say(self, text: str) -> dict[str, Any]:
        resources = self.target.resources
        answer: dict[str, Any] = self.lex.recognize_text(
            botId=resources.bot_id,
            botAliasId=resources.bot_alias_id,
            localeId=resources.locale_id,
            sessionId=self.session_id,
            text=text,
        )
        return answer


def said(answer: dict[str, Any]) -> str:
    return "\n".join(
        m["content"] for m in answer.get("messages", []) if m["contentType"] == "PlainText"
    )


def asks_for(answer: dict[str, Any], slot: str) -> bool:
    action = answer["sessionState"]["dialogAction"]
    return bool(action["type"] == "ElicitSlot" and action.get("slotToElicit") == slot)


def test_the_bot_knows_the_image_is_done(target: Target, image: Drop, run_id: str) -> None:
    assert image.status == "ANALYSED"
    chat = Conversation(target, f"e2e-{run_id}-status")

    answer = chat.say(f"is {image.key} done?")
    if asks_for(answer, "FileName"):
        # Lex's language model may not take the whole key from the sentence: a user
        # then answers the bot's "Which file?" with the key alone.
        answer = chat.say(image.key)

    assert f"{image.key} is done" in said(answer), answer
    assert answer["sessionState"]["intent"]["name"] == "UploadStatus"


def test_the_bot_finds_the_image_by_a_label_the_catalog_holds(
    target: Target, image: Drop, run_id: str
) -> None:
    assert image.status == "ANALYSED"
    assert image.label is not None
    label = image.label.lower()
    chat = Conversation(target, f"e2e-{run_id}-search")

    answer = chat.say(f"show me photos with {label}")
    answers = [answer]
    # A deployed catalog may hold many such photos: page on, as a user would.
    while image.key not in said(answer) and "say 'more'" in said(answer):
        if len(answers) == MAX_PAGES:
            break
        answer = chat.say("show me more")
        answers.append(answer)

    assert answers[0]["sessionState"]["intent"]["name"] == "SearchMedia", answers[0]
    assert image.key in said(answer), [said(a) for a in answers]
    links = json.loads(answer["sessionState"]["sessionAttributes"]["medialens.links"])
    assert image.key in {link["media_id"] for link in links}


# ---------------------------------------------------------------- 4. Batch Transform


def wait_for_execution(target: Target, arn: str, timeout_s: float) -> dict[str, Any]:
    """Wait until an execution has ended; return its description."""
    sfn = target.client("stepfunctions")
    target.settle(
        lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", timeout_s
    )
    described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
    return described


def last_events(target: Target, arn: str) -> list[dict[str, Any]]:
    """The execution's last events, newest first: what to read when it failed."""
    events: list[dict[str, Any]] = target.client("stepfunctions").get_execution_history(
        executionArn=arn, reverseOrder=True, maxResults=5
    )["events"]
    return events


def ensure_model_archive(target: Target) -> None:
    """Put a small trained suggester at the stack's ModelDataKey when nothing is there.

    The Batch Transform workflow's default model is the archive at ModelDataKey in the
    media bucket, which ``make workflows`` (or the ML pipeline) publishes. A stack that
    never had one gets this archive, trained by ``jobs/train_suggester.py`` from
    :data:`RULES`, and keeps it; an archive already there is left alone.
    """
    s3, resources = target.client("s3"), target.resources
    try:
        s3.head_object(Bucket=resources.bucket, Key=resources.model_data_key)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        with tempfile.TemporaryDirectory() as folder:
            archive = train_suggester.pack(
                train_suggester.train(RULES), Path(folder, "model.tar.gz")
            )
            s3.put_object(
                Bucket=resources.bucket, Key=resources.model_data_key, Body=archive.read_bytes()
            )


def transform_inputs(run_id: str) -> dict[str, list[dict[str, Any]]]:
    """A few catalog records in two files, in the shape the label-mining job exports."""

    def record(n: int, *labels: str) -> dict[str, Any]:
        return {
            "media_id": f"uploads/e2e/{run_id}/{n:03d}.jpg",
            "media_type": "photo",
            "labels": [{"name": name, "confidence": 95.0} for name in labels],
        }

    return {
        "part-1.jsonl": [record(1, "Beach"), record(2, "Sea", "Sky"), record(3, "Cat")],
        "part-2.jsonl": [record(4, "Beach", "Sand"), record(5)],
    }


def test_the_batch_transform_workflow_suggests_for_every_record(
    target: Target, run_id: str
) -> None:
    s3, bucket = target.client("s3"), target.resources.bucket
    ensure_model_archive(target)
    inputs = transform_inputs(run_id)
    for name, records in inputs.items():
        body = "".join(json.dumps(r) + "\n" for r in records)
        s3.put_object(Bucket=bucket, Key=f"exports/e2e-{run_id}/{name}", Body=body.encode())

    arn = target.client("stepfunctions").start_execution(
        stateMachineArn=target.resources.batch_transform_state_machine_arn,
        name=f"e2e-{run_id}",
        input=json.dumps(
            {
                "input_uri": f"s3://{bucket}/exports/e2e-{run_id}/",
                "output_uri": f"s3://{bucket}/transforms/e2e-{run_id}/",
            }
        ),
    )["executionArn"]
    execution = wait_for_execution(target, arn, target.timeouts.batch_transform_s)

    assert execution["status"] == "SUCCEEDED", last_events(target, arn)
    for name, records in inputs.items():
        out = s3.get_object(Bucket=bucket, Key=f"transforms/e2e-{run_id}/{name}.out")
        lines = [json.loads(line) for line in out["Body"].read().splitlines() if line.strip()]
        assert [line["media_id"] for line in lines] == [r["media_id"] for r in records]
        assert all("suggestions" in line["SageMakerOutput"] for line in lines), lines


# ---------------------------------------------------------------- 5. EMR label mining


def test_the_label_mining_workflow_mines_the_rules_the_catalog_holds(
    label_mining_target: Target, run_id: str
) -> None:
    target = label_mining_target
    s3, bucket = target.client("s3"), target.resources.bucket
    export_key = f"exports/e2e-{run_id}-mining/catalog.jsonl"
    records = synthetic_catalog.records(MINED_RECORDS)
    s3.put_object(
        Bucket=bucket,
        Key=export_key,
        Body="".join(json.dumps(record) + "\n" for record in records).encode(),
    )
    output = f"mining/e2e-{run_id}/"

    arn = target.client("stepfunctions").start_execution(
        stateMachineArn=target.resources.label_mining_state_machine_arn,
        name=f"e2e-{run_id}-mining",
        input=json.dumps(
            {"export_uri": f"s3://{bucket}/{export_key}", "output_uri": f"s3://{bucket}/{output}"}
        ),
    )["executionArn"]
    execution = wait_for_execution(target, arn, target.timeouts.label_mining_s)

    assert execution["status"] == "SUCCEEDED", last_events(target, arn)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{output}related_labels/")
    parts = [item["Key"] for item in listed.get("Contents", []) if "/part-" in item["Key"]]
    assert parts, listed
    related = {
        rule["label"]: {item["label"] for item in rule["related"]}
        for part in parts
        for line in s3.get_object(Bucket=bucket, Key=part)["Body"].read().splitlines()
        if line.strip()
        for rule in [json.loads(line)]
    }
    # The synthetic catalog's beach theme shows sea with nine beaches in ten.
    assert "sea" in related.get("beach", set()), related
