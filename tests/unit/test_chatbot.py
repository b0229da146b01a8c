"""The chatbot's code hooks, driven with Lex V2 events against an in-memory catalog."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from medialens.catalog.models import (
    Match,
    MediaSummary,
    MediaType,
    SearchKind,
    SearchPage,
    SearchQuery,
)
from medialens.chatbot.conversation import Conversation
from medialens.chatbot.dialog import INTENT_HANDLERS, respond
from medialens.chatbot.ports import ChatPorts
from medialens.chatbot.settings import ChatbotSettings
from medialens.chatbot.turn import APOLOGY, CONVERSATION_ATTRIBUTE, LINKS_ATTRIBUTE, LINKS_BUDGET
from medialens.shared.observability import logger, metrics
from medialens.workflows.suggester import RelatedLabel

from tests.support.lex_contract import assert_valid_lex_response

TODAY = date(2026, 11, 27)
SETTINGS = ChatbotSettings(catalog_table="t")

# ---------------------------------------------------------------- events


def slot(
    original: str, interpreted: str | None = None, resolved: Sequence[str] | None = None
) -> dict[str, Any]:
    """A Scalar slot; by default interpreted as said and resolved to itself."""
    value = original if interpreted is None else interpreted
    return {
        "shape": "Scalar",
        "value": {
            "originalValue": original,
            "interpretedValue": value,
            "resolvedValues": [value] if resolved is None else list(resolved),
        },
    }


def lex_event(
    intent: str,
    slots: Mapping[str, dict[str, Any] | None] | None = None,
    *,
    source: str = "FulfillmentCodeHook",
    mode: str = "Text",
    attributes: Mapping[str, str] | None = None,
    confirmation: str = "None",
    transcript: str = "",
) -> dict[str, Any]:
    """A Lex V2 code-hook event in the documented shape."""
    return {
        "messageVersion": "1.0",
        "invocationSource": source,
        "inputMode": mode,
        "responseContentType": "text/plain; charset=utf-8",
        "sessionId": "session-1",
        "inputTranscript": transcript,
        "bot": {
            "id": "BOTID",
            "name": "medialens",
            "aliasId": "TSTALIASID",
            "aliasName": "TestBotAlias",
            "localeId": "en_US",
            "version": "DRAFT",
        },
        "requestAttributes": None,
        "sessionState": {
            "sessionAttributes": dict(attributes or {}),
            "intent": {
                "name": intent,
                "slots": dict(slots or {}),
                "state": "ReadyForFulfillment" if source == "FulfillmentCodeHook" else "InProgress",
                "confirmationState": confirmation,
            },
        },
    }


def dialog(intent: str, slots: Mapping[str, dict[str, Any] | None], **kw: Any) -> dict[str, Any]:
    return lex_event(intent, slots, source="DialogCodeHook", **kw)


# ---------------------------------------------------------------- fakes


@dataclass(frozen=True)
class Term:
    """One searchable term of a media item, as the catalog indexes it."""

    kind: SearchKind
    value: str
    media_id: str
    confidence: float | None
    seen_seconds: tuple[int, ...]
    analysed_at: str | None
    media_type: MediaType


@dataclass
class FakeCatalog:
    """An in-memory catalog with the real read behaviour (ordering, filters, paging)."""

    entries: list[MediaSummary] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    fail_with: BaseException | None = None
    asked_terms: list[tuple[SearchKind, str]] = field(default_factory=list)
    queries: list[tuple[SearchQuery, int, str | None]] = field(default_factory=list)
    issued_cursors: list[str] = field(default_factory=list)
    match_cursors: set[str] = field(default_factory=set)

    def add(
        self,
        summary: MediaSummary,
        kind: SearchKind | None = None,
        value: str = "",
        confidence: float | None = None,
        seconds: tuple[int, ...] = (),
    ) -> MediaSummary:
        """Hold a media entry and, optionally, one term it carries."""
        self.entries.append(summary)
        if kind is not None:
            self.terms.append(
                Term(
                    kind,
                    value.strip().lower(),
                    summary.media_id,
                    confidence,
                    seconds,
                    summary.analysed_at,
                    summary.media_type,
                )
            )
        return summary

    def _check(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with

    def _entry(self, media_id: str) -> MediaSummary | None:
        return next((e for e in self.entries if e.media_id == media_id), None)

    def find(
        self, query: SearchQuery, *, limit: int, cursor: str | None, budget: int
    ) -> SearchPage:
        self._check()
        assert limit >= 1
        assert budget >= 1
        self.queries.append((query, limit, cursor))
        if cursor is not None:
            issued = cursor in self.issued_cursors or cursor in self.match_cursors
            assert issued, f"cursor {cursor!r} was never issued"
        rows: list[tuple[str, Match, MediaType, str | None]] = []
        if query.kind is SearchKind.FLAGGED:
            for entry in self.entries:
                if entry.flagged and entry.analysed_at:
                    key = f"{entry.analysed_at}#{entry.media_id}"
                    rows.append((key, Match(entry.media_id), entry.media_type, entry.analysed_at))
        else:
            wanted = (query.value or "").strip().lower()
            for term in self.terms:
                if term.kind is query.kind and term.value == wanted:
                    key = f"{term.confidence or 0:07.3f}#{term.media_id}"
                    match = Match(term.media_id, term.confidence, term.seen_seconds)
                    rows.append((key, match, term.media_type, term.analysed_at))
        rows.sort(key=lambda row: row[0], reverse=True)
        after = [row for row in rows if cursor is None or row[0] < cursor]
        kept = [
            row
            for row in after
            if (query.media_type is None or row[2] is query.media_type)
            and (query.since is None or (row[3] or "") >= query.since)
        ]
        page = kept[:limit]
        more = len(kept) > limit
        next_cursor = page[-1][0] if more else None
        if next_cursor is not None:
            self.issued_cursors.append(next_cursor)
        # Like the real search, each match says where to resume just after it.
        self.match_cursors.update(row[0] for row in page)
        return SearchPage(
            tuple(replace(row[1], cursor=row[0]) for row in page), next_cursor, examined=len(after)
        )

    def term_exists(self, kind: SearchKind, value: str) -> bool:
        self._check()
        self.asked_terms.append((kind, value))
        wanted = value.strip().lower()
        return any(t.kind is kind and t.value == wanted for t in self.terms)

    def describe(self, media_ids: Sequence[str]) -> dict[str, MediaSummary]:
        self._check()
        assert len(media_ids) <= 100
        return {e.media_id: e for e in self.entries if e.media_id in media_ids}

    def media(self, media_id: str) -> MediaSummary | None:
        self._check()
        return self._entry(media_id)

    def named(self, file_name: str, *, limit: int) -> tuple[str, ...]:
        self._check()
        wanted = file_name.strip().lower()
        found = [e for e in self.entries if e.media_id.rsplit("/", 1)[-1].lower() == wanted]
        found.sort(key=lambda e: e.analysed_at or "", reverse=True)
        return tuple(e.media_id for e in found[:limit])


@dataclass
class FakeSigner:
    """Makes deterministic links, optionally as long as a session-token-signed URL."""

    padding: int = 0
    signed: list[tuple[str, str, str | None, int]] = field(default_factory=list)

    def link(self, bucket: str, key: str, *, version_id: str | None, expires_s: int) -> str:
        self.signed.append((bucket, key, version_id, expires_s))
        return (
            f"https://{bucket}.s3.amazonaws.com/{key}?versionId={version_id}"
            f"&X-Amz-Expires={expires_s}&X-Amz-Security-Token={'T' * self.padding}"
        )


@dataclass
class FakeRelated:
    """Mined suggestions by label, as the catalog answers them (none by default)."""

    by_label: dict[str, tuple[RelatedLabel, ...]] = field(default_factory=dict)
    fail_with: BaseException | None = None
    asked: list[str] = field(default_factory=list)

    def related(self, label: str) -> tuple[RelatedLabel, ...]:
        self.asked.append(label)
        if self.fail_with is not None:
            raise self.fail_with
        return self.by_label.get(label.strip().lower(), ())


def photo(media_id: str, day: int = 1, **kw: Any) -> MediaSummary:
    return MediaSummary(
        media_id=media_id,
        media_type=MediaType.PHOTO,
        status=kw.pop("status", "ANALYSED"),
        analysed_at=f"2026-11-{day:02d}T10:00:00Z",
        source_bucket="media",
        source_key=media_id,
        version_id="v1",
        result_bucket="results",
        result_key=f"results/{media_id}.json",
        **kw,
    )


def video(media_id: str, day: int = 1, **kw: Any) -> MediaSummary:
    return replace(photo(media_id, day, **kw), media_type=MediaType.VIDEO)


@dataclass
class Bot:
    """One chat session: sends events, keeps the session attributes like Lex does."""

    catalog: FakeCatalog
    signer: FakeSigner = field(default_factory=FakeSigner)
    settings: ChatbotSettings = SETTINGS
    related: FakeRelated = field(default_factory=FakeRelated)
    attributes: dict[str, str] = field(default_factory=dict)

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        response = respond(
            event,
            ports=ChatPorts(catalog=self.catalog, links=self.signer, related=self.related),
            settings=self.settings,
            today=TODAY,
        )
        assert_valid_lex_response(response)
        self.attributes = dict(response["sessionState"].get("sessionAttributes", {}))
        return response

    def ask(
        self,
        intent: str,
        slots: Mapping[str, dict[str, Any] | None] | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        return self.send(lex_event(intent, slots, attributes=self.attributes, **kw))

    def check(
        self, intent: str, slots: Mapping[str, dict[str, Any] | None], **kw: Any
    ) -> dict[str, Any]:
        return self.send(dialog(intent, slots, attributes=self.attributes, **kw))


# ---------------------------------------------------------------- response helpers


def action(response: Mapping[str, Any]) -> str:
    return str(response["sessionState"]["dialogAction"]["type"])


def intent_of(response: Mapping[str, Any]) -> dict[str, Any]:
    intent = response["sessionState"]["intent"]
    assert isinstance(intent, dict)
    return intent


def interpreted(response: Mapping[str, Any], name: str) -> str | None:
    value = intent_of(response)["slots"].get(name)
    return None if value is None else str(value["value"]["interpretedValue"])


def texts(response: Mapping[str, Any]) -> list[str]:
    return [m["content"] for m in response.get("messages", []) if m["contentType"] == "PlainText"]


def text(response: Mapping[str, Any]) -> str:
    return "\n".join(texts(response))


def cards(response: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        m["imageResponseCard"]
        for m in response.get("messages", [])
        if m["contentType"] == "ImageResponseCard"
    ]


def listed(response: Mapping[str, Any]) -> list[str]:
    """Media ids listed in a text-mode answer ("1. media/id (photo, 90%)")."""
    return re.findall(r"^\d+\. (\S+) \(", text(response), flags=re.MULTILINE)


def attribute(response: Mapping[str, Any], name: str) -> str | None:
    value = response["sessionState"].get("sessionAttributes", {}).get(name)
    return None if value is None else str(value)


def conversation(response: Mapping[str, Any]) -> Conversation:
    return Conversation.load(attribute(response, CONVERSATION_ATTRIBUTE))


def closed(response: Mapping[str, Any], state: str) -> bool:
    return action(response) == "Close" and intent_of(response)["state"] == state


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def catalog() -> FakeCatalog:
    """A small catalog: dogs, a cat, words, people, flagged media, files."""
    return small_catalog()


def small_catalog() -> FakeCatalog:
    """Build :func:`catalog`'s catalog (for other modules' fixtures)."""
    fake = FakeCatalog()
    fake.add(photo("uploads/dog-park.jpg", 3), SearchKind.LABEL, "dog", 97.5)
    fake.add(video("uploads/dog-run.mp4", 5), SearchKind.LABEL, "dog", 88.0, (3, 4, 5, 40))
    fake.add(photo("uploads/cat.jpg", 4), SearchKind.LABEL, "cat", 91.0)
    fake.add(photo("scans/bill.png", 6, labels=("Document",)), SearchKind.WORD, "invoice", 99.0)
    fake.add(
        photo("uploads/team.jpg", 7, persons=("alice-smith",)),
        SearchKind.PERSON,
        "alice-smith",
        99.9,
    )
    fake.add(
        photo("uploads/fight.jpg", 10, flagged=True, moderation_labels=("Violence",)),
        SearchKind.MODERATION,
        "violence",
        90.0,
    )
    fake.add(video("uploads/late.mp4", 20, flagged=True), SearchKind.MODERATION, "violence", 70.0)
    return fake


@pytest.fixture
def bot(catalog: FakeCatalog) -> Bot:
    return Bot(catalog)


# ---------------------------------------------------------------- every intent, every hook

HOOKS: dict[str, tuple[str, ...]] = {
    "SearchMedia": ("DialogCodeHook", "FulfillmentCodeHook"),
    "SearchText": ("DialogCodeHook", "FulfillmentCodeHook"),
    "SearchPerson": ("DialogCodeHook", "FulfillmentCodeHook"),
    "UploadStatus": ("DialogCodeHook", "FulfillmentCodeHook"),
    "FlaggedMedia": ("DialogCodeHook", "FulfillmentCodeHook"),
    "RefineSearch": ("DialogCodeHook", "FulfillmentCodeHook"),
    "ShowMore": ("FulfillmentCodeHook",),
    "Help": ("FulfillmentCodeHook",),
    "FallbackIntent": ("FulfillmentCodeHook",),
}

TYPICAL_SLOTS: dict[str, dict[str, dict[str, Any] | None]] = {
    "SearchMedia": {"Label": slot("dogs", "dog"), "MediaType": None, "Since": None},
    "SearchText": {"Word": slot("invoice"), "MediaType": None},
    "SearchPerson": {"Person": slot("alice smith"), "MediaType": None},
    "UploadStatus": {"FileName": slot("cat.jpg")},
    "FlaggedMedia": {"ModerationLabel": None, "MediaType": None, "Since": None},
    "RefineSearch": {"MediaType": slot("videos", "video")},
    "ShowMore": {},
    "Help": {},
    "FallbackIntent": {},
}


def test_every_intent_of_the_bot_has_a_handler() -> None:
    assert set(INTENT_HANDLERS) == set(HOOKS)


@pytest.mark.parametrize(
    ("name", "source"), [(name, source) for name, sources in HOOKS.items() for source in sources]
)
def test_every_intent_and_hook_gets_a_valid_answer(bot: Bot, name: str, source: str) -> None:
    bot.ask("SearchMedia", {"Label": slot("dog")})  # something for ShowMore and RefineSearch

    response = bot.send(
        lex_event(name, TYPICAL_SLOTS[name], source=source, attributes=bot.attributes)
    )

    assert text(response) != APOLOGY
    assert intent_of(response)["name"] == name
    if source == "DialogCodeHook":
        assert action(response) == "Delegate"
    elif name == "FallbackIntent":
        assert closed(response, "Failed")
    else:
        assert closed(response, "Fulfilled")
        assert texts(response)


# ---------------------------------------------------------------- dialog hook: terms


@pytest.mark.parametrize(
    ("said", "interpreted_as", "expected"),
    [("dog", None, "dog"), ("Dog", "Dog", "dog"), ("dogs", None, "dog"), ("DOGS ", None, "dog")],
)
def test_a_known_label_is_delegated_normalised(
    bot: Bot, said: str, interpreted_as: str | None, expected: str
) -> None:
    response = bot.check("SearchMedia", {"Label": slot(said, interpreted_as), "MediaType": None})

    assert action(response) == "Delegate"
    assert interpreted(response, "Label") == expected
    assert intent_of(response)["slots"]["Label"]["value"]["originalValue"] == said
    assert "MediaType" in intent_of(response)["slots"]


def test_a_near_miss_is_offered_and_yes_accepts_it(bot: Bot) -> None:
    response = bot.check(
        "SearchMedia", {"Label": slot("doggo", "doggo", ["dog"]), "MediaType": None}
    )

    # Not ConfirmIntent: Lex takes that from a code hook only where the intent's
    # confirmation step is active at build time, which would confirm every search.
    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "Label"
    assert "dog?" in text(response)
    assert "doggo" in text(response)
    [card] = cards(response)
    assert [b["value"] for b in card["buttons"]] == ["dog"]

    accepted = bot.check("SearchMedia", {"Label": slot("yes", "yes", []), "MediaType": None})

    assert action(accepted) == "Delegate"
    assert interpreted(accepted, "Label") == "dog"
    assert conversation(accepted).suggested is None


def test_a_declined_suggestion_asks_for_the_slot_again(bot: Bot) -> None:
    bot.check("SearchMedia", {"Label": slot("doggo", "doggo", ["dog"])})

    response = bot.check("SearchMedia", {"Label": slot("no", "no", [])})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "Label"
    assert intent_of(response)["slots"]["Label"] is None
    assert "Which label" in text(response)


def test_yes_means_nothing_without_a_suggestion(bot: Bot) -> None:
    response = bot.check("SearchMedia", {"Label": slot("yes", "yes", [])})

    assert action(response) == "ElicitSlot"
    assert "'yes'" in text(response)


def test_reprompts_are_counted_per_intent_and_slot(bot: Bot) -> None:
    for _ in range(SETTINGS.max_reprompts):
        bot.check("SearchMedia", {"Label": slot("zeppelin", "zeppelin", [])})

    response = bot.check("SearchText", {"Word": slot("qwxz", "qwxz", [])})

    assert action(response) == "ElicitSlot"
    assert conversation(response).asking == "SearchText.Word"
    assert conversation(response).reprompts == 1


def test_several_near_misses_are_listed_on_a_card(bot: Bot) -> None:
    response = bot.check("SearchMedia", {"Label": slot("pet", "pet", ["dog", "cat", "hamster"])})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "Label"
    assert "dog" in text(response)
    assert "cat" in text(response)
    assert "hamster" not in text(response)
    [card] = cards(response)
    assert [b["value"] for b in card["buttons"]] == ["dog", "cat"]


def test_an_unknown_label_is_asked_for_again_then_given_up(bot: Bot) -> None:
    for _ in range(SETTINGS.max_reprompts):
        response = bot.check("SearchMedia", {"Label": slot("zeppelin", "zeppelin", [])})
        assert action(response) == "ElicitSlot"
        assert response["sessionState"]["dialogAction"]["slotToElicit"] == "Label"
        assert "zeppelin" in text(response)
        assert "For example" in text(response)

    response = bot.check("SearchMedia", {"Label": slot("zeppelin", "zeppelin", [])})

    assert closed(response, "Failed")
    assert "start again" in text(response)
    assert conversation(response).reprompts == 0


def test_reprompts_reset_once_an_answer_is_usable(bot: Bot) -> None:
    bot.check("SearchMedia", {"Label": slot("zeppelin", "zeppelin", [])})
    assert Conversation.load(bot.attributes[CONVERSATION_ATTRIBUTE]).reprompts == 1

    response = bot.check("SearchMedia", {"Label": slot("dog")})

    assert action(response) == "Delegate"
    assert conversation(response).reprompts == 0


def test_a_vocabulary_value_without_media_is_delegated_and_answered_none_yet(bot: Bot) -> None:
    response = bot.check("SearchMedia", {"Label": slot("giraffes", "giraffe", ["giraffe"])})

    assert action(response) == "Delegate"
    assert interpreted(response, "Label") == "giraffe"

    answer = bot.ask("SearchMedia", {"Label": slot("giraffes", "giraffe", ["giraffe"])})

    assert closed(answer, "Fulfilled")
    assert "no " in text(answer)
    assert "giraffe" in text(answer)
    assert "yet" in text(answer)


def test_an_invalid_media_type_is_asked_for_again(bot: Bot) -> None:
    response = bot.check("SearchMedia", {"Label": slot("dog"), "MediaType": slot("sandwich")})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "MediaType"
    assert intent_of(response)["slots"]["MediaType"] is None
    assert interpreted(response, "Label") == "dog"


@pytest.mark.parametrize(("said", "expected"), [("clips", "video"), ("pictures", "photo")])
def test_a_media_type_synonym_is_normalised(bot: Bot, said: str, expected: str) -> None:
    response = bot.check("SearchMedia", {"Label": slot("dog"), "MediaType": slot(said)})

    assert action(response) == "Delegate"
    assert interpreted(response, "MediaType") == expected


@pytest.mark.parametrize(
    ("said", "value", "expected"),
    [
        ("November first", "2026-11-01", "2026-11-01"),
        ("today", "2026-11-27", "2026-11-27"),
        ("November 20th", "2027-11-20", "2026-11-20"),
        ("Monday", "2026-11-30", "2026-11-23"),
        ("December 25th 2030", "2030-12-25", "2025-12-25"),
        ("New Year's Day 2031", "2031-01-01", "2026-01-01"),
        ("29 February 2028", "2028-02-29", "2026-02-28"),
    ],
)
def test_since_dates(bot: Bot, said: str, value: str, expected: str) -> None:
    response = bot.check("SearchMedia", {"Label": slot("dog"), "Since": slot(said, value)})

    assert action(response) == "Delegate"
    assert interpreted(response, "Since") == expected


def test_a_since_date_is_never_in_the_future_however_far_ahead_it_was_said(bot: Bot) -> None:
    for days_ahead in range(1, 12 * 366, 29):
        said = (TODAY + timedelta(days=days_ahead)).isoformat()
        response = bot.check("SearchMedia", {"Label": slot("dog"), "Since": slot(said, said)})
        since = date.fromisoformat(interpreted(response, "Since") or "")
        assert TODAY - timedelta(days=366) < since <= TODAY, said


def test_a_since_that_is_not_a_date_is_asked_for_again(bot: Bot) -> None:
    response = bot.check("SearchMedia", {"Label": slot("dog"), "Since": slot("whenever")})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "Since"
    assert "whenever" in text(response)


def test_a_future_since_date_filters_the_search_a_year_back(bot: Bot, catalog: FakeCatalog) -> None:
    response = bot.ask("SearchMedia", {"Label": slot("dog"), "Since": slot("Nov 4", "2027-11-04")})

    assert closed(response, "Fulfilled")
    query = catalog.queries[-1][0]
    assert query.since == "2026-11-04"
    assert listed(response) == ["uploads/dog-run.mp4"]


def test_a_person_is_found_under_its_person_id(bot: Bot) -> None:
    response = bot.check("SearchPerson", {"Person": slot("Alice Smith")})

    assert action(response) == "Delegate"
    assert interpreted(response, "Person") == "alice-smith"

    answer = bot.ask("SearchPerson", {"Person": slot("Alice Smith", "alice-smith")})
    assert listed(answer) == ["uploads/team.jpg"]


def test_a_person_the_catalog_lacks_is_not_named_in_the_info_log(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    bot.check("SearchPerson", {"Person": slot("Zelda Unknown", resolved=[])})
    bot.check("SearchMedia", {"Label": slot("zeppelin", resolved=[])})

    lines = [json.loads(line) for line in log.getvalue().splitlines()]
    logged = [line for line in lines if line["message"] == "Term not in the catalog"]
    assert [line["kind"] for line in logged] == ["PERSON", "LABEL"]
    assert "zelda" not in json.dumps(lines).lower()
    assert "zeppelin" in logged[1]["term"]


def test_a_word_is_searched_without_its_punctuation(bot: Bot, catalog: FakeCatalog) -> None:
    response = bot.check("SearchText", {"Word": slot("Invoice!")})

    assert action(response) == "Delegate"
    assert interpreted(response, "Word") == "invoice"

    answer = bot.ask("SearchText", {"Word": slot("the invoice")})
    assert catalog.queries[-1][0].value == "invoice"
    assert listed(answer) == ["scans/bill.png"]


# ---------------------------------------------------------------- fulfilment: pages


@pytest.fixture
def dozen() -> FakeCatalog:
    """Twelve dog photos and videos with distinct confidences."""
    fake = FakeCatalog()
    for n in range(12):
        make = video if n % 3 == 0 else photo
        fake.add(make(f"uploads/dog{n:02d}.jpg", n + 1), SearchKind.LABEL, "dog", 60.0 + n)
    return fake


def test_show_more_continues_where_the_page_ended(dozen: FakeCatalog) -> None:
    bot = Bot(dozen)
    expected = [f"uploads/dog{n:02d}.jpg" for n in reversed(range(12))]

    first = bot.ask("SearchMedia", {"Label": slot("dogs", "dog")})
    second = bot.ask("ShowMore")
    third = bot.ask("ShowMore")
    fourth = bot.ask("ShowMore")

    pages = [listed(first), listed(second), listed(third)]
    assert [len(page) for page in pages] == [5, 5, 2]
    assert pages[0] + pages[1] + pages[2] == expected
    assert conversation(first).cursor is not None
    assert conversation(third).cursor is None
    assert conversation(third).shown == 12
    assert closed(fourth, "Fulfilled")
    assert "That was everything" in text(fourth)
    assert "12" in text(fourth)
    assert len(dozen.queries) == 3
    assert [cursor for _, _, cursor in dozen.queries][1:] == dozen.issued_cursors


def test_a_page_is_at_most_page_size(dozen: FakeCatalog) -> None:
    bot = Bot(dozen, settings=replace(SETTINGS, page_size=3))

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    assert len(listed(response)) == 3
    assert dozen.queries[-1][1] == 3


def test_refine_search_reruns_the_last_query_filtered(dozen: FakeCatalog) -> None:
    bot = Bot(dozen)
    bot.ask("SearchMedia", {"Label": slot("dog")})
    bot.ask("ShowMore")

    checked = bot.check("RefineSearch", {"MediaType": slot("only videos", "videos")})
    assert action(checked) == "Delegate"
    assert interpreted(checked, "MediaType") == "video"

    response = bot.ask("RefineSearch", {"MediaType": slot("videos", "video")})

    query, _, cursor = dozen.queries[-1]
    assert query == SearchQuery(SearchKind.LABEL, "dog", MediaType.VIDEO)
    assert cursor is None
    assert listed(response) == [
        "uploads/dog09.jpg",
        "uploads/dog06.jpg",
        "uploads/dog03.jpg",
        "uploads/dog00.jpg",
    ]
    assert "videos with dog" in text(response).lower()


def test_refine_search_without_a_media_type_asks_for_it(bot: Bot) -> None:
    bot.ask("SearchMedia", {"Label": slot("dog")})

    response = bot.ask("RefineSearch", {"MediaType": None})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "MediaType"


@pytest.mark.parametrize(
    ("name", "slots"), [("ShowMore", {}), ("RefineSearch", {"MediaType": slot("video")})]
)
def test_continuing_without_a_previous_search_fails_politely(
    bot: Bot, catalog: FakeCatalog, name: str, slots: dict[str, Any]
) -> None:
    response = bot.ask(name, slots)

    assert closed(response, "Failed")
    assert text(response) != APOLOGY
    assert "search" in text(response)
    assert catalog.queries == []


def test_show_more_ignores_a_tampered_cursor(dozen: FakeCatalog) -> None:
    bot = Bot(dozen)
    bot.ask("SearchMedia", {"Label": slot("dog")})
    data = json.loads(bot.attributes[CONVERSATION_ATTRIBUTE])
    data["cursor"] = "' OR 1=1 --"
    bot.attributes[CONVERSATION_ATTRIBUTE] = json.dumps(data)

    response = bot.ask("ShowMore")

    assert text(response) != APOLOGY
    assert all(cursor != "' OR 1=1 --" for _, _, cursor in dozen.queries)


def test_an_empty_result(bot: Bot) -> None:
    response = bot.ask("SearchMedia", {"Label": slot("cat"), "MediaType": slot("video")})

    assert closed(response, "Fulfilled")
    assert "no videos with cat" in text(response)
    assert attribute(response, LINKS_ATTRIBUTE) in (None, "[]")


def test_flagged_media_newest_first(bot: Bot, catalog: FakeCatalog) -> None:
    response = bot.ask("FlaggedMedia", {"ModerationLabel": None})

    assert catalog.queries[-1][0].kind is SearchKind.FLAGGED
    assert listed(response) == ["uploads/late.mp4", "uploads/fight.jpg"]


def test_flagged_media_with_a_moderation_label(bot: Bot, catalog: FakeCatalog) -> None:
    checked = bot.check("FlaggedMedia", {"ModerationLabel": slot("Violence")})
    assert action(checked) == "Delegate"
    assert interpreted(checked, "ModerationLabel") == "violence"

    response = bot.ask(
        "FlaggedMedia", {"ModerationLabel": slot("Violence", "violence"), "MediaType": None}
    )

    assert catalog.queries[-1][0] == SearchQuery(SearchKind.MODERATION, "violence")
    assert listed(response) == ["uploads/fight.jpg", "uploads/late.mp4"]


def test_links_come_from_the_signer(bot: Bot) -> None:
    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    raw = attribute(response, LINKS_ATTRIBUTE)
    assert raw is not None
    links = json.loads(raw)
    assert [link["media_id"] for link in links] == ["uploads/dog-park.jpg", "uploads/dog-run.mp4"]
    assert links[0]["file"] == bot.signer.link(
        "media", "uploads/dog-park.jpg", version_id="v1", expires_s=SETTINGS.link_expiry_s
    )
    assert ("media", "uploads/dog-run.mp4", "v1", SETTINGS.link_expiry_s) in bot.signer.signed


def test_links_stay_within_their_budget(dozen: FakeCatalog) -> None:
    bot = Bot(dozen, signer=FakeSigner(padding=1300))

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    raw = attribute(response, LINKS_ATTRIBUTE)
    assert raw is not None
    assert len(raw) <= LINKS_BUDGET
    links = json.loads(raw)
    assert 1 <= len(links) < 5
    assert [link["media_id"] for link in links] == listed(response)[: len(links)]


def test_old_links_are_not_carried_into_the_next_answer(bot: Bot) -> None:
    bot.ask("SearchMedia", {"Label": slot("dog")})
    assert LINKS_ATTRIBUTE in bot.attributes

    response = bot.ask("Help")

    assert attribute(response, LINKS_ATTRIBUTE) is None


def test_caller_session_attributes_are_kept(bot: Bot) -> None:
    bot.attributes = {"client": "web", "user": "u-1"}

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    assert attribute(response, "client") == "web"
    assert attribute(response, "user") == "u-1"


def test_spoken_answers_have_no_card_and_no_urls(dozen: FakeCatalog) -> None:
    bot = Bot(dozen)

    response = bot.ask("SearchMedia", {"Label": slot("dog")}, mode="Speech")

    assert cards(response) == []
    assert texts(response)
    assert "http" not in text(response)
    assert "uploads/" not in text(response)
    assert "dog11" in text(response)
    assert "more" in text(response)


def test_text_answers_have_a_card_of_at_most_three_buttons(dozen: FakeCatalog) -> None:
    bot = Bot(dozen)

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    [card] = cards(response)
    assert 1 <= len(card["buttons"]) <= 3
    assert card["buttons"][0]["value"] == "show me more"


def test_video_matches_say_when_they_are_seen(bot: Bot) -> None:
    response = bot.ask("SearchMedia", {"Label": slot("dog"), "MediaType": slot("video")})

    assert "uploads/dog-run.mp4 (video, seen at 0:03-0:05, 0:40)" in text(response)


def test_a_long_list_is_cut_at_a_line(catalog: FakeCatalog) -> None:
    for n in range(25):
        catalog.add(photo(f"uploads/{'x' * 90}{n:02d}.jpg"), SearchKind.LABEL, "x", 50.0 + n)
    settings = replace(SETTINGS, page_size=25)

    response = Bot(catalog, settings=settings).ask("SearchMedia", {"Label": slot("x")})

    assert closed(response, "Fulfilled")
    assert 1 <= len(listed(response)) < 25


# ---------------------------------------------------------------- you may also like

DOG_RULES = {
    "dog": (
        RelatedLabel("pet", 0.95, 5.1),
        RelatedLabel("animal", 0.94, 5.1),
        RelatedLabel("mammal", 0.83, 5.2),
        RelatedLabel("cat", 0.51, 4.8),
    ),
    "x": (RelatedLabel("pet", 0.95, 5.1), RelatedLabel("animal", 0.94, 5.1)),
}
SUGGESTED = "You may also like: pet, animal, mammal."


def suggesting(
    catalog: FakeCatalog, rules: Mapping[str, tuple[RelatedLabel, ...]] = DOG_RULES, **kw: Any
) -> Bot:
    return Bot(catalog, related=FakeRelated(dict(rules)), **kw)


def suggestion_line(response: Mapping[str, Any]) -> str | None:
    """The "You may also like ..." ending of an answer, if it has one."""
    found = [content for content in texts(response) if "may also like" in content]
    assert len(found) <= 1, found
    if not found:
        return None
    assert found[0] == texts(response)[-1], "the suggestions end the answer"
    # A line of its own (written), or the last clause of the one sentence (spoken).
    written = found[0].find("\nYou may also like")
    if written >= 0:
        return found[0][written + 1 :]
    start = found[0].index("; you may also like")
    return "Y" + found[0][start + 3 :]


def buttons(response: Mapping[str, Any]) -> list[tuple[str, str]]:
    [card] = cards(response)
    return [(b["text"], b["value"]) for b in card.get("buttons", [])]


@pytest.fixture
def clean_metrics() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_a_label_search_ends_with_the_three_best_related_labels(catalog: FakeCatalog) -> None:
    bot = suggesting(catalog)

    response = bot.ask("SearchMedia", {"Label": slot("dogs", "dog")})

    assert closed(response, "Fulfilled")
    assert listed(response) == ["uploads/dog-park.jpg", "uploads/dog-run.mp4"]
    assert suggestion_line(response) == SUGGESTED
    assert bot.related.asked == ["dog"]


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        ("", "You may also like: beach, pet, leash."),
        ("show me dogs on the beach", "You may also like: pet, leash, ball."),
    ],
)
def test_labels_the_user_asked_for_are_not_suggested(
    catalog: FakeCatalog, transcript: str, expected: str
) -> None:
    rules = {
        "dog": (
            RelatedLabel("dogs", 0.99, 5.0),
            RelatedLabel("Dog", 0.98, 5.0),
            RelatedLabel("beach", 0.97, 5.0),
            RelatedLabel("pet", 0.96, 5.0),
            RelatedLabel("Pet ", 0.95, 5.0),
            RelatedLabel("leash", 0.9, 5.0),
            RelatedLabel("ball", 0.8, 5.0),
            RelatedLabel("park", 0.7, 5.0),
        )
    }
    bot = suggesting(catalog, rules)

    response = bot.ask("SearchMedia", {"Label": slot("dogs", "dog")}, transcript=transcript)

    assert suggestion_line(response) == expected


def test_a_label_without_mined_suggestions_is_answered_as_before(catalog: FakeCatalog) -> None:
    plain = Bot(catalog).ask("SearchMedia", {"Label": slot("cat")})
    with_rules = suggesting(catalog).ask("SearchMedia", {"Label": slot("cat")})

    assert suggestion_line(with_rules) is None
    assert texts(with_rules) == texts(plain)
    assert cards(with_rules) == cards(plain)


def test_only_a_label_searchs_first_answer_suggests(dozen: FakeCatalog) -> None:
    bot = suggesting(dozen)

    first = bot.ask("SearchMedia", {"Label": slot("dog")})
    more = bot.ask("ShowMore")
    # "only videos" is a new search (listed from 1 again), so it suggests again.
    videos = bot.ask("RefineSearch", {"MediaType": slot("videos", "video")})

    assert suggestion_line(first) == SUGGESTED
    assert suggestion_line(more) is None
    assert suggestion_line(videos) == SUGGESTED
    assert bot.related.asked == ["dog", "dog"]


@pytest.mark.parametrize(
    ("name", "slots"),
    [
        ("SearchText", {"Word": slot("invoice")}),
        ("SearchPerson", {"Person": slot("alice smith")}),
        ("FlaggedMedia", {"ModerationLabel": slot("violence")}),
        ("FlaggedMedia", {}),
        ("UploadStatus", {"FileName": slot("cat.jpg")}),
    ],
)
def test_other_searches_suggest_nothing(
    catalog: FakeCatalog, name: str, slots: dict[str, Any]
) -> None:
    rules = {value: DOG_RULES["dog"] for value in ("invoice", "alice-smith", "violence")}
    bot = suggesting(catalog, rules)

    response = bot.ask(name, slots)

    assert closed(response, "Fulfilled")
    assert suggestion_line(response) is None
    assert bot.related.asked == []


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [
        pytest.param(
            None,
            [
                ("Only videos", "only videos"),
                ("Only photos", "only photos"),
                ("pet", "search for pet"),
            ],
            id="both-kinds",
        ),
        pytest.param(
            slot("photos", "photo"),
            [
                ("Only videos", "only videos"),
                ("pet", "show me photos with pet"),
                ("animal", "show me photos with animal"),
            ],
            id="photos-only",
        ),
    ],
)
def test_suggestions_take_the_cards_free_buttons_after_the_refinements(
    catalog: FakeCatalog, media_type: dict[str, Any] | None, expected: list[tuple[str, str]]
) -> None:
    response = suggesting(catalog).ask(
        "SearchMedia", {"Label": slot("dog"), "MediaType": media_type}
    )

    assert buttons(response) == expected


def test_a_full_card_keeps_show_more_and_the_refinements(dozen: FakeCatalog) -> None:
    response = suggesting(dozen).ask("SearchMedia", {"Label": slot("dog")})

    assert buttons(response) == [
        ("Show more", "show me more"),
        ("Only videos", "only videos"),
        ("Only photos", "only photos"),
    ]
    assert suggestion_line(response) == SUGGESTED


def test_a_suggestion_button_too_long_for_lex_is_left_out(catalog: FakeCatalog) -> None:
    long_label = "a rather long label of forty characters"
    rules = {"dog": (RelatedLabel(long_label, 0.9, 5.0), RelatedLabel("pet", 0.8, 5.0))}

    response = suggesting(catalog, rules).ask(
        "SearchMedia", {"Label": slot("dog"), "MediaType": slot("photo")}
    )

    assert suggestion_line(response) == f"You may also like: {long_label}, pet."
    assert buttons(response) == [("Only videos", "only videos"), ("pet", "show me photos with pet")]


def test_a_spoken_answer_says_the_suggestions_in_its_one_sentence(dozen: FakeCatalog) -> None:
    response = suggesting(dozen).ask("SearchMedia", {"Label": slot("dog")}, mode="Speech")

    assert cards(response) == []
    [sentence] = texts(response)
    assert sentence.startswith("Here are photos and videos with dog: ")
    assert sentence.endswith(
        "; say 'more' for the next ones; you may also like pet, animal and mammal."
    )


def test_a_search_that_found_nothing_suggests_what_goes_with_it(catalog: FakeCatalog) -> None:
    response = suggesting(catalog).ask(
        "SearchMedia", {"Label": slot("dog"), "Since": slot("2026-11-26")}
    )

    assert closed(response, "Fulfilled")
    assert texts(response) == [
        "I have no photos and videos with dog since 2026-11-26 yet.\n" + SUGGESTED
    ]
    assert buttons(response) == [
        ("Only videos", "only videos"),
        ("Only photos", "only photos"),
        ("pet", "search for pet"),
    ]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(
            ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetItem"
            ),
            id="client-error",
        ),
        pytest.param(
            ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com/"),
            id="timeout",
        ),
        pytest.param(KeyError("related"), id="malformed-item"),
    ],
)
def test_a_failing_lookup_answers_without_suggestions(
    catalog: FakeCatalog,
    error: BaseException,
    clean_metrics: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    bot = suggesting(catalog)
    bot.related.fail_with = error
    plain = Bot(catalog).ask("SearchMedia", {"Label": slot("dog")})

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    assert closed(response, "Fulfilled")
    assert texts(response) == texts(plain)
    assert cards(response) == cards(plain)
    assert "RelatedLabelsUnavailable" in metrics.metric_set
    assert "ChatbotErrors" not in metrics.metric_set
    [warning] = [json.loads(line) for line in log.getvalue().splitlines()]
    assert warning["level"] == "WARNING"
    assert warning["message"] == "Related labels unavailable"
    assert warning["label"] == "dog"
    assert warning["reason"].startswith(type(error).__name__)


LONG_RULES = {
    "x": (
        RelatedLabel("the lighthouse keeper's cottage on the cliffs", 0.9, 5.0),
        RelatedLabel("harbour wall at low tide", 0.8, 5.0),
        RelatedLabel("fishing boat", 0.7, 5.0),
    )
}


@pytest.mark.parametrize("mode", ["Text", "Speech"])
def test_suggestions_never_push_results_out_of_a_full_message(mode: str) -> None:
    settings = replace(SETTINGS, page_size=25)
    endings: set[str | None] = set()
    for length in range(60, 160):
        catalog = FakeCatalog()
        for n in range(25):
            media_id = f"uploads/{'x' * length}{n:02d}.jpg"
            catalog.add(photo(media_id), SearchKind.LABEL, "x", 50.0 + n)

        plain = Bot(catalog, settings=settings).ask("SearchMedia", {"Label": slot("x")}, mode=mode)
        suggested = suggesting(catalog, LONG_RULES, settings=settings).ask(
            "SearchMedia", {"Label": slot("x")}, mode=mode
        )

        # The same results, counted as shown the same way; every message within Lex's limit
        # (the contract checks every response).
        assert conversation(suggested) == conversation(plain), length
        assert texts(suggested)[:-1] == texts(plain)[:-1], length
        line = suggestion_line(suggested)
        if mode == "Text":
            ending = "" if line is None else "\n" + line
            assert texts(suggested)[-1] == texts(plain)[-1] + ending, length
        else:
            # Spoken, the suggestions end the answer's one sentence.
            assert line is not None
            assert texts(suggested)[-1] == f"{texts(plain)[-1][:-1]}; y{line[1:]}", length
        endings.add(line)

    cottage, wall, boat = (r.label for r in LONG_RULES["x"])
    if mode == "Text":
        # Some lists leave room for every suggestion, some for the best ones, some for none.
        assert endings == {
            f"You may also like: {cottage}, {wall}, {boat}.",
            f"You may also like: {cottage}, {wall}.",
            f"You may also like: {cottage}.",
            None,
        }
    else:
        # A spoken list is kept short enough to be listened to: there is always room.
        assert endings == {f"You may also like {cottage}, {wall} and {boat}."}


# ---------------------------------------------------------------- upload status


@pytest.fixture
def files() -> FakeCatalog:
    fake = FakeCatalog()
    fake.add(photo("uploads/beach.mp4", 2))
    fake.add(photo("holiday/sunset.jpg", 3))
    fake.add(photo("a/cat.jpg", 4))
    fake.add(photo("b/cat.jpg", 5))
    fake.add(
        photo("uploads/park.jpg", 6, labels=("Dog", "Grass", "Tree", "Ball"), persons=("bob",))
    )
    fake.add(
        photo(
            "uploads/huge.tif",
            7,
            status="REJECTED",
            rejection_detail="the image is larger than 15 MB",
        )
    )
    fake.add(
        video(
            "uploads/film.mp4",
            8,
            status="IN_PROGRESS",
            jobs={
                "LABEL_DETECTION": "SUCCEEDED",
                "FACE_DETECTION": "SUCCEEDED",
                "TEXT_DETECTION": "FAILED",
                "CONTENT_MODERATION": "SUCCEEDED",
                "PERSON_TRACKING": "IN_PROGRESS",
                "SEGMENT_DETECTION": "STARTING",
            },
        )
    )
    fake.add(
        video(
            "uploads/clip.mp4",
            9,
            status="PARTIAL",
            jobs={"LABEL_DETECTION": "SUCCEEDED", "CONTENT_MODERATION": "FAILED"},
        )
    )
    return fake


@pytest.mark.parametrize(
    ("said", "mode", "expected"),
    [
        ("uploads/beach.mp4", "Text", "uploads/beach.mp4"),
        ("beach.mp4", "Text", "uploads/beach.mp4"),
        ("beach.mp4?", "Text", "uploads/beach.mp4"),
        ("sunset.jpg", "Text", "holiday/sunset.jpg"),
        ("beach dot mp4", "Speech", "uploads/beach.mp4"),
    ],
)
def test_upload_status_finds_the_file(
    files: FakeCatalog, said: str, mode: str, expected: str
) -> None:
    response = Bot(files).check("UploadStatus", {"FileName": slot(said)}, mode=mode)

    assert action(response) == "Delegate"
    assert interpreted(response, "FileName") == expected


def test_upload_status_asks_which_of_several_files(files: FakeCatalog) -> None:
    response = Bot(files).check("UploadStatus", {"FileName": slot("cat.jpg")})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "FileName"
    assert "a/cat.jpg" in text(response)
    assert "b/cat.jpg" in text(response)
    [card] = cards(response)
    assert {b["value"] for b in card["buttons"]} == {"a/cat.jpg", "b/cat.jpg"}


def test_a_file_choice_button_finds_its_file(files: FakeCatalog) -> None:
    folder = "uploads/2026/november/family-holiday-in-the-mountains"
    files.add(photo(f"{folder}/day-one/portrait.jpg", 11))
    files.add(photo(f"{folder}/day-two/portrait.jpg", 12))
    bot = Bot(files)

    response = bot.check("UploadStatus", {"FileName": slot("portrait.jpg")})

    assert action(response) == "ElicitSlot"
    [card] = cards(response)
    for button in card["buttons"]:
        chosen = bot.check("UploadStatus", {"FileName": slot(button["value"])})
        assert action(chosen) == "Delegate", button["value"]


def test_upload_status_of_an_unknown_file(files: FakeCatalog) -> None:
    response = Bot(files).check("UploadStatus", {"FileName": slot("nothing.png")})

    assert action(response) == "ElicitSlot"
    assert response["sessionState"]["dialogAction"]["slotToElicit"] == "FileName"
    assert "nothing.png" in text(response)


def test_upload_status_without_a_file_name(files: FakeCatalog) -> None:
    bot = Bot(files)

    assert action(bot.check("UploadStatus", {"FileName": None})) == "Delegate"
    response = bot.ask("UploadStatus", {"FileName": None})
    assert action(response) == "ElicitSlot"


def test_status_of_an_analysed_photo(files: FakeCatalog) -> None:
    bot = Bot(files)

    response = bot.ask("UploadStatus", {"FileName": slot("park.jpg", "uploads/park.jpg")})

    assert closed(response, "Fulfilled")
    message = text(response)
    assert "uploads/park.jpg is done" in message
    assert "2026-11-06" in message
    assert "Dog" in message
    assert "Tree" in message
    assert "1 more" in message
    assert "bob" in message
    raw = attribute(response, LINKS_ATTRIBUTE)
    assert raw is not None
    [links] = json.loads(raw)
    assert set(links) == {"media_id", "file", "results"}


def test_status_tells_suggested_labels_apart_from_detected_ones() -> None:
    catalog = FakeCatalog()
    catalog.add(photo("uploads/park.jpg", 6, labels=("Dog",), suggested=("leash", "ball")))

    response = Bot(catalog).ask("UploadStatus", {"FileName": slot("park.jpg", "uploads/park.jpg")})

    message = text(response)
    assert "It shows Dog." in message
    assert "It may also show leash and ball (suggested, not detected)." in message


def test_status_of_a_rejected_file(files: FakeCatalog) -> None:
    response = Bot(files).ask("UploadStatus", {"FileName": slot("huge.tif")})

    assert closed(response, "Fulfilled")
    assert "could not be analysed" in text(response)
    assert "larger than 15 MB" in text(response)


def test_status_of_a_video_in_progress(files: FakeCatalog) -> None:
    response = Bot(files).ask("UploadStatus", {"FileName": slot("film.mp4")})

    assert "still being analysed" in text(response)
    assert "4 of 6" in text(response)
    assert "person tracking" in text(response)


def test_status_of_a_partial_video(files: FakeCatalog) -> None:
    response = Bot(files).ask("UploadStatus", {"FileName": slot("clip.mp4")})

    message = text(response)
    assert "content moderation did not succeed" in message
    assert "label" not in message.split("but")[-1]


def test_spoken_status_uses_the_spoken_name(files: FakeCatalog) -> None:
    response = Bot(files).ask("UploadStatus", {"FileName": slot("beach dot mp4")}, mode="Speech")

    assert closed(response, "Fulfilled")
    assert cards(response) == []
    assert "beach" in text(response)
    assert "uploads/" not in text(response)


# ---------------------------------------------------------------- unknown and fallback


def test_an_unknown_intent_fails_with_help(bot: Bot) -> None:
    response = bot.ask("OrderPizza", {"Topping": slot("ham")})

    assert closed(response, "Failed")
    assert intent_of(response)["name"] == "OrderPizza"
    assert "I can find photos and videos" in text(response)
    assert text(response) != APOLOGY


def test_fallback_fails_with_help(bot: Bot) -> None:
    response = bot.ask("FallbackIntent", {}, transcript="what is the weather")

    assert closed(response, "Failed")
    assert "didn't understand" in text(response)
    assert "I can find photos and videos" in text(response)
    [card] = cards(response)
    assert card["buttons"]


def test_help(bot: Bot) -> None:
    response = bot.ask("Help")

    assert closed(response, "Fulfilled")
    assert "I can find photos and videos" in text(response)


# ---------------------------------------------------------------- hostile input

INJECTIONS = [
    pytest.param('dog" OR 1=1', id="quote-or"),
    pytest.param("#LABEL#cat", id="key-separators"),
    pytest.param("' ; DROP TABLE catalog; --", id="sql"),
    pytest.param("Ünïcødé 猫 🐕", id="unicode"),
    pytest.param('{"S": "x"} AND attribute_exists(pk)', id="dynamodb-expression"),
    pytest.param("w" * 300, id="long-300"),
    pytest.param("q" * 1000, id="long-1000"),
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_hostile_values_reach_the_catalog_verbatim(
    bot: Bot, catalog: FakeCatalog, value: str
) -> None:
    checked = bot.check("SearchMedia", {"Label": slot(value, value, [])})

    assert (SearchKind.LABEL, value.lower()) in catalog.asked_terms
    assert action(checked) == "ElicitSlot"
    assert text(checked) != APOLOGY

    answer = bot.ask("SearchMedia", {"Label": slot(value, value, [])})

    assert closed(answer, "Fulfilled")
    assert catalog.queries[-1][0].value == value.lower()
    assert text(answer) != APOLOGY


@pytest.mark.parametrize("value", INJECTIONS)
def test_hostile_values_that_are_catalog_terms_are_found(catalog: FakeCatalog, value: str) -> None:
    catalog.add(photo("uploads/odd.jpg"), SearchKind.LABEL, value, 80.0)
    bot = Bot(catalog)

    checked = bot.check("SearchMedia", {"Label": slot(value)})
    answer = bot.ask("SearchMedia", {"Label": slot(value)})

    assert action(checked) == "Delegate"
    assert interpreted(checked, "Label") == value.lower()
    assert listed(answer) == ["uploads/odd.jpg"]


# ---------------------------------------------------------------- failures


def _client_error() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "Query",
    )


@pytest.mark.parametrize("error", [_client_error(), RuntimeError("boom")])
@pytest.mark.parametrize(
    ("name", "source", "slots"),
    [
        ("SearchMedia", "DialogCodeHook", {"Label": slot("dog")}),
        ("SearchMedia", "FulfillmentCodeHook", {"Label": slot("dog")}),
        ("UploadStatus", "FulfillmentCodeHook", {"FileName": slot("cat.jpg")}),
        ("FlaggedMedia", "FulfillmentCodeHook", {}),
    ],
)
def test_a_catalog_failure_becomes_an_apology(
    catalog: FakeCatalog,
    error: BaseException,
    name: str,
    source: str,
    slots: dict[str, Any],
) -> None:
    catalog.fail_with = error
    attributes = {"client": "web", CONVERSATION_ATTRIBUTE: Conversation(shown=2).dump()}
    event = lex_event(name, slots, source=source, attributes=attributes)

    response = respond(
        event, ports=ChatPorts(catalog, FakeSigner(), FakeRelated()), settings=SETTINGS, today=TODAY
    )

    assert_valid_lex_response(response)
    assert closed(response, "Failed")
    assert intent_of(response)["name"] == name
    assert texts(response) == [APOLOGY]
    # The caller's attributes stay; the bot's memory, which may be what failed, does not.
    assert response["sessionState"]["sessionAttributes"] == {"client": "web"}


def test_a_malformed_event_becomes_an_apology(catalog: FakeCatalog) -> None:
    event = lex_event("SearchMedia", {"Label": slot("dog")})
    del event["sessionState"]

    response = respond(
        event, ports=ChatPorts(catalog, FakeSigner(), FakeRelated()), settings=SETTINGS, today=TODAY
    )

    assert_valid_lex_response(response)
    assert closed(response, "Failed")
    assert intent_of(response)["name"] == "FallbackIntent"
    assert texts(response) == [APOLOGY]
    assert catalog.asked_terms == []


def test_a_malformed_slot_keeps_the_intent_name(catalog: FakeCatalog) -> None:
    event = lex_event("SearchMedia", {"Label": "dog"})  # type: ignore[dict-item]

    response = respond(
        event, ports=ChatPorts(catalog, FakeSigner(), FakeRelated()), settings=SETTINGS, today=TODAY
    )

    assert_valid_lex_response(response)
    assert closed(response, "Failed")
    assert intent_of(response)["name"] == "SearchMedia"
    assert texts(response) == [APOLOGY]


@pytest.mark.parametrize(
    "tampered",
    [
        pytest.param('{"query": {"kind": "DROP"}, "shown": "x"}', id="unknown-kind"),
        pytest.param('{"query": {"kind": "LABEL", "value": "dog"}, "shown": 1e400}', id="inf"),
        pytest.param("{not json", id="bad-json"),
    ],
)
def test_a_tampered_conversation_is_forgotten(bot: Bot, tampered: str) -> None:
    bot.attributes = {CONVERSATION_ATTRIBUTE: tampered}

    response = bot.ask("ShowMore")

    assert closed(response, "Failed")
    assert text(response) != APOLOGY
