"""Reads the catalog for the chatbot: searches by term, the flagged list, file lookups.

Every query uses a key or an index (``ByTerm``, ``Flagged``); user input only ever
reaches DynamoDB as an expression attribute *value*, never inside an expression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import boto3
from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import NoCredentialsError

from medialens.catalog.keys import FLAGGED, META, media_pk, term_key
from medialens.catalog.models import (
    Match,
    MediaSummary,
    MediaType,
    SearchKind,
    SearchPage,
    SearchQuery,
)
from medialens.shared.aws import dynamodb_chat_resource

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_s3 import S3Client

NAME = "NAME"
"""Term kind of a media item's file name (``NAME#beach.mp4``), for "is beach.mp4 done?"."""

_SUMMARY_FIELDS = (
    "media_id",
    "media_type",
    "#status",
    "analysed_at",
    "labels",
    "persons",
    "moderation_labels",
    "flagged",
    "source_bucket",
    "source_key",
    "version_id",
    "result_bucket",
    "result_key",
    "#name",
    "jobs",
    "rejection_detail",
    "suggested",
)
_SUMMARY_NAMES = {"#status": "status", "#name": "name"}


def summary_from_item(item: Mapping[str, Any]) -> MediaSummary:
    """Build a :class:`MediaSummary` from a catalog META item."""

    def texts(name: str) -> tuple[str, ...]:
        value = item.get(name)
        return tuple(str(v) for v in value) if isinstance(value, list | set) else ()

    def text(name: str) -> str | None:
        value = item.get(name)
        return str(value) if value is not None else None

    jobs = item.get("jobs")
    return MediaSummary(
        media_id=str(item["media_id"]),
        media_type=MediaType.VIDEO if item.get("media_type") == "video" else MediaType.PHOTO,
        status=str(item.get("status", "UNKNOWN")),
        analysed_at=text("analysed_at"),
        labels=texts("labels"),
        persons=texts("persons"),
        moderation_labels=texts("moderation_labels"),
        flagged=bool(item.get("flagged", False)),
        source_bucket=text("source_bucket"),
        source_key=text("source_key"),
        version_id=text("version_id"),
        result_bucket=text("result_bucket"),
        result_key=text("result_key"),
        name=text("name"),
        jobs={str(k): str(v) for k, v in jobs.items()} if isinstance(jobs, Mapping) else {},
        rejection_detail=text("rejection_detail"),
        suggested=texts("suggested"),
    )


def _filters(query: SearchQuery) -> ConditionBase | None:
    """Conditions the index's keys cannot express (flagged media's dates they can)."""
    conditions: list[ConditionBase] = []
    if query.media_type is MediaType.VIDEO:
        conditions.append(Attr("media_type").eq("video"))
    elif query.media_type is MediaType.PHOTO:
        conditions.append(Attr("media_type").not_exists() | Attr("media_type").ne("video"))
    if query.since is not None and query.kind is not SearchKind.FLAGGED:
        conditions.append(Attr("analysed_at").gte(query.since))
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined &= condition
    return combined


class DynamoDBCatalogSearch:
    """The catalog's read side, for the chatbot.

    Parameters
    ----------
    table_name : str
        The catalog table.
    table : Table, optional
        Injected table resource.
    resource : DynamoDBServiceResource, optional
        Injected service resource, for BatchGetItem.
    """

    def __init__(
        self,
        table_name: str,
        table: Table | None = None,
        resource: DynamoDBServiceResource | None = None,
    ) -> None:
        self._resource = resource or dynamodb_chat_resource()
        self._table = table or self._resource.Table(table_name)
        self._table_name = table_name

    def find(
        self, query: SearchQuery, *, limit: int, cursor: str | None, budget: int
    ) -> SearchPage:
        """Read one page of matches, most confident (or, when flagged, newest) first.

        Parameters
        ----------
        query : SearchQuery
        limit : int
            Matches wanted.
        cursor : str | None
            Where to resume: a previous page's cursor.
        budget : int
            Most index pages to read; filters can make a page hold no match.

        Returns
        -------
        SearchPage
        """
        if query.kind is SearchKind.FLAGGED:
            index, partition_name, sort_name, partition = "Flagged", "gsi2pk", "gsi2sk", FLAGGED
        else:
            index, partition_name, sort_name = "ByTerm", "gsi1pk", "gsi1sk"
            partition = term_key(query.kind.value, query.value or "")
        condition = _filters(query)
        key_condition: ConditionBase = Key(partition_name).eq(partition)
        if query.kind is SearchKind.FLAGGED and query.since is not None:
            # Flagged media sort by when they were flagged: "since" bounds the key range.
            key_condition &= Key(sort_name).gte(query.since)
        params: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ScanIndexForward": False,
            # One more than wanted tells whether a next page exists.
            "Limit": (limit + 1) * (4 if condition is not None else 1),
        }
        if condition is not None:
            params["FilterExpression"] = condition
        if cursor is not None:
            params["ExclusiveStartKey"] = self._start_key(index, partition, cursor)
        found: list[tuple[Match, str]] = []
        examined = 0
        last_read: str | None = None
        for _ in range(budget):
            page = self._table.query(**params)
            examined += int(page.get("ScannedCount", 0))
            for item in page.get("Items", []):
                found.append((_match(item, sort_name), str(item[sort_name])))
                if len(found) > limit:
                    return SearchPage(
                        tuple(match for match, _ in found[:limit]), found[limit - 1][1], examined
                    )
            last_evaluated = page.get("LastEvaluatedKey")
            if not last_evaluated:
                return SearchPage(tuple(match for match, _ in found), None, examined)
            last_read = str(last_evaluated[sort_name])
            params["ExclusiveStartKey"] = last_evaluated
        return SearchPage(tuple(match for match, _ in found), last_read, examined)

    @staticmethod
    def _start_key(index: str, partition: str, cursor: str) -> dict[str, Any]:
        media_id = cursor.split("#", 1)[1]
        if index == "Flagged":
            return {"pk": media_pk(media_id), "sk": META, "gsi2pk": FLAGGED, "gsi2sk": cursor}
        return {"pk": media_pk(media_id), "sk": partition, "gsi1pk": partition, "gsi1sk": cursor}

    def term_exists(self, kind: SearchKind, value: str) -> bool:
        """Whether any media item carries this term."""
        page = self._table.query(
            IndexName="ByTerm",
            KeyConditionExpression=Key("gsi1pk").eq(term_key(kind.value, value)),
            ProjectionExpression="pk",
            Limit=1,
        )
        return bool(page.get("Items"))

    def describe(self, media_ids: Sequence[str]) -> dict[str, MediaSummary]:
        """Read the catalog entries of up to 100 media items, by media id."""
        keys = [{"pk": media_pk(media_id), "sk": META} for media_id in dict.fromkeys(media_ids)]
        if not keys:
            return {}
        request: dict[str, Any] = {
            self._table_name: {
                "Keys": keys,
                "ProjectionExpression": ", ".join(_SUMMARY_FIELDS),
                "ExpressionAttributeNames": _SUMMARY_NAMES,
            }
        }
        summaries: dict[str, MediaSummary] = {}
        # Unprocessed keys are what throttling left over; botocore already backed off.
        for _ in range(3):
            response = self._resource.batch_get_item(RequestItems=request)
            for item in response.get("Responses", {}).get(self._table_name, []):
                summary = summary_from_item(item)
                summaries[summary.media_id] = summary
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
        return summaries

    def media(self, media_id: str) -> MediaSummary | None:
        """Read one media item's catalog entry."""
        item = self._table.get_item(
            Key={"pk": media_pk(media_id), "sk": META},
            ProjectionExpression=", ".join(_SUMMARY_FIELDS),
            ExpressionAttributeNames=_SUMMARY_NAMES,
        ).get("Item")
        return summary_from_item(item) if item else None

    def named(self, file_name: str, *, limit: int) -> tuple[str, ...]:
        """Media ids whose file name is ``file_name`` (any folder), newest first."""
        page = self._table.query(
            IndexName="ByTerm",
            KeyConditionExpression=Key("gsi1pk").eq(term_key(NAME, file_name)),
            ScanIndexForward=False,
            ProjectionExpression="media_id",
            Limit=limit,
        )
        return tuple(str(item["media_id"]) for item in page.get("Items", []))


def _match(item: Mapping[str, Any], sort_name: str) -> Match:
    confidence = item.get("confidence")
    seconds = item.get("seen_seconds")
    return Match(
        media_id=str(item["media_id"]),
        confidence=float(confidence) if confidence is not None else None,
        seen_seconds=tuple(sorted(int(s) for s in seconds)) if seconds else (),
        cursor=str(item[sort_name]),
    )


class S3LinkSigner:
    """Pre-signs short-lived GET links to media and results (no request is made).

    botocore's ``generate_presigned_url`` resolves the endpoint and serialises the
    request on every call (0.5 ms; five links were 85% of an answer's own time). The
    first link to a bucket comes from it, and gives the bucket's URL; later links are
    signed with the same botocore SigV4 query signer, so each URL is the one
    ``generate_presigned_url`` would give.

    Parameters
    ----------
    session : boto3.Session, optional
        Whose region and credentials sign the links; the default session otherwise.
    """

    def __init__(self, session: boto3.Session | None = None) -> None:
        self._session = session or boto3.Session()
        # Signature V4: buckets created since June 2020 refuse V2-signed links, which is
        # what botocore's S3 client still signs with unless told otherwise.
        self._client: S3Client = self._session.client("s3", config=Config(signature_version="s3v4"))
        self._bucket_urls: dict[str, str] = {}

    def link(self, bucket: str, key: str, *, version_id: str | None, expires_s: int) -> str:
        """Pre-sign a GET URL for one object version, valid ``expires_s`` seconds."""
        path = quote(key, safe="/~")
        query = "?versionId=" + quote(version_id, safe="") if version_id else ""
        if bucket not in self._bucket_urls:
            params = {"Bucket": bucket, "Key": key}
            if version_id:
                params["VersionId"] = version_id
            url = self._client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=expires_s
            )
            address = url.split("?", 1)[0]
            if address.endswith(path):
                self._bucket_urls[bucket] = address.removesuffix(path)
            return url
        request = AWSRequest(method="GET", url=self._bucket_urls[bucket] + path + query)
        credentials = self._session.get_credentials()
        if credentials is None:
            raise NoCredentialsError
        S3SigV4QueryAuth(
            credentials.get_frozen_credentials(),
            "s3",
            self._client.meta.region_name,
            expires=expires_s,
        ).add_auth(request)
        return str(request.url)
