"""The label suggester: trained from the mined rules, packed for SageMaker, published."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest
from medialens.workflows.artifacts import artifact_key, publish_artifact
from medialens.workflows.suggester import (
    FORMAT,
    MalformedRulesError,
    NothingToSuggestError,
    RelatedLabel,
    Thresholds,
    pack_archive,
    parse_related,
    publish_suggestions,
    train,
)

from sagemaker_models.label_suggester.code import inference

CODE = b"# inference code\n"


def line(label: str, *related: tuple[str, float, float]) -> str:
    return json.dumps(
        {
            "label": label,
            "related": [{"label": r, "confidence": c, "lift": f} for r, c, f in related],
        }
    )


class Objects:
    """Objects under prefixes, as the mining job leaves them on S3."""

    def __init__(self, files: dict[str, list[str]]) -> None:
        self.files = files

    def keys(self, bucket: str, prefix: str) -> Iterator[str]:
        yield from sorted(k for k in self.files if k.startswith(prefix))

    def lines(self, bucket: str, key: str) -> Iterator[str] | None:
        return iter(self.files[key]) if key in self.files else None


class Written:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = (body, content_type)


class Catalog:
    def __init__(self) -> None:
        self.replaced: list[tuple[str, dict[str, tuple[RelatedLabel, ...]]]] = []

    def replace(self, run: str, related: dict[str, tuple[RelatedLabel, ...]]) -> int:
        self.replaced.append((run, related))
        return 3


def test_training_keeps_rules_over_both_thresholds_best_first() -> None:
    rules = parse_related(
        [
            line("beach", ("sky", 0.6, 1.3), ("sea", 0.9, 4.0), ("person", 0.7, 1.0)),
            line("lamp", ("chair", 0.3, 2.0)),
        ]
    )

    model = train(rules, Thresholds(min_confidence=0.5, min_lift=1.2))

    assert model["format"] == FORMAT
    assert [r["label"] for r in model["related"]["beach"]] == ["sea", "sky"]
    assert "lamp" not in model["related"]


def test_a_malformed_rule_line_names_its_line() -> None:
    with pytest.raises(MalformedRulesError, match="line 2"):
        list(parse_related([line("beach", ("sea", 0.9, 4.0)), '{"label": "sea"}']))


def test_the_archive_is_reproducible_and_served_by_the_inference_code(tmp_path: Any) -> None:
    model = train(parse_related([line("beach", ("sea", 0.9, 4.0))]))
    archive = pack_archive(model, CODE)

    assert archive == pack_archive(model, CODE)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        assert sorted(tar.getnames()) == ["code/inference.py", "model.json"]
        tar.extractall(tmp_path, filter="data")
    assert (tmp_path / "code" / "inference.py").read_bytes() == CODE
    served = inference.model_fn(str(tmp_path))
    records = inference.input_fn(
        json.dumps({"labels": [{"name": "Beach", "confidence": 90.0}]}), "application/jsonlines"
    )
    [answer] = inference.predict_fn(records, served)
    assert answer["suggestions"][0]["label"] == "sea"


def test_publishing_reads_every_part_writes_the_archive_and_replaces_the_catalog() -> None:
    objects = Objects(
        {
            "mining/run/related_labels/part-00000.json": [line("beach", ("sea", 0.9, 4.0))],
            "mining/run/related_labels/part-00001.json": [line("dog", ("pet", 0.95, 3.0)), ""],
            "mining/run/related_labels/_SUCCESS": ["not json"],
            "mining/run/related_labels/.part-00000.json.crc": ["not json"],
        }
    )
    written, catalog = Written(), Catalog()

    published = publish_suggestions(
        "s3://media/mining/run/related_labels/",
        "s3://media/models/run/model.tar.gz",
        run="run-1",
        inference_code=CODE,
        objects=objects,
        writer=written,
        catalog=catalog,
    )

    assert published.to_dict() == {
        "model_data_url": "s3://media/models/run/model.tar.gz",
        "labels_read": 2,
        "labels_suggested": 2,
        "labels_removed": 3,
    }
    body, content_type = written.objects[("media", "models/run/model.tar.gz")]
    assert content_type == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        assert set(json.load(member)["related"]) == {"beach", "dog"}
    [(run, related)] = catalog.replaced
    assert run == "run-1"
    assert related["beach"] == (RelatedLabel("sea", 0.9, 4.0),)


def test_nothing_over_the_thresholds_publishes_nothing() -> None:
    objects = Objects({"related/part-0": [line("lamp", ("chair", 0.3, 2.0))]})
    written, catalog = Written(), Catalog()

    with pytest.raises(NothingToSuggestError, match="1 labels"):
        publish_suggestions(
            "s3://media/related/",
            "s3://media/models/model.tar.gz",
            run="run-1",
            inference_code=CODE,
            objects=objects,
            writer=written,
            catalog=catalog,
        )

    assert written.objects == {}
    assert catalog.replaced == []


def test_an_artifact_key_changes_with_its_content_only() -> None:
    first = artifact_key("jobs/", "label_mining.py", b"print(1)\n")

    assert first.startswith("jobs/label_mining-")
    assert first.endswith(".py")
    assert first == artifact_key("jobs/", "label_mining.py", b"print(1)\n")
    assert first != artifact_key("jobs/", "label_mining.py", b"print(2)\n")


def test_publishing_an_artifact_refuses_an_empty_file_or_a_prefix_that_is_no_folder() -> None:
    with pytest.raises(ValueError, match="empty"):
        publish_artifact(b"", name="job.py", bucket="b", prefix="jobs/", writer=Written())
    with pytest.raises(ValueError, match="must end with"):
        publish_artifact(b"x", name="job.py", bucket="b", prefix="jobs", writer=Written())


def test_a_folder_without_rule_files_says_so() -> None:
    objects = Objects({"elsewhere/part-0": [line("beach", ("sea", 0.9, 4.0))]})

    with pytest.raises(NothingToSuggestError, match="no rule files under s3://media/related/"):
        publish_suggestions(
            "s3://media/related/",
            "s3://media/models/model.tar.gz",
            run="run-1",
            inference_code=CODE,
            objects=objects,
            writer=Written(),
            catalog=Catalog(),
        )
