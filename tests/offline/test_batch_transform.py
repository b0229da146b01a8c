"""The label-suggester model and the local Batch Transform, on records whose answers are known."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from medialens.workflows.transform_check import check_joined
from medialens_local.batch_transform import (
    MEGABYTE,
    TransformFailedError,
    TransformSettings,
    load_model,
    mini_batches,
    transform,
)

from jobs import train_suggester

RELATED = [
    {
        "label": "beach",
        "related": [
            {"label": "sea", "confidence": 0.93, "lift": 4.6},
            {"label": "sky", "confidence": 0.81, "lift": 4.7},
            {"label": "person", "confidence": 0.39, "lift": 2.7},
        ],
    },
    {"label": "sea", "related": [{"label": "beach", "confidence": 0.95, "lift": 4.6}]},
    {"label": "cup", "related": [{"label": "coffee", "confidence": 0.6, "lift": 1.1}]},
]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return train_suggester.pack(train_suggester.train(RELATED), tmp_path / "model.tar.gz")


def record(media_id: str, *labels: str, confidence: float = 90.0) -> dict[str, Any]:
    return {
        "media_id": media_id,
        "labels": [{"name": name, "confidence": confidence} for name in labels],
    }


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_training_keeps_rules_above_the_thresholds() -> None:
    model = train_suggester.train(RELATED, min_confidence=0.5, min_lift=1.2)

    assert model["related"]["beach"] == [
        {"label": "sea", "confidence": 0.93, "lift": 4.6},
        {"label": "sky", "confidence": 0.81, "lift": 4.7},
    ]
    assert "cup" not in model["related"]  # lift 1.1: coffee with a cup is no news


def test_the_archive_is_what_the_container_loads(archive: Path) -> None:
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["code/inference.py", "model.json"]
    first = archive.read_bytes()
    train_suggester.pack(train_suggester.train(RELATED), archive)
    assert archive.read_bytes() == first  # reproducible: same rules, same bytes


def test_suggestions_follow_the_rules_and_skip_what_is_there(archive: Path) -> None:
    loaded = load_model(archive)
    module = loaded.module
    body = "\n".join(
        json.dumps(r)
        for r in [
            record("a", "Beach"),
            record("b", "Beach", "Sea"),
            record("c", "Beach", confidence=20.0),
            record("d"),
        ]
    )

    answer = module.output_fn(
        module.predict_fn(module.input_fn(body.encode(), "application/jsonlines"), loaded.model),
        "application/jsonlines",
    )

    lines = [json.loads(line) for line in answer.splitlines()]
    assert [s["label"] for s in lines[0]["suggestions"]] == ["sea", "sky"]
    assert lines[0]["suggestions"][0] == {"label": "sea", "confidence": 0.93, "because": "beach"}
    assert [s["label"] for s in lines[1]["suggestions"]] == ["sky"]
    assert lines[2] == {"suggestions": []}  # below the label confidence threshold
    assert lines[3] == {"suggestions": []}
    with pytest.raises(ValueError, match="content type"):
        module.input_fn(body, "text/csv")


def test_mini_batches_fit_the_payload_limit() -> None:
    records = [b"x" * 400_000 for _ in range(10)]
    settings = TransformSettings(max_payload_mb=1)

    batches = list(mini_batches(records, settings))

    assert [len(b) for b in batches] == [2, 2, 2, 2, 2]
    assert all(sum(map(len, b)) + len(b) - 1 <= MEGABYTE for b in batches)
    single = list(mini_batches(records, TransformSettings(batch_strategy="SingleRecord")))
    assert [len(b) for b in single] == [1] * 10


def test_a_record_larger_than_the_payload_limit_fails_the_job_clearly(
    archive: Path, tmp_path: Path
) -> None:
    big = record("big", "Beach")
    big["notes"] = "n" * (MEGABYTE + 10)
    write_lines(tmp_path / "in" / "batch.jsonl", [record("a", "Beach"), big])

    with pytest.raises(TransformFailedError, match=r"batch.jsonl: record 2 is .* MaxPayloadInMB"):
        transform(tmp_path / "in", tmp_path / "out", archive, TransformSettings(max_payload_mb=1))
    assert not (tmp_path / "out" / "batch.jsonl.out").exists()


def test_outputs_keep_input_order_and_join_each_input(archive: Path, tmp_path: Path) -> None:
    first = [record(f"uploads/{n:04d}.jpg", "Beach" if n % 2 else "Sea") for n in range(300)]
    second = [record("uploads/x.jpg", "Cup")]
    write_lines(tmp_path / "in" / "2026" / "part-1.jsonl", first)
    write_lines(tmp_path / "in" / "part-2.jsonl", second)

    report = transform(
        tmp_path / "in", tmp_path / "out", archive, TransformSettings(max_payload_mb=1)
    )

    out = tmp_path / "out" / "2026" / "part-1.jsonl.out"
    lines = out.read_text().splitlines(keepends=True)
    assert all(line.endswith("\n") for line in lines)  # AssembleWith Line
    joined = [json.loads(line) for line in lines]
    assert [j["media_id"] for j in joined] == [r["media_id"] for r in first]
    assert joined[1]["SageMakerOutput"]["suggestions"][0]["label"] == "sea"
    assert report.records == 301
    assert (tmp_path / "out" / "part-2.jsonl.out").exists()
    check = check_joined(
        "part-1.jsonl",
        (tmp_path / "in" / "2026" / "part-1.jsonl").read_text().splitlines(),
        out.read_text().splitlines(),
    )
    assert check.ok
    assert (check.inputs, check.outputs) == (300, 300)


def test_the_check_finds_missing_and_reordered_lines() -> None:
    inputs = [json.dumps(record(str(n), "Beach")) for n in range(5)]
    outputs = [json.dumps({**json.loads(line), "SageMakerOutput": {}}) for line in inputs]

    assert check_joined("k", inputs, outputs).ok
    swapped = [outputs[1], outputs[0], *outputs[2:]]
    result = check_joined("k", inputs, swapped)
    assert not result.ok
    assert result.first_mismatches == (1, 2)
    short = check_joined("k", inputs, outputs[:-1])
    assert (short.inputs, short.outputs, short.mismatches) == (5, 4, 1)


def test_a_malformed_record_gets_an_error_line_and_the_others_their_answers(
    archive: Path, tmp_path: Path
) -> None:
    path = tmp_path / "in" / "batch.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(record("a", "Beach"))
        + "\n"
        + json.dumps({"media_id": "b", "labels": "not a list of labels"})
        + "\n"
        + json.dumps(record("c", "Sea"))
        + "\n"
    )

    transform(tmp_path / "in", tmp_path / "out", archive, TransformSettings())

    lines = (tmp_path / "out" / "batch.jsonl.out").read_text().splitlines()
    outputs = [json.loads(line)["SageMakerOutput"] for line in lines]
    assert outputs[0]["suggestions"][0]["label"] == "sea"
    assert "malformed record" in outputs[1]["error"]
    assert outputs[2]["suggestions"][0]["label"] == "beach"
    check = check_joined("batch.jsonl", path.read_text().splitlines(), lines)
    assert check.ok
    assert check.failures == 1
