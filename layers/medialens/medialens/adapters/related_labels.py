"""The mined label suggestions in the catalog table, where the chatbot reads them.

==============================  =======================================================
question                        key condition
==============================  =======================================================
a label's suggestions           ``pk = RELATED#<label>, sk = SUGGESTIONS``
every label with suggestions    index ``ByTerm``: ``gsi1pk = RELATED``
==============================  =======================================================

The items carry no ``media_id``, so catalog exports and media queries never meet them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from medialens.adapters.aws import dynamodb_resource
from medialens.adapters.catalog import term_key
from medialens.domain.suggester import RelatedLabel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table

SUGGESTIONS = "SUGGESTIONS"
ALL_RELATED = "RELATED"


def related_pk(label: str) -> str:
    """Partition key of a label's suggestions (labels compare case-insensitively)."""
    return term_key(ALL_RELATED, label)


class DynamoDBRelatedLabels:
    """Stores and reads each label's suggestions, one item per label.

    Parameters
    ----------
    table_name : str
        The catalog table.
    resource : DynamoDBServiceResource, optional
        Injected resource; the shared retrying one otherwise.
    """

    def __init__(self, table_name: str, resource: DynamoDBServiceResource | None = None) -> None:
        self._table: Table = (resource or dynamodb_resource()).Table(table_name)

    def replace(self, run: str, related: dict[str, tuple[RelatedLabel, ...]]) -> int:
        """Write every label's suggestions for ``run``, then delete other runs' items.

        Writing first means the chatbot never meets a label without suggestions that
        had some before; a label no longer mined disappears once the new run is in.

        Returns
        -------
        int
            Items of earlier runs deleted.
        """
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for label, suggestions in related.items():
                batch.put_item(
                    Item={
                        "pk": related_pk(label),
                        "sk": SUGGESTIONS,
                        "gsi1pk": ALL_RELATED,
                        "gsi1sk": label.strip().lower(),
                        "label": label,
                        "run": run,
                        "related": [
                            {
                                "label": s.label,
                                "confidence": Decimal(str(s.confidence)),
                                "lift": Decimal(str(s.lift)),
                            }
                            for s in suggestions
                        ],
                    }
                )
        stale = [key for key, item_run in self._listed() if item_run != run]
        with self._table.batch_writer() as batch:
            for key in stale:
                batch.delete_item(Key={"pk": key, "sk": SUGGESTIONS})
        return len(stale)

    def _listed(self) -> list[tuple[str, str]]:
        listed: list[tuple[str, str]] = []
        query = {
            "IndexName": "ByTerm",
            "KeyConditionExpression": Key("gsi1pk").eq(ALL_RELATED),
            "ProjectionExpression": "pk, #run",
            "ExpressionAttributeNames": {"#run": "run"},
        }
        while True:
            page = self._table.query(**query)  # type: ignore[arg-type]
            listed.extend((str(item["pk"]), str(item.get("run", ""))) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return listed
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def related(self, label: str) -> tuple[RelatedLabel, ...]:
        """Read a label's suggestions, best first; none when nothing was mined for it."""
        item = self._table.get_item(
            Key={"pk": related_pk(label), "sk": SUGGESTIONS}, ProjectionExpression="related"
        ).get("Item")
        if not item:
            return ()
        stored: list[dict[str, Any]] = item.get("related", [])  # type: ignore[assignment]
        return tuple(
            RelatedLabel(str(r["label"]), float(r["confidence"]), float(r["lift"])) for r in stored
        )
