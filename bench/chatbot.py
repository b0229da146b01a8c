"""The chatbot's code hook: latency over 1,000 Lex requests against a local catalog.

The catalog is the offline stack's (moto's server on a loopback port, as ``make demo``
and ``make chat`` run it), filled through the real writer with 200 analysed images.
Each request runs the real handler, Powertools decorators included (X-Ray off, logs and
metrics to /dev/null). Every label has mined suggestions in the catalog ("you may also
like"), as the pipeline publishes them. The time spent inside the catalog ports (the
search and the suggestions' lookup) is measured around each call; the Lambda's own share
is the rest (parsing, slot checks, wording, link signing, the response). A bare catalog
query (the index query a search makes, through the same boto3 resource) runs interleaved
with the requests, so both see the same machine state.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

REQUESTS = 1000
IMAGES = 200
OWN_SHARE_GOAL_MS = 5.0
LABELS = ("cat", "dog", "car", "beach", "person", "tree", "building", "sky", "food", "boat")
WORDS = ("invoice", "total", "exit", "sale", "receipt")


class TimedPort:
    """Forwards every call to a port and adds its duration to ``seconds``."""

    def __init__(self, port: Any) -> None:
        self._port = port
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._port, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        return timed


def event(
    intent: str, slots: dict[str, str], source: str, attributes: dict[str, str]
) -> dict[str, Any]:
    return {
        "messageVersion": "1.0",
        "invocationSource": source,
        "inputMode": "Text",
        "responseContentType": "text/plain; charset=utf-8",
        "sessionId": "bench",
        "inputTranscript": " ".join(slots.values()),
        "bot": {"id": "B", "name": "bench", "localeId": "en_US", "version": "1", "aliasId": "A"},
        "sessionState": {
            "sessionAttributes": attributes,
            "intent": {
                "name": intent,
                "slots": {
                    name: {
                        "shape": "Scalar",
                        "value": {
                            "originalValue": value,
                            "interpretedValue": value,
                            "resolvedValues": [value],
                        },
                    }
                    for name, value in slots.items()
                },
                "state": "InProgress" if source == "DialogCodeHook" else "ReadyForFulfillment",
                "confirmationState": "None",
            },
        },
    }


@contextmanager
def local_catalog() -> Iterator[tuple[str, str]]:
    """The offline stack's catalog (moto's server, as ``make demo`` runs it), filled with
    ``IMAGES`` analysed images through the real writer; yields (table, bucket)."""
    from medialens.catalog.location import CatalogLocation
    from medialens.catalog.writer import DynamoDBCatalog
    from medialens.images.models import ImageAnalysis, Label, TextDetection, TextKind
    from medialens_local.aws import CREDENTIALS, local_aws
    from medialens_local.router import forget_cached_clients

    with local_aws() as aws:
        os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": aws.endpoint})
        forget_cached_clients()
        table = aws.resolver.ref("CatalogTable")
        writer = DynamoDBCatalog(table)
        rng = random.Random(7)
        for index in range(IMAGES):
            key = f"uploads/batch-{index // 100}/img-{index:05d}.jpg"
            labels = tuple(
                Label(name.title(), rng.uniform(55, 99.9)) for name in rng.sample(LABELS, 3)
            )
            words = tuple(
                TextDetection(text=word, confidence=99.0, kind=TextKind.WORD)
                for word in rng.sample(WORDS, 1)
            )
            analysed_at = f"2026-11-{1 + index % 27:02d}T10:00:00+00:00"
            writer.record_analysis(
                ImageAnalysis(media_id=key, analysed_at=analysed_at, labels=labels, text=words),
                CatalogLocation(
                    media_id=key,
                    result_bucket=aws.bucket,
                    result_key=f"results/{key}.json",
                    source_bucket=aws.bucket,
                    source_key=key,
                ),
            )
        from medialens.workflows.related_labels import DynamoDBRelatedLabels
        from medialens.workflows.suggester import RelatedLabel

        DynamoDBRelatedLabels(table).replace(
            "bench",
            {
                label: tuple(
                    RelatedLabel(other, 0.9 - rank / 10, 2.0)
                    for rank, other in enumerate(rng.sample([o for o in LABELS if o != label], 4))
                )
                for label in LABELS
            },
        )
        yield table, aws.bucket


def requests(rng: random.Random) -> Iterator[tuple[str, dict[str, str], str]]:
    """A mix of what users ask: searches (both hooks), filters, file status, more."""
    while True:
        label = rng.choice(LABELS)
        yield "SearchMedia", {"Label": label}, "DialogCodeHook"
        yield "SearchMedia", {"Label": label, "MediaType": "photos"}, "FulfillmentCodeHook"
        yield "ShowMore", {}, "FulfillmentCodeHook"
        yield "SearchText", {"Word": rng.choice(WORDS)}, "FulfillmentCodeHook"
        yield "SearchMedia", {"Label": label, "Since": "2026-11-20"}, "FulfillmentCodeHook"
        index = rng.randrange(IMAGES)
        name = f"img-{index:05d}.jpg"
        yield "UploadStatus", {"FileName": name}, "DialogCodeHook"
        yield (
            "UploadStatus",
            {"FileName": f"uploads/batch-{index // 100}/{name}"},
            ("FulfillmentCodeHook"),
        )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def chatbot() -> list[str]:
    """Measure the code hook and a bare query side by side; return the report rows."""
    os.environ.update(
        {
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "medialens",
            "POWERTOOLS_METRICS_NAMESPACE": "Medialens",
        }
    )
    from medialens_local.router import LocalContext, load_handler

    with local_catalog() as (table, _):
        os.environ["CATALOG_TABLE"] = table
        from boto3.dynamodb.conditions import Key
        from medialens.catalog.search import DynamoDBCatalogSearch, S3LinkSigner
        from medialens.chatbot.ports import ChatPorts
        from medialens.shared.aws import dynamodb_chat_resource, dynamodb_resource
        from medialens.workflows.related_labels import DynamoDBRelatedLabels

        handler = load_handler("functions/chatbot")
        catalog = TimedPort(DynamoDBCatalogSearch(table))
        related = TimedPort(DynamoDBRelatedLabels(table, resource=dynamodb_chat_resource()))
        ports = ChatPorts(catalog=catalog, links=S3LinkSigner(), related=related)
        handler._ports = lambda settings: ports  # type: ignore[attr-defined]
        context = LocalContext(
            "bench-chatbot", "arn:aws:lambda:eu-west-1:1:function:b", 512, 10_000
        )
        bare_table = dynamodb_resource().Table(table)
        rng = random.Random(11)
        attributes: dict[str, str] = {}
        totals, own, bare = [], [], []
        listed = suggested = 0
        stream = requests(rng)
        for _ in range(REQUESTS + 50):
            intent, slots, source = next(stream)
            catalog.seconds = related.seconds = 0.0
            request = event(intent, slots, source, attributes)
            started = time.perf_counter()
            response = handler.lambda_handler(request, context)
            elapsed = time.perf_counter() - started
            attributes = response["sessionState"].get("sessionAttributes", {})
            listed += "medialens.links" in attributes
            suggested += any(
                "You may also like" in m.get("content", "") for m in response.get("messages", [])
            )
            totals.append(elapsed * 1000)
            own.append((elapsed - catalog.seconds - related.seconds) * 1000)
            label = rng.choice(LABELS)
            started = time.perf_counter()
            bare_table.query(
                IndexName="ByTerm",
                KeyConditionExpression=Key("gsi1pk").eq(f"LABEL#{label}"),
                ScanIndexForward=False,
                Limit=6,
            )
            bare.append((time.perf_counter() - started) * 1000)
        # The first requests pay for imports and connection set-up: a cold start's share.
        totals, own, bare = totals[50:], own[50:], bare[50:]
        assert json.dumps(response)
        # Answers with links found media: a catalog the handler could not see would be fast
        # and empty.
        assert listed > REQUESTS // 2, listed
        assert suggested > REQUESTS // 10, suggested
    p99_own = percentile(own, 0.99)
    met = "met" if p99_own < OWN_SHARE_GOAL_MS else "**missed**"
    return [
        f"Chatbot code hook: {REQUESTS} Lex V2 requests (searches with both hooks, filters,",
        "show more, file status) against the offline stack's DynamoDB (moto server) holding "
        f"{IMAGES} analysed images;",
        "the bare query is one ByTerm index query through the same boto3 resource, interleaved.",
        "Every label has mined suggestions; the first answer to a label search looks them up.",
        f"Goal: the Lambda's own share (request minus time in the catalog ports) under "
        f"{OWN_SHARE_GOAL_MS:g} ms p99.",
        "",
        "| measure | p50 ms | p99 ms | goal |",
        "| --- | ---: | ---: | --- |",
        f"| whole request (handler) | {statistics.median(totals):.2f} "
        f"| {percentile(totals, 0.99):.2f} | |",
        f"| own share (request minus catalog ports) | {statistics.median(own):.2f} "
        f"| {p99_own:.2f} | {met} |",
        f"| bare catalog query | {statistics.median(bare):.2f} | {percentile(bare, 0.99):.2f} | |",
        "",
        f"{listed} of {REQUESTS + 50} answers listed media with links; "
        f"{suggested} suggested related labels.",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
    ]
