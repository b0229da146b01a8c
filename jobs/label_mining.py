"""Spark MLlib over the catalog: which labels occur together, and what media is about.

Input (``--input-format jsonl``): the catalog as JSON Lines, one media item per line::

    {"media_id": "uploads/beach.jpg", "media_type": "photo",
     "analysed_at": "2026-11-27T10:00:00+00:00",
     "labels": [{"name": "Beach", "confidence": 97.1, "implied": ["landscape"]}],
     "words": ["sale"],
     "persons": ["alice"], "faces": 1,
     "moderation": [{"name": "Suggestive", "confidence": 61.0}], "flagged": false}

or (``--input-format dynamodb``) the catalog table as DynamoDB exports it to S3
(``ExportTableToPointInTime``, ``DYNAMODB_JSON``), folded into the same records.

Output, under ``--output``:

``rules/``
    FPGrowth association rules (``antecedent``, ``consequent``, ``confidence``, ``lift``,
    ``support``), Parquet partitioned by ``antecedent_size``.
``itemsets/``
    Frequent label sets with their counts, Parquet partitioned by ``size``.
``topics/``
    The LDA topics, each with its top terms and weights (Parquet).
``media_topics/``
    Each media item's dominant topic and topic weights, Parquet partitioned by ``topic``.
``related_labels/``
    For the chatbot's "you may also like": one JSON line per label with the labels that
    follow it (single-label rules), best first. A label's own parents and aliases in
    Rekognition's taxonomy (``implied`` in the input, or the catalog's ``implies`` and
    ``via``) are left out of ``related``: the catalog already finds a cat under "pet".
    They are listed in ``hierarchy`` instead, so the difference can be shown.
``catalog/``
    The records the job read, one media item per JSON line in the ``jsonl`` shape above:
    the input of the label suggester's Batch Transform, whichever format came in.

No ``_SUCCESS`` markers are written: a Batch Transform over ``catalog/`` would take one
for an input file.

Run on EMR by ``spark-submit s3://.../label_mining.py --input ... --output ...`` and
locally by ``python jobs/label_mining.py --master local[2] ...``. Every step is a
DataFrame transformation or an MLlib estimator: no record reaches the driver. The
code keeps to APIs that Spark 3.5 (EMR 7) and Spark 4 share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml.clustering import LDA
from pyspark.ml.feature import CountVectorizer
from pyspark.ml.fpm import FPGrowth
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

FINDING = StructType(
    [
        StructField("name", StringType()),
        StructField("confidence", DoubleType()),
        # A label's parents and aliases in Rekognition's taxonomy, lower-case (optional).
        StructField("implied", ArrayType(StringType())),
    ]
)
CATALOG_SCHEMA = StructType(
    [
        StructField("media_id", StringType()),
        StructField("media_type", StringType()),
        StructField("analysed_at", StringType()),
        StructField("labels", ArrayType(FINDING)),
        StructField("words", ArrayType(StringType())),
        StructField("persons", ArrayType(StringType())),
        StructField("faces", IntegerType()),
        StructField("moderation", ArrayType(FINDING)),
        StructField("flagged", BooleanType()),
    ]
)
"""The export's shape, given rather than inferred: inference would read the input twice."""


@dataclass(frozen=True)
class Options:
    """The job's parameters (see :func:`parse_args`)."""

    input: str
    output: str
    min_support: float = 0.02
    min_confidence: float = 0.3
    min_label_confidence: float = 50.0
    topics: int = 8
    max_iterations: int = 20
    vocabulary: int = 5000
    related_per_label: int = 5
    seed: int = 7
    input_format: str = "jsonl"


def parse_args(argv: Sequence[str]) -> tuple[Options, str | None]:
    """Read the command line: the options, and the Spark master if one is given.

    Parameters
    ----------
    argv : Sequence[str]
        The arguments after the script name.

    Returns
    -------
    tuple[Options, str | None]
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--input", required=True, help="catalog export, JSON Lines (a path or URI)")
    parser.add_argument("--output", required=True, help="where the results go (a path or URI)")
    parser.add_argument("--min-support", type=float, default=Options.min_support)
    parser.add_argument("--min-confidence", type=float, default=Options.min_confidence)
    parser.add_argument(
        "--min-label-confidence",
        type=float,
        default=Options.min_label_confidence,
        help="labels below this Rekognition confidence are left out",
    )
    parser.add_argument("--topics", type=int, default=Options.topics)
    parser.add_argument("--max-iterations", type=int, default=Options.max_iterations)
    parser.add_argument("--vocabulary", type=int, default=Options.vocabulary)
    parser.add_argument("--related-per-label", type=int, default=Options.related_per_label)
    parser.add_argument("--seed", type=int, default=Options.seed)
    parser.add_argument(
        "--input-format",
        choices=("jsonl", "dynamodb"),
        default=Options.input_format,
        help="jsonl: one media item per line; dynamodb: the catalog table's DynamoDB export",
    )
    parser.add_argument("--master", help="Spark master for a local run, e.g. local[2]")
    args = parser.parse_args(argv)
    options = Options(
        input=args.input,
        output=args.output.rstrip("/"),
        min_support=args.min_support,
        min_confidence=args.min_confidence,
        min_label_confidence=args.min_label_confidence,
        topics=args.topics,
        max_iterations=args.max_iterations,
        vocabulary=args.vocabulary,
        related_per_label=args.related_per_label,
        seed=args.seed,
        input_format=args.input_format,
    )
    return options, args.master


DYNAMODB_EXPORT_SCHEMA = StructType(
    [
        StructField(
            "Item",
            StructType(
                [
                    StructField(name, StructType([StructField(kind, StringType())]))
                    for name, kind in (
                        ("sk", "S"),
                        ("media_id", "S"),
                        ("value", "S"),
                        ("confidence", "N"),
                        ("media_type", "S"),
                        ("analysed_at", "S"),
                        ("via", "S"),
                    )
                ]
                + [StructField("flagged", StructType([StructField("BOOL", BooleanType())]))]
                + [
                    StructField(
                        "implies",
                        StructType(
                            [
                                StructField(
                                    "L", ArrayType(StructType([StructField("S", StringType())]))
                                )
                            ]
                        ),
                    )
                ]
            ),
        )
    ]
)
"""The attributes of a DynamoDB export (``DYNAMODB_JSON``) of the catalog the job reads."""


def from_dynamodb_export(items: DataFrame) -> DataFrame:
    """Fold the catalog table's items, exported by DynamoDB, into one record per media item.

    The export holds one ``{"Item": {...}}`` per line in DynamoDB's typed JSON; a media
    item is its ``META`` item plus one item per label, word, person and moderation label.
    A label's parents and aliases (items with ``via``) are left out: their rules ("cat"
    comes with "animal") are Rekognition's taxonomy, not something mined.
    """
    flat = items.select(
        F.col("Item.sk.S").alias("sk"),
        F.col("Item.media_id.S").alias("media_id"),
        F.col("Item.value.S").alias("value"),
        F.col("Item.confidence.N").cast("double").alias("confidence"),
        F.col("Item.media_type.S").alias("media_type"),
        F.col("Item.analysed_at.S").alias("analysed_at"),
        F.col("Item.flagged.BOOL").alias("flagged"),
        F.col("Item.via.S").alias("via"),
        F.transform(F.col("Item.implies.L"), lambda value: value["S"]).alias("implied"),
    ).where(F.col("media_id").isNotNull() & F.col("via").isNull())
    kind = F.split("sk", "#").getItem(0)
    finding = F.struct(
        F.col("value").alias("name"),
        F.col("confidence").alias("confidence"),
        F.col("implied").alias("implied"),
    )
    meta = F.col("sk") == "META"
    return flat.groupBy("media_id").agg(
        F.max(F.when(meta, F.col("media_type"))).alias("media_type"),
        F.max(F.when(meta, F.col("analysed_at"))).alias("analysed_at"),
        F.collect_list(F.when(kind == "LABEL", finding)).alias("labels"),
        F.collect_list(F.when(kind == "WORD", F.col("value"))).alias("words"),
        F.collect_list(F.when(kind == "PERSON", F.col("value"))).alias("persons"),
        F.lit(None).cast("int").alias("faces"),
        F.collect_list(
            F.when(
                kind == "MODERATION",
                F.struct(
                    F.col("value").alias("name"),
                    F.col("confidence").alias("confidence"),
                    F.lit(None).cast(ArrayType(StringType())).alias("implied"),
                ),
            )
        ).alias("moderation"),
        F.max(F.when(meta, F.col("flagged"))).alias("flagged"),
    )


def implied_by_via(items: DataFrame) -> DataFrame:
    """``(label, implied)`` pairs from a DynamoDB export's parent and alias items.

    The catalog writes a label's parents and aliases as items of their own, with ``via``
    naming the label; where one was also detected on its own, that item won and only
    the label's ``implies`` list still tells it.
    """
    return (
        items.where(F.col("Item.via.S").isNotNull() & F.col("Item.value.S").isNotNull())
        .select(
            F.lower(F.trim(F.col("Item.via.S"))).alias("label"),
            F.lower(F.trim(F.col("Item.value.S"))).alias("implied"),
        )
        .distinct()
    )


def implied_by_labels(catalog: DataFrame) -> DataFrame:
    """``(label, implied)`` pairs: each label's parents and aliases, as the records give them."""
    labels = catalog.select(F.explode("labels").alias("label"))
    return (
        labels.select(
            F.lower(F.trim(F.col("label.name"))).alias("label"),
            F.explode(F.coalesce(F.col("label.implied"), F.array().cast("array<string>"))).alias(
                "implied"
            ),
        )
        .select("label", F.lower(F.trim("implied")).alias("implied"))
        .distinct()
    )


def media_terms(catalog: DataFrame, min_label_confidence: float) -> DataFrame:
    """Each media item's distinct labels (lower-case) and its terms for topic modelling.

    Terms are the labels plus ``word:<word>`` and ``person:<id>``, so that documents
    and faces shape the topics too.
    """
    confident = F.filter("labels", lambda label: label["confidence"] >= min_label_confidence)
    labels = F.array_distinct(
        F.filter(
            F.transform(confident, lambda label: F.lower(F.trim(label["name"]))),
            lambda name: name != "",
        )
    )
    words = F.transform(
        F.coalesce("words", F.array()), lambda w: F.concat(F.lit("word:"), F.lower(w))
    )
    persons = F.transform(F.coalesce("persons", F.array()), lambda p: F.concat(F.lit("person:"), p))
    return catalog.select(
        "media_id",
        F.coalesce("media_type", F.lit("photo")).alias("media_type"),
        labels.alias("items"),
        F.array_distinct(F.concat(labels, words, persons)).alias("terms"),
    )


def mine_rules(items: DataFrame, options: Options) -> tuple[DataFrame, DataFrame]:
    """FPGrowth over the label sets: frequent itemsets and association rules."""
    baskets = items.where(F.size("items") > 0)
    model = FPGrowth(
        itemsCol="items", minSupport=options.min_support, minConfidence=options.min_confidence
    ).fit(baskets)
    itemsets = model.freqItemsets.withColumn("size", F.size("items"))
    rules = model.associationRules.withColumn("antecedent_size", F.size("antecedent"))
    return itemsets, rules


def related_labels(rules: DataFrame, per_label: int, hierarchy: DataFrame) -> DataFrame:
    """For each label, the labels its single-label rules lead to, most confident first.

    A consequent that is the label's own parent or alias (a pair of ``hierarchy``) is
    Rekognition's taxonomy rediscovered, not a co-occurrence: it goes to ``hierarchy``,
    not ``related``.
    """
    single = (
        rules.where((F.size("antecedent") == 1) & (F.size("consequent") == 1))
        .select(
            F.col("antecedent")[0].alias("label"),
            F.struct(
                F.col("consequent")[0].alias("label"),
                F.round("confidence", 4).alias("confidence"),
                F.round("lift", 4).alias("lift"),
            ).alias("related"),
        )
        .join(
            hierarchy.select(
                F.col("label").alias("h_label"), F.col("implied"), F.lit(True).alias("is_implied")
            ),
            (F.col("label") == F.col("h_label")) & (F.col("related.label") == F.col("implied")),
            "left",
        )
    )
    ranked = single.groupBy("label").agg(
        F.sort_array(
            F.collect_list(
                F.when(
                    F.col("is_implied").isNull(),
                    F.struct(F.col("related.confidence"), F.col("related")),
                )
            ),
            asc=False,
        ).alias("kept"),
        F.sort_array(
            F.collect_list(
                F.when(F.col("is_implied"), F.struct(F.col("related.confidence"), F.col("related")))
            ),
            asc=False,
        ).alias("implied"),
    )
    return ranked.select(
        "label",
        F.slice(F.col("kept.related"), 1, per_label).alias("related"),
        F.col("implied.related.label").alias("hierarchy"),
    )


def model_topics(terms: DataFrame, options: Options) -> tuple[DataFrame, DataFrame]:
    """LDA over the media's terms: the topics (top terms) and each media item's topic."""
    documents = terms.where(F.size("terms") > 0)
    vectorizer = CountVectorizer(
        inputCol="terms", outputCol="features", vocabSize=options.vocabulary, minDF=1.0
    ).fit(documents)
    features = vectorizer.transform(documents)
    lda = LDA(
        k=options.topics,
        maxIter=options.max_iterations,
        seed=options.seed,
        optimizer="online",
        featuresCol="features",
    ).fit(features)
    vocabulary = F.array(*[F.lit(term) for term in vectorizer.vocabulary])
    topics = lda.describeTopics(maxTermsPerTopic=10).select(
        "topic",
        F.transform("termIndices", lambda index: vocabulary[index]).alias("terms"),
        "termWeights",
    )
    weights = vector_to_array(F.col("topicDistribution"))
    media = (
        lda.transform(features)
        .select("media_id", "media_type", weights.alias("weights"))
        .withColumn("topic", F.expr("array_position(weights, array_max(weights))") - 1)
        .withColumn("topic", F.col("topic").cast("int"))
    )
    return topics, media


def run(spark: SparkSession, options: Options) -> None:
    """Read the export, mine the rules and the topics, write every output."""
    if options.input_format == "dynamodb":
        items = spark.read.schema(DYNAMODB_EXPORT_SCHEMA).json(options.input)
        catalog = from_dynamodb_export(items)
        hierarchy = implied_by_labels(catalog).union(implied_by_via(items)).distinct()
    else:
        catalog = spark.read.schema(CATALOG_SCHEMA).json(options.input)
        hierarchy = implied_by_labels(catalog)
    terms = media_terms(catalog, options.min_label_confidence).cache()
    itemsets, rules = mine_rules(terms.select("items"), options)
    rules = rules.cache()
    writer = {"mode": "overwrite"}
    rules.write.partitionBy("antecedent_size").parquet(f"{options.output}/rules", **writer)
    itemsets.write.partitionBy("size").parquet(f"{options.output}/itemsets", **writer)
    related_labels(rules, options.related_per_label, hierarchy).write.json(
        f"{options.output}/related_labels", **writer
    )
    catalog.write.json(f"{options.output}/catalog", **writer)
    topics, media = model_topics(terms, options)
    topics.write.parquet(f"{options.output}/topics", **writer)
    media.write.partitionBy("topic").parquet(f"{options.output}/media_topics", **writer)
    rules.unpersist()
    terms.unpersist()


def session(master: str | None, app_name: str = "medialens-label-mining") -> SparkSession:
    """Start the Spark session: the cluster's under spark-submit, a local one with ``master``."""
    builder = SparkSession.builder.appName(app_name).config(
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"
    )
    if master is not None:
        builder = (
            builder.master(master)
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
        )
    return builder.getOrCreate()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for spark-submit and local runs."""
    options, master = parse_args(sys.argv[1:] if argv is None else argv)
    spark = session(master)
    try:
        run(spark, options)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
