"""Combining a Batch Transform's outputs in the verify pass: the domain with a fake sink,
and the hand-written multipart writer against moto's S3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from medialens.workflows.object_lines import MIN_PART_SIZE, S3LineWriter, S3ObjectLines
from medialens.workflows.transform_check import verify_transform
from moto import mock_aws

BUCKET = "media"
IN = f"s3://{BUCKET}/exports/run-1/"
OUT = f"s3://{BUCKET}/transforms/run-1/"
COMBINED = f"s3://{BUCKET}/transforms/run-1.jsonl"


def record(n: int, notes: str = "") -> dict[str, Any]:
    return {"media_id": f"uploads/{n:05d}.jpg", "notes": notes}


def joined(item: dict[str, Any]) -> str:
    return json.dumps({**item, "SageMakerOutput": {"suggestions": []}})


# ------------------------------------------------------------------ the domain, faked


@dataclass
class FakeStore:
    """Objects as lists of lines; every read is counted."""

    objects: dict[str, list[str]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)
    fail_on: str | None = None

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        for path in sorted(self.objects):
            if path.startswith(f"{bucket}/{prefix}"):
                yield path.removeprefix(f"{bucket}/")

    def lines(self, bucket: str, key: str) -> Iterator[str] | None:
        path = f"{bucket}/{key}"
        if path not in self.objects:
            return None
        self.reads.append(path)
        return self._stream(path)

    def _stream(self, path: str) -> Iterator[str]:
        for line in self.objects[path]:
            if path == self.fail_on:
                raise ConnectionError("reset by peer")
            yield line


@dataclass
class FakeSink:
    bucket: str
    key: str
    written: list[str] = field(default_factory=list)
    committed: bool = False
    aborts: int = 0

    def write(self, line: str) -> None:
        assert not self.committed
        assert not self.aborts
        self.written.append(line)

    def commit(self) -> None:
        self.committed = True

    def abort(self) -> None:
        self.aborts += 1


@dataclass
class Sinks:
    opened: list[FakeSink] = field(default_factory=list)

    def __call__(self, bucket: str, key: str) -> FakeSink:
        self.opened.append(FakeSink(bucket, key))
        return self.opened[-1]


def store_of(files: dict[str, list[dict[str, Any]]], *, drop_last: str = "") -> FakeStore:
    """Inputs under exports/run-1/ and their joined .out under transforms/run-1/."""
    store = FakeStore()
    for name, records in files.items():
        store.objects[f"{BUCKET}/exports/run-1/{name}"] = [json.dumps(r) for r in records]
        outs = [joined(r) for r in records]
        store.objects[f"{BUCKET}/transforms/run-1/{name}.out"] = (
            outs[:-1] if name == drop_last else outs
        )
    # Keys in S3 order, whatever order the files were given in.
    store.objects = dict(sorted(store.objects.items()))
    return store


def test_the_outputs_are_combined_in_key_order_in_the_same_pass() -> None:
    store = store_of(
        {
            "part-2.jsonl": [record(3), record(4)],
            "part-1.jsonl": [record(1), record(2)],
            "part-3.jsonl": [record(5)],
        }
    )
    sinks = Sinks()

    summary = verify_transform(IN, OUT, store, combine_uri=COMBINED, open_sink=sinks)

    [sink] = sinks.opened
    assert (sink.bucket, sink.key) == (BUCKET, "transforms/run-1.jsonl")
    assert sink.written == [joined(record(n)) for n in range(1, 6)]
    assert sink.committed
    assert sink.aborts == 0
    assert summary.ok
    assert (summary.combined, summary.combined_lines) == (COMBINED, 5)
    assert summary.to_dict()["combined"] == COMBINED
    assert summary.to_dict()["combined_lines"] == 5
    # Each object read once: the combine reads nothing the check does not.
    assert sorted(store.reads) == sorted(store.objects)


def test_blank_lines_are_not_records_and_are_not_combined() -> None:
    store = store_of({"part-1.jsonl": [record(1), record(2)]})
    out = f"{BUCKET}/transforms/run-1/part-1.jsonl.out"
    store.objects[out] = [store.objects[out][0], "", "  ", store.objects[out][1], ""]
    sinks = Sinks()

    summary = verify_transform(IN, OUT, store, combine_uri=COMBINED, open_sink=sinks)

    assert summary.ok
    assert sinks.opened[0].written == [joined(record(1)), joined(record(2))]
    assert summary.combined_lines == 2


def test_without_a_combine_uri_nothing_is_opened() -> None:
    store = store_of({"part-1.jsonl": [record(1)]})
    sinks = Sinks()

    summary = verify_transform(IN, OUT, store, open_sink=sinks)

    assert summary.ok
    assert sinks.opened == []
    assert (summary.combined, summary.combined_lines) == (None, 0)
    assert summary.to_dict()["combined"] is None


def test_a_mismatch_aborts_the_combine_and_stops_writing() -> None:
    store = store_of(
        {"part-1.jsonl": [record(1), record(2)], "part-2.jsonl": [record(3), record(4)]},
        drop_last="part-1.jsonl",
    )
    sinks = Sinks()

    summary = verify_transform(IN, OUT, store, combine_uri=COMBINED, open_sink=sinks)

    [sink] = sinks.opened
    assert not summary.ok
    assert not sink.committed
    assert sink.aborts >= 1
    # Aborted after the first object: the second one is checked, not combined.
    assert sink.written == [joined(record(1))]
    assert (summary.combined, summary.combined_lines) == (None, 0)
    assert summary.to_dict()["records"] == 4


def test_a_missing_output_aborts_the_combine() -> None:
    store = store_of({"part-1.jsonl": [record(1)], "part-2.jsonl": [record(2)]})
    del store.objects[f"{BUCKET}/transforms/run-1/part-2.jsonl.out"]
    sinks = Sinks()

    summary = verify_transform(IN, OUT, store, combine_uri=COMBINED, open_sink=sinks)

    assert summary.missing_outputs == ("exports/run-1/part-2.jsonl",)
    assert not sinks.opened[0].committed
    assert sinks.opened[0].aborts >= 1
    assert summary.combined is None


def test_no_input_objects_is_not_ok_so_nothing_is_combined() -> None:
    sinks = Sinks()

    summary = verify_transform(IN, OUT, FakeStore(), combine_uri=COMBINED, open_sink=sinks)

    assert not summary.ok
    assert not sinks.opened[0].committed
    assert sinks.opened[0].aborts == 1
    assert summary.combined is None


def test_inputs_without_records_combine_to_an_empty_object() -> None:
    store = store_of({"part-1.jsonl": []})
    sinks = Sinks()

    summary = verify_transform(IN, OUT, store, combine_uri=COMBINED, open_sink=sinks)

    assert summary.ok
    assert sinks.opened[0].committed
    assert sinks.opened[0].written == []
    assert (summary.combined, summary.combined_lines) == (COMBINED, 0)


def test_an_error_while_reading_aborts_the_combine_and_propagates() -> None:
    store = store_of({"part-1.jsonl": [record(1)], "part-2.jsonl": [record(2)]})
    store.fail_on = f"{BUCKET}/transforms/run-1/part-2.jsonl.out"
    sinks = Sinks()

    with pytest.raises(ConnectionError):
        verify_transform(IN, OUT, store, combine_uri=COMBINED, open_sink=sinks)

    assert not sinks.opened[0].committed
    assert sinks.opened[0].aborts >= 1


@pytest.mark.parametrize(
    "uri", ["s3://media/transforms/run-1/", "s3://media", "https://media/x.jsonl", "media/x"]
)
def test_a_combine_uri_that_is_not_an_object_is_refused(uri: str) -> None:
    sinks = Sinks()

    with pytest.raises(ValueError, match=r"URI|object"):
        verify_transform(IN, OUT, FakeStore(), combine_uri=uri, open_sink=sinks)

    assert sinks.opened == []


def test_a_combine_uri_needs_a_sink() -> None:
    with pytest.raises(ValueError, match="open_sink"):
        verify_transform(IN, OUT, FakeStore(), combine_uri=COMBINED)


# ------------------------------------------------------------------ moto's S3


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def count_calls(client: Any) -> dict[str, int]:
    """Count the S3 operations made through ``client``."""
    counts: dict[str, int] = {}

    def seen(model: Any, **_: Any) -> None:
        counts[model.name] = counts.get(model.name, 0) + 1

    client.meta.events.register("before-call.s3", seen)
    return counts


def put_run(s3: Any, files: dict[str, list[dict[str, Any]]], *, drop_last: str = "") -> bytes:
    """Write inputs and .out files; return the .out lines joined, as combining should."""
    expected = b""
    for name, records in sorted(files.items()):
        s3.put_object(
            Bucket=BUCKET,
            Key=f"exports/run-1/{name}",
            Body="".join(json.dumps(r) + "\n" for r in records).encode(),
        )
        outs = [joined(r) + "\n" for r in records]
        if name == drop_last:
            outs = outs[:-1]
        body = "".join(outs).encode()
        s3.put_object(Bucket=BUCKET, Key=f"transforms/run-1/{name}.out", Body=body)
        expected += body
    return expected


def big_run(s3: Any, *, drop_last: str = "") -> bytes:
    """A little over 6 MiB of output in two objects: two parts at S3's smallest size."""
    notes = "x" * 1000
    return put_run(
        s3,
        {
            "part-1.jsonl": [record(n, notes) for n in range(3200)],
            "part-2.jsonl": [record(n, notes) for n in range(3200, 6400)],
        },
        drop_last=drop_last,
    )


def open_writer(client: Any) -> Any:
    def open_sink(bucket: str, key: str) -> S3LineWriter:
        return S3LineWriter(bucket, key, client, part_size=MIN_PART_SIZE)

    return open_sink


def pending_uploads(s3: Any) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_a_large_output_is_combined_by_a_multipart_upload(s3: Any) -> None:
    expected = big_run(s3)
    assert len(expected) > MIN_PART_SIZE + 1024 * 1024
    client = boto3.client("s3")
    calls = count_calls(client)

    summary = verify_transform(
        IN, OUT, S3ObjectLines(client), combine_uri=COMBINED, open_sink=open_writer(client)
    )

    assert summary.ok, summary.to_dict()
    assert (summary.combined, summary.combined_lines) == (COMBINED, 6400)
    body = s3.get_object(Bucket=BUCKET, Key="transforms/run-1.jsonl")["Body"].read()
    assert body == expected
    assert calls["CreateMultipartUpload"] == 1
    assert calls["UploadPart"] >= 2
    assert calls["CompleteMultipartUpload"] == 1
    assert "PutObject" not in calls
    # Each input and each .out read once.
    assert calls["GetObject"] == 4
    assert pending_uploads(s3) == []


def test_a_mismatch_aborts_the_upload_and_leaves_nothing(s3: Any) -> None:
    big_run(s3, drop_last="part-2.jsonl")
    client = boto3.client("s3")
    calls = count_calls(client)

    summary = verify_transform(
        IN, OUT, S3ObjectLines(client), combine_uri=COMBINED, open_sink=open_writer(client)
    )

    assert not summary.ok
    assert summary.combined is None
    assert calls["UploadPart"] >= 1  # the upload had started before the mismatch
    assert calls["AbortMultipartUpload"] == 1
    assert "CompleteMultipartUpload" not in calls
    assert keys(s3, "transforms/run-1.jsonl") == []
    assert pending_uploads(s3) == []


def test_a_failed_part_aborts_the_upload_and_propagates(s3: Any) -> None:
    big_run(s3)
    client = boto3.client("s3")
    calls = count_calls(client)

    def refuse_second_part(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 2:
            raise ConnectionError("reset by peer")

    client.meta.events.register("before-parameter-build.s3.UploadPart", refuse_second_part)

    with pytest.raises(ConnectionError):
        verify_transform(
            IN, OUT, S3ObjectLines(client), combine_uri=COMBINED, open_sink=open_writer(client)
        )

    assert calls["AbortMultipartUpload"] == 1
    assert keys(s3, "transforms/run-1.jsonl") == []
    assert pending_uploads(s3) == []


def test_a_small_output_is_one_put(s3: Any) -> None:
    expected = put_run(s3, {"part-1.jsonl": [record(1), record(2)]})
    client = boto3.client("s3")
    calls = count_calls(client)

    summary = verify_transform(
        IN, OUT, S3ObjectLines(client), combine_uri=COMBINED, open_sink=open_writer(client)
    )

    assert summary.combined_lines == 2
    answer = s3.get_object(Bucket=BUCKET, Key="transforms/run-1.jsonl")
    assert answer["Body"].read() == expected
    assert answer["ContentType"] == "application/jsonlines"
    assert calls["PutObject"] == 1
    assert "CreateMultipartUpload" not in calls


def test_inputs_without_records_combine_to_an_empty_object_in_s3(s3: Any) -> None:
    put_run(s3, {"part-1.jsonl": []})

    summary = verify_transform(
        IN, OUT, S3ObjectLines(), combine_uri=COMBINED, open_sink=S3LineWriter
    )

    assert summary.ok
    assert s3.get_object(Bucket=BUCKET, Key="transforms/run-1.jsonl")["Body"].read() == b""


def test_the_writer_refuses_parts_under_s3s_minimum() -> None:
    with pytest.raises(ValueError, match="at least"):
        S3LineWriter(BUCKET, "x.jsonl", client=object(), part_size=MIN_PART_SIZE - 1)  # type: ignore[arg-type]


def test_the_writer_is_closed_after_commit_or_abort(s3: Any) -> None:
    writer = S3LineWriter(BUCKET, "transforms/a.jsonl", s3)
    writer.write("{}")
    writer.commit()
    with pytest.raises(ValueError, match="already"):
        writer.write("{}")
    aborted = S3LineWriter(BUCKET, "transforms/b.jsonl", s3)
    aborted.write("{}")
    aborted.abort()
    aborted.abort()
    with pytest.raises(ValueError, match="already"):
        aborted.commit()
    assert keys(s3, "transforms/") == ["transforms/a.jsonl"]
