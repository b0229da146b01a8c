"""The mined label suggestions in the catalog table, where the chatbot reads them.

==============================  =======================================================
question                        key condition
==============================  =======================================================
a label's suggestions           ``pk = RELATED#<label>, sk = SUGGESTIONS``
the labels of the latest run    ``pk = RELATED, sk = MANIFEST`` (read consistently)
==============================  =======================================================

The items carry no ``media_id`` and no index keys, so catalog exports, media queries
and the term index never meet them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from medialens.catalog.keys import term_key
from medialens.shared.aws import dynamodb_resource
from medialens.workflows.suggester import RelatedLabel

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table

SUGGESTIONS = "SUGGESTIONS"
ALL_RELATED = "RELATED"
MANIFEST = "MANIFEST"


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
        """Write every label's suggestions for ``run``, then delete the labels it dropped.

        The labels of the latest run are listed in a manifest item, read consistently:
        what the previous manifest names and this run does not is deleted, after this
        run's items and manifest are written, so the chatbot never meets a label
        without suggestions that still has some. A deletion is conditional on the item
        still being the previous run's: one another run wrote meanwhile stays.

        Returns
        -------
        int
            Labels of earlier runs deleted.
        """
        previous = self._table.get_item(
            Key={"pk": ALL_RELATED, "sk": MANIFEST}, ConsistentRead=True
        ).get("Item", {})
        with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as batch:
            for label, suggestions in related.items():
                batch.put_item(
                    Item={
                        "pk": related_pk(label),
                        "sk": SUGGESTIONS,
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
        current = {related_pk(label) for label in related}
        self._table.put_item(
            Item={"pk": ALL_RELATED, "sk": MANIFEST, "run": run, "keys": sorted(current)}
        )
        listed: list[str] = previous.get("keys", [])  # type: ignore[assignment]
        stale = sorted(set(listed) - current)
        previous_run = str(previous.get("run", ""))
        return sum(self._delete_if_written_by(key, previous_run) for key in stale)

    def _delete_if_written_by(self, key: str, run: str) -> bool:
        try:
            self._table.delete_item(
                Key={"pk": key, "sk": SUGGESTIONS},
                ConditionExpression="#run = :run",
                ExpressionAttributeNames={"#run": "run"},
                ExpressionAttributeValues={":run": run},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

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
