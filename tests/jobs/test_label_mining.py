"""The Spark MLlib job in local mode, on a generated catalog with known co-occurrences."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from pyspark.sql import SparkSession

from jobs import label_mining, synthetic_catalog

RECORDS = 1500


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    return list(synthetic_catalog.records(RECORDS, seed=11))


@pytest.fixture(scope="module")
def mined(
    spark: SparkSession, generated: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    root = tmp_path_factory.mktemp("mining")
    export = root / "export.jsonl"
    export.write_text("".join(json.dumps(record) + "\n" for record in generated))
    arguments = ["--input", str(export), "--output", str(root / "out"), "--topics", "5"]
    options, _ = label_mining.parse_args(
        [*arguments, "--min-support", "0.02", "--min-confidence", "0.3"]
    )
    label_mining.run(spark, options)
    return root / "out"


def baskets(generated: list[dict[str, Any]]) -> list[set[str]]:
    """The label sets FPGrowth mines: confident labels, media without any left out."""
    sets = [
        {label["name"].lower() for label in r["labels"] if label["confidence"] >= 50}
        for r in generated
    ]
    return [s for s in sets if s]


def test_rules_have_the_confidence_and_lift_of_the_data(
    spark: SparkSession, mined: Path, generated: list[dict[str, Any]]
) -> None:
    rules = {
        (tuple(row.antecedent), tuple(row.consequent)): row
        for row in spark.read.parquet(str(mined / "rules")).collect()
    }
    sets = baskets(generated)
    for antecedent, consequent in [("beach", "sea"), ("sea", "beach"), ("text", "document")]:
        having = [s for s in sets if antecedent in s]
        both = [s for s in having if consequent in s]
        expected_confidence = len(both) / len(having)
        expected_lift = expected_confidence / (sum(consequent in s for s in sets) / len(sets))

        rule = rules[((antecedent,), (consequent,))]

        assert rule.confidence == pytest.approx(expected_confidence)
        assert rule.lift == pytest.approx(expected_lift)
        assert rule.support == pytest.approx(len(both) / len(sets))
        assert rule.antecedent_size == 1


def test_labels_of_different_themes_make_no_rule(spark: SparkSession, mined: Path) -> None:
    rules = spark.read.parquet(str(mined / "rules"))
    pairs = {(tuple(r.antecedent), tuple(r.consequent)) for r in rules.collect()}

    assert (("sea",), ("coffee",)) not in pairs
    assert (("dog",), ("building",)) not in pairs
    assert all(r.confidence >= 0.3 for r in rules.collect())


def test_outputs_are_partitioned_parquet(mined: Path) -> None:
    assert (mined / "rules" / "antecedent_size=1").is_dir()
    assert any(p.name.startswith("size=") for p in (mined / "itemsets").iterdir())
    assert any(p.name.startswith("topic=") for p in (mined / "media_topics").iterdir())


def test_related_labels_list_the_single_label_rules_best_first(
    spark: SparkSession, mined: Path
) -> None:
    lines = [
        json.loads(line)
        for part in (mined / "related_labels").glob("part-*.json")
        for line in part.read_text().splitlines()
    ]
    by_label = {line["label"]: line["related"] for line in lines}
    single = {
        (r.antecedent[0], r.consequent[0]): r.confidence
        for r in spark.read.parquet(str(mined / "rules")).where("antecedent_size = 1").collect()
        if len(r.consequent) == 1
    }

    sea = by_label["sea"]
    assert sea[0]["label"] == "beach"
    assert [item["confidence"] for item in sea] == sorted(
        (item["confidence"] for item in sea), reverse=True
    )
    for item in sea:
        assert item["confidence"] == pytest.approx(single[("sea", item["label"])], abs=1e-4)
    assert len(sea) <= label_mining.Options.related_per_label


def test_media_of_one_theme_share_a_topic(
    spark: SparkSession, mined: Path, generated: list[dict[str, Any]]
) -> None:
    topic_of = {
        row.media_id: row.topic for row in spark.read.parquet(str(mined / "media_topics")).collect()
    }
    theme_of = {r["media_id"]: r["theme"] for r in generated}

    purities = {}
    for theme in synthetic_catalog.THEMES:
        topics = Counter(topic_of[m] for m, t in theme_of.items() if t == theme and m in topic_of)
        purities[theme] = topics.most_common(1)[0][1] / sum(topics.values())

    # Media with no label, word or person have nothing to model.
    assert len(topic_of) == sum(bool(r["labels"] or r["words"] or r["persons"]) for r in generated)
    assert min(purities.values()) >= 0.7, purities


def test_topics_name_their_terms(spark: SparkSession, mined: Path) -> None:
    topics = spark.read.parquet(str(mined / "topics")).collect()

    assert len(topics) == 5
    assert all(len(t.terms) == len(t.termWeights) > 0 for t in topics)
    terms = {term for t in topics for term in t.terms}
    assert {"beach", "pet", "text"} <= terms


def test_a_dynamodb_export_of_the_catalog_gives_the_same_rules(
    spark: SparkSession,
    mined: Path,
    generated: list[dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The catalog table's items, as DynamoDB's ExportTableToPointInTime writes them."""
    serializer = TypeSerializer()
    root = tmp_path_factory.mktemp("dynamodb-export")
    lines = []
    for record in generated:
        items = synthetic_catalog.catalog_items(record)
        lines += [
            json.dumps({"Item": {k: serializer.serialize(v) for k, v in item.items()}}, default=str)
            for item in items
        ]
    (root / "data").mkdir()
    with gzip.open(root / "data" / "part-0.json.gz", "wt") as out:
        out.write("\n".join(lines) + "\n")
    arguments = ["--input", str(root / "data"), "--output", str(root / "out"), "--topics", "5"]
    options, _ = label_mining.parse_args(
        [
            *arguments,
            "--min-support",
            "0.02",
            "--min-confidence",
            "0.3",
            "--input-format",
            "dynamodb",
        ]
    )

    label_mining.run(spark, options)

    def rules(folder: Path) -> dict[tuple[tuple[str, ...], tuple[str, ...]], float]:
        return {
            (tuple(r.antecedent), tuple(r.consequent)): r.confidence
            for r in spark.read.parquet(str(folder / "rules")).collect()
        }

    from_export, from_lines = rules(root / "out"), rules(mined)
    assert from_export.keys() == from_lines.keys()
    for rule, confidence in from_lines.items():
        assert from_export[rule] == pytest.approx(confidence)

    folded = {record["media_id"]: record for record in written_catalog(root / "out")}
    assert folded.keys() == {record["media_id"] for record in generated}

    def labels(record: dict[str, Any]) -> list[str]:
        # An item without ``implies`` folds to a label without ``implied``.
        return sorted(
            str({**label, "implied": label.get("implied") or []}) for label in record["labels"]
        )

    for record in generated:
        assert labels(folded[record["media_id"]]) == labels(record)
        assert sorted(folded[record["media_id"]]["words"]) == sorted(record["words"])


def written_catalog(output: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for part in sorted((output / "catalog").glob("part-*"))
        for line in part.read_text().splitlines()
    ]


def test_the_records_read_are_written_for_the_batch_transform(
    mined: Path, generated: list[dict[str, Any]]
) -> None:
    written = written_catalog(mined)
    assert len(written) == len(generated)
    by_id = {record["media_id"]: record for record in written}
    for record in generated:
        assert by_id[record["media_id"]]["labels"] == record["labels"]


def test_no_success_marker_is_written(mined: Path) -> None:
    assert not list(mined.rglob("_SUCCESS"))


def test_a_labels_own_parents_and_aliases_are_left_out_of_related(
    mined: Path, generated: list[dict[str, Any]]
) -> None:
    """Rekognition returns "Pet" beside "Dog": the rule dog -> pet is its taxonomy, not news."""
    lines = [
        json.loads(line)
        for part in (mined / "related_labels").glob("part-*.json")
        for line in part.read_text().splitlines()
    ]
    implied = {
        (label["name"].lower(), parent)
        for record in generated
        for label in record["labels"]
        for parent in label["implied"]
    }
    for line in lines:
        for item in line["related"]:
            assert (line["label"], item["label"]) not in implied, (line["label"], item)
        for left_out in line.get("hierarchy", []):
            assert (line["label"], left_out) in implied
    by_label = {line["label"]: line for line in lines}
    # Dog's own parents are mined and left out; what merely co-occurs with dogs stays.
    assert {"pet", "animal", "mammal"} <= set(by_label["dog"]["hierarchy"])
    assert "pet" not in {item["label"] for item in by_label["dog"]["related"]}
    # The reverse is not Rekognition's taxonomy: an animal photo often is a pet photo.
    assert "pet" in {item["label"] for item in by_label["animal"]["related"]}
