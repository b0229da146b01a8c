"""The chatbot's code hook end to end: Lex V2 events in, Lex V2 responses out.

The catalog is the template's table in moto, filled by the real writer
(``DynamoDBCatalog``); the function runs with the environment the template gives
ChatbotFunction. Every response is checked against the documented response format
(required fields per dialog action, message and session-attribute limits), and every AWS
call against ChatbotRole.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import botocore.session
import pytest
import requests
from botocore.exceptions import ReadTimeoutError
from medialens.catalog.location import CatalogLocation
from medialens.catalog.writer import DynamoDBCatalog
from medialens.chatbot.conversation import Conversation
from medialens.chatbot.settings import ChatbotSettings
from medialens.chatbot.turn import APOLOGY, CONVERSATION_ATTRIBUTE, LINKS_ATTRIBUTE
from medialens.images.models import (
    FaceMatch,
    ImageAnalysis,
    IndexedFace,
    Label,
    ModerationLabel,
    TextDetection,
    TextKind,
)
from medialens.video.models import JobState, VideoTerm
from medialens.workflows.related_labels import DynamoDBRelatedLabels
from medialens.workflows.suggester import RelatedLabel
from medialens_local.template import Resolver
from moto import mock_aws

from tests.conftest import SETUP_SESSION_MARK
from tests.support.lex_contract import (
    INPUT_LIMIT,
    INTENT_STATES,
    assert_valid_slot,
)
from tests.support.lex_contract import assert_valid_lex_response as assert_lex_contract
from tests.support.stack import (
    ACCOUNT_ID,
    REGION,
    ROOT,
    STACK_NAME,
    as_list,
    bucket_name,
    create_table,
    granted_actions,
    load_handler,
    resource,
    statements_of,
    template,
)

EVENT_FILES = sorted((ROOT / "events").glob("lex_*.json"))

# ------------------------------------------------------------------ the bot in the template


def bot_intents() -> dict[str, dict[str, Any]]:
    """The bot's intents in template.yaml, by name."""
    locale = resource("MediaBot")["Properties"]["BotLocales"][0]
    return {intent["Name"]: intent for intent in locale["Intents"]}


def slots_of(intent_name: str) -> set[str]:
    return {slot["Name"] for slot in bot_intents()[intent_name].get("Slots", [])}


HOOKS = {"DialogCodeHook": "DialogCodeHook", "FulfillmentCodeHook": "FulfillmentCodeHook"}


def enabled_hooks(intent_name: str) -> set[str]:
    intent = bot_intents()[intent_name]
    return {hook for hook in HOOKS if intent.get(hook, {}).get("Enabled") is True}


def load_event(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text())
    return event


def assert_valid_lex_response(response: Any, event: Mapping[str, Any]) -> None:
    """The documented format, for this bot's intents and slots, about the event's intent."""
    intents = {name: slots_of(name) for name in bot_intents()}
    assert_lex_contract(response, asked=event, intents=intents)


def texts(response: Mapping[str, Any]) -> list[str]:
    return [m["content"] for m in response.get("messages", []) if "content" in m]


def cards(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [
        m["imageResponseCard"]
        for m in response.get("messages", [])
        if m["contentType"] == "ImageResponseCard"
    ]


LINE = re.compile(r"^(\d+)\. (.+) \((?:photo|video)(?:, [^)]*)?\)$")


def listed(response: Mapping[str, Any]) -> list[tuple[int, str]]:
    """The numbered results of a written answer: (position, media id)."""
    found: list[tuple[int, str]] = []
    for content in texts(response):
        for line in content.splitlines():
            match = LINE.match(line)
            if match:
                found.append((int(match.group(1)), match.group(2)))
    return found


def listed_ids(response: Mapping[str, Any]) -> list[str]:
    return [media_id for _, media_id in listed(response)]


def attributes_of(response: Mapping[str, Any]) -> dict[str, str]:
    found: dict[str, str] = response["sessionState"].get("sessionAttributes", {})
    return found


def links_of(response: Mapping[str, Any]) -> list[dict[str, str]]:
    raw = attributes_of(response).get(LINKS_ATTRIBUTE)
    links: list[dict[str, str]] = json.loads(raw) if raw else []
    return links


# ------------------------------------------------------------------ the catalog


@dataclass(frozen=True)
class Photo:
    media_id: str
    analysed_at: str
    labels: tuple[Label, ...] = ()
    words: tuple[tuple[str, float], ...] = ()
    matches: tuple[tuple[str, float], ...] = ()
    indexed: tuple[tuple[str, float], ...] = ()
    moderation: tuple[tuple[str, float], ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.moderation)


@dataclass(frozen=True)
class Video:
    media_id: str
    started_at: str
    terms: tuple[VideoTerm, ...]
    flagged_at: str | None = None


CAT_PHOTOS = tuple(
    Photo(
        f"uploads/pets/cat-{n:02d}.jpg", f"2026-11-2{n}T10:00:00+00:00", (Label("Cat", 91.0 - n),)
    )
    for n in range(1, 7)
)
PHOTOS = (
    Photo(
        "uploads/pets/chelsea the cat.jpg",
        "2026-11-20T09:00:00+00:00",
        (Label("Cat", 97.5, parents=("Animal", "Pet")),),
    ),
    *CAT_PHOTOS,
    Photo(
        "uploads/mission/rocket.jpg",
        "2026-11-20T11:00:00+00:00",
        (Label("Rocket", 99.1), Label("Sky", 80.0)),
    ),
    Photo(
        "uploads/mission/portrait.jpg",
        "2026-11-20T12:00:00+00:00",
        (Label("Person", 99.0),),
        matches=(("eileen-collins", 98.2),),
    ),
    Photo(
        "faces/eileen-collins/reference.jpg",
        "2026-11-19T12:00:00+00:00",
        (Label("Person", 99.0),),
        indexed=(("eileen-collins", 99.9),),
    ),
    Photo(
        "uploads/kitchen/coffee.jpg",
        "2026-11-20T13:00:00+00:00",
        (Label("Coffee", 95.0), Label("Cup", 80.0)),
    ),
    Photo(
        "uploads/docs/invoice.png",
        "2026-11-20T14:00:00+00:00",
        words=(("INVOICE", 99.0), ("Total", 95.0)),
    ),
    Photo("uploads/misc/fight.jpg", "2026-11-24T10:00:00+00:00", moderation=(("Violence", 91.0),)),
)
VIDEO = Video(
    "uploads/clips/cat-and-rocket.mp4",
    "2026-11-21T08:00:00+00:00",
    (
        VideoTerm("LABEL", "Cat", 93.0, frozenset({1, 2, 3})),
        VideoTerm("LABEL", "Rocket", 96.0, frozenset({10, 11, 12})),
    ),
    flagged_at="2026-11-22T08:00:00+00:00",
)
VIDEO_APIS = ("LABEL_DETECTION", "TEXT_DETECTION", "CONTENT_MODERATION")


def terms_of(photo: Photo) -> dict[tuple[str, str], float]:
    found = {("LABEL", label.name.lower()): label.confidence for label in photo.labels}
    for label in photo.labels:
        for parent in label.parents:
            found[("LABEL", parent.lower())] = label.confidence
    found.update({("WORD", word.lower()): c for word, c in photo.words})
    found.update({("PERSON", person): c for person, c in (*photo.matches, *photo.indexed)})
    found.update({("MODERATION", name.lower()): c for name, c in photo.moderation})
    return found


def ranking(kind: str, value: str, *, videos_only: bool = False) -> list[str]:
    """Media ids carrying a term, most confident first, from the data written below."""
    scored = (
        []
        if videos_only
        else [
            (terms_of(photo)[(kind, value)], photo.media_id)
            for photo in PHOTOS
            if (kind, value) in terms_of(photo)
        ]
    )
    scored += [
        (term.confidence, VIDEO.media_id)
        for term in VIDEO.terms
        if (term.kind, term.value.lower()) == (kind, value)
    ]
    return [media_id for _, media_id in sorted(scored, reverse=True)]


def flagged_newest_first() -> list[str]:
    flagged = [(p.analysed_at, p.media_id) for p in PHOTOS if p.flagged]
    if VIDEO.flagged_at:
        flagged.append((VIDEO.flagged_at, VIDEO.media_id))
    return [media_id for _, media_id in sorted(flagged, reverse=True)]


@dataclass
class ChatStack:
    table: str
    s3: Any
    dynamodb: Any
    writer: DynamoDBCatalog
    bodies: dict[str, bytes] = field(default_factory=dict)


def fill_catalog(stack: ChatStack, writer: DynamoDBCatalog) -> None:
    def put(media_id: str) -> CatalogLocation:
        body = f"bytes of {media_id}".encode()
        version = stack.s3.put_object(Bucket=bucket_name(), Key=media_id, Body=body)["VersionId"]
        stack.bodies[media_id] = body
        return CatalogLocation(
            media_id=media_id,
            result_bucket=bucket_name(),
            result_key=f"results/{media_id}.json",
            source_bucket=bucket_name(),
            source_key=media_id,
            version_id=version,
        )

    for photo in PHOTOS:
        analysis = ImageAnalysis(
            media_id=photo.media_id,
            analysed_at=photo.analysed_at,
            labels=photo.labels,
            text=tuple(TextDetection(w, TextKind.WORD, c) for w, c in photo.words),
            face_matches=tuple(FaceMatch(p, f"face-{p}", c) for p, c in photo.matches),
            indexed_faces=tuple(IndexedFace(p, f"ref-{p}", c) for p, c in photo.indexed),
            moderation=tuple(ModerationLabel(n, None, c) for n, c in photo.moderation),
            flagged=photo.flagged,
        )
        writer.record_analysis(analysis, put(photo.media_id))
    video_location = put(VIDEO.media_id)
    writer.start_video(video_location, VIDEO_APIS, VIDEO.started_at)
    writer.add_video_terms(VIDEO.media_id, VIDEO.terms, VIDEO.started_at)
    writer.record_job_state(
        VIDEO.media_id,
        "LABEL_DETECTION",
        JobState.SUCCEEDED,
        "2026-11-21T08:30:00+00:00",
        version_id=video_location.version_id,
    )
    if VIDEO.flagged_at:
        writer.flag(VIDEO.media_id, VIDEO.flagged_at)


def resolver(table: str) -> Resolver:
    found = Resolver(STACK_NAME, ACCOUNT_ID, REGION, refs={"CatalogTable": table})
    found.attributes[("CatalogTable", "Arn")] = (
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}"
    )
    found.attributes[("ChatbotLogGroup", "Arn")] = (
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/{STACK_NAME}-ChatbotFunction:*"
    )
    return found


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatStack]:
    """The catalog table and media bucket in moto, filled; ChatbotFunction's environment."""
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        setattr(session._session, SETUP_SESSION_MARK, True)
        s3, dynamodb = session.client("s3"), session.client("dynamodb")
        s3.create_bucket(
            Bucket=bucket_name(), CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_bucket_versioning(
            Bucket=bucket_name(), VersioningConfiguration={"Status": "Enabled"}
        )
        table = create_table(dynamodb, "CatalogTable")
        # The set-up session's table: its writes are not the code hook's calls.
        writer = DynamoDBCatalog(table, table=session.resource("dynamodb").Table(table))
        stack = ChatStack(table, s3, dynamodb, writer)
        fill_catalog(stack, writer)
        for name, value in resolver(table).function_environment("ChatbotFunction").items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", f"{STACK_NAME}-ChatbotFunction")
        yield stack


def settings() -> ChatbotSettings:
    return ChatbotSettings.from_env()


def invoke(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    response: dict[str, Any] = load_handler("chatbot").lambda_handler(dict(event), context)
    assert_valid_lex_response(response, event)
    return response


def continue_with(path: str, previous: Mapping[str, Any]) -> dict[str, Any]:
    """The next turn's event, carrying the session attributes Lex got back."""
    event = load_event(ROOT / "events" / path)
    event["sessionState"]["sessionAttributes"] = dict(attributes_of(previous))
    assert len(json.dumps(event).encode()) <= INPUT_LIMIT
    return event


# ------------------------------------------------------------------ the events themselves


def test_there_is_an_event_for_every_intent_and_code_hook_the_bot_enables() -> None:
    covered = {
        (e["sessionState"]["intent"]["name"], e["invocationSource"])
        for e in map(load_event, EVENT_FILES)
    }
    enabled = {(name, hook) for name in bot_intents() for hook in enabled_hooks(name)}

    assert enabled <= covered
    assert covered <= enabled, "an event for a hook the bot does not call"


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_each_event_has_the_documented_shape_and_the_templates_names(path: Path) -> None:
    event = load_event(path)
    assert event["messageVersion"] == "1.0"
    assert event["invocationSource"] in HOOKS
    assert event["inputMode"] in {"Text", "Speech", "DTMF"}
    speech = event["inputMode"] == "Speech"
    assert (event["responseContentType"] == "audio/pcm") is speech
    assert event["responseContentType"] in {
        "audio/mpeg",
        "audio/ogg",
        "audio/pcm",
        "text/plain; charset=utf-8",
    }
    assert isinstance(event["sessionId"], str)
    assert isinstance(event["inputTranscript"], str)
    assert set(event["bot"]) == {"id", "name", "localeId", "version", "aliasId", "aliasName"}
    assert event["bot"]["localeId"] == "en_US"
    intent = event["sessionState"]["intent"]
    assert set(intent) == {"name", "slots", "state", "confirmationState"}
    assert intent["name"] in bot_intents()
    assert set(intent["slots"]) == slots_of(intent["name"])
    for name, slot in intent["slots"].items():
        assert_valid_slot(name, slot)
        if slot is not None:
            assert slot["shape"] == "Scalar"
    assert intent["state"] in INTENT_STATES
    expected_state = (
        "InProgress" if event["invocationSource"] == "DialogCodeHook" else "ReadyForFulfillment"
    )
    assert intent["state"] == expected_state
    assert all(isinstance(v, str) for v in event["sessionState"]["sessionAttributes"].values())
    assert event["interpretations"][0]["intent"] == intent
    for interpretation in event["interpretations"]:
        assert interpretation["intent"]["name"] in bot_intents()
    if "proposedNextState" in event:
        # Documented only for the DialogCodeHook when Lex would elicit a slot next.
        assert event["invocationSource"] == "DialogCodeHook"
        proposed = event["proposedNextState"]
        assert proposed["dialogAction"]["type"] == "ElicitSlot"
        assert proposed["dialogAction"]["slotToElicit"] in slots_of(intent["name"])
        assert intent["slots"][proposed["dialogAction"]["slotToElicit"]] is None
    assert len(json.dumps(event).encode()) <= INPUT_LIMIT


# ------------------------------------------------------------------ every event through the handler


@dataclass(frozen=True)
class Expected:
    action: str
    state: str | None = None
    slots: Mapping[str, str] = field(default_factory=dict)
    lists: Sequence[str] | None = None
    first_position: int = 1


def expectations() -> dict[str, Expected]:
    page = settings().page_size
    cats = ranking("LABEL", "cat")
    shown = json.loads(
        load_event(ROOT / "events" / "lex_show_more_fulfilment.json")["sessionState"][
            "sessionAttributes"
        ][CONVERSATION_ATTRIBUTE]
    )["shown"]
    return {
        "lex_search_media_dialog": Expected(
            "Delegate", slots={"Label": "cat", "MediaType": "video"}
        ),
        # The single near miss is offered with ElicitSlot and a card; "yes" accepts it.
        "lex_search_media_near_miss_dialog": Expected("ElicitSlot"),
        "lex_search_media_fulfilment": Expected("Close", "Fulfilled", lists=cats[:page]),
        "lex_speech_search_media_fulfilment": Expected("Close", "Fulfilled"),
        "lex_slack_search_media_fulfilment": Expected("Close", "Fulfilled", lists=cats[:page]),
        "lex_facebook_search_media_fulfilment": Expected("Close", "Fulfilled", lists=cats[:page]),
        # An SMS lists what fits in it; "more" goes on from there (tests/unit).
        "lex_twilio_search_media_fulfilment": Expected("Close", "Fulfilled"),
        "lex_search_text_dialog": Expected(
            "Delegate", slots={"Word": "invoice", "MediaType": "photo"}
        ),
        "lex_search_text_fulfilment": Expected(
            "Close", "Fulfilled", lists=ranking("WORD", "invoice")[:page]
        ),
        "lex_search_person_dialog": Expected("Delegate", slots={"Person": "eileen-collins"}),
        "lex_search_person_missing_slot_dialog": Expected("Delegate"),
        "lex_search_person_fulfilment": Expected(
            "Close", "Fulfilled", lists=ranking("PERSON", "eileen-collins")[:page]
        ),
        "lex_upload_status_dialog": Expected("Delegate", slots={"FileName": VIDEO.media_id}),
        "lex_upload_status_fulfilment": Expected("Close", "Fulfilled"),
        "lex_flagged_media_dialog": Expected("Delegate", slots={"ModerationLabel": "violence"}),
        "lex_flagged_media_fulfilment": Expected(
            "Close", "Fulfilled", lists=flagged_newest_first()[:page]
        ),
        "lex_show_more_fulfilment": Expected(
            "Close", "Fulfilled", lists=cats[shown : shown + page], first_position=shown + 1
        ),
        "lex_refine_search_dialog": Expected("Delegate", slots={"MediaType": "video"}),
        "lex_refine_search_fulfilment": Expected(
            "Close", "Fulfilled", lists=ranking("LABEL", "cat", videos_only=True)[:page]
        ),
        "lex_help_fulfilment": Expected("Close", "Fulfilled"),
        "lex_fallback_fulfilment": Expected("Close", "Failed"),
    }


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_every_event_gets_a_valid_answer_from_the_catalog(
    chat: ChatStack, lambda_context: Any, path: Path
) -> None:
    event = load_event(path)
    expected = expectations()[path.stem]

    response = invoke(event, lambda_context)

    state = response["sessionState"]
    assert state["dialogAction"]["type"] == expected.action
    if expected.state is not None:
        assert state["intent"]["state"] == expected.state
    assert APOLOGY not in texts(response)
    slots = state.get("intent", {}).get("slots", {})
    for name, value in expected.slots.items():
        assert slots[name]["value"]["interpretedValue"] == value
        # What the user said is kept.
        said = event["sessionState"]["intent"]["slots"][name]["value"]["originalValue"]
        assert slots[name]["value"]["originalValue"] == said
    # The caller's own attributes survive; the bot's memory is always a string.
    for key, value in event["sessionState"]["sessionAttributes"].items():
        if key != CONVERSATION_ATTRIBUTE:
            assert attributes_of(response)[key] == value
    assert CONVERSATION_ATTRIBUTE in attributes_of(response)
    if expected.lists is not None:
        assert expected.lists, "the test data should give this search results"
        assert listed_ids(response) == list(expected.lists)
        positions = [position for position, _ in listed(response)]
        first = expected.first_position
        assert positions == list(range(first, first + len(expected.lists)))
        assert [link["media_id"] for link in links_of(response)] == list(expected.lists)


@pytest.mark.parametrize(
    ("platform", "cards_shown", "button_text_limit"),
    [("slack", True, 50), ("facebook", True, 20), ("twilio", False, None)],
)
def test_a_channels_search_gets_the_channels_form(
    chat: ChatStack,
    lambda_context: Any,
    platform: str,
    cards_shown: bool,
    button_text_limit: int | None,
) -> None:
    event = load_event(ROOT / "events" / f"lex_{platform}_search_media_fulfilment.json")

    response = invoke(event, lambda_context)

    if cards_shown:
        [card] = cards(response)
        assert card["buttons"]
        assert all(len(button["text"]) <= (button_text_limit or 0) for button in card["buttons"])
    else:
        # Twilio SMS: one text, within the 320 characters Twilio recommends, no card.
        assert cards(response) == []
        [sms] = texts(response)
        assert len(sms) <= 320
        assert "Reply '" in sms


def test_a_spoken_search_answers_in_one_sentence_without_cards(
    chat: ChatStack, lambda_context: Any
) -> None:
    event = load_event(ROOT / "events" / "lex_speech_search_media_fulfilment.json")

    response = invoke(event, lambda_context)

    assert cards(response) == []
    [sentence] = texts(response)
    rockets = ranking("LABEL", "rocket")
    spoken = [
        media_id.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("-", " ") for media_id in rockets
    ]
    listing = sentence.rsplit(": ", 1)[-1]
    positions = [listing.find(name) for name in spoken]
    assert all(position >= 0 for position in positions), (sentence, spoken)
    assert positions == sorted(positions)
    assert "/" not in sentence
    assert "http" not in sentence


def test_upload_status_names_the_file_and_links_to_it(chat: ChatStack, lambda_context: Any) -> None:
    event = load_event(ROOT / "events" / "lex_upload_status_fulfilment.json")

    response = invoke(event, lambda_context)

    [text] = texts(response)
    assert VIDEO.media_id in text
    [link] = links_of(response)
    assert link["media_id"] == VIDEO.media_id
    assert requests.get(link["file"], timeout=10).content == chat.bodies[VIDEO.media_id]


def status_event(file_name: str) -> dict[str, Any]:
    event = load_event(ROOT / "events" / "lex_upload_status_fulfilment.json")
    event["sessionState"]["intent"]["slots"]["FileName"] = {
        "shape": "Scalar",
        "value": {"originalValue": file_name, "interpretedValue": file_name, "resolvedValues": []},
    }
    return event


@pytest.mark.parametrize(
    ("uploaded", "typed"),
    [("NFD", "NFC"), ("NFC", "NFD")],
    ids=["macos-upload-typed-composed", "composed-upload-typed-decomposed"],
)
@pytest.mark.parametrize("asked", ["café.jpg", "uploads/café.jpg", "café"])
def test_a_file_is_found_whatever_unicode_form_its_name_was_typed_in(
    chat: ChatStack, lambda_context: Any, uploaded: Any, typed: Any, asked: str
) -> None:
    media_id = unicodedata.normalize(uploaded, "uploads/menus/café.jpg")
    add_photos(chat, "Menu", [media_id])

    response = invoke(status_event(unicodedata.normalize(typed, asked)), lambda_context)

    assert response["sessionState"]["intent"]["state"] == "Fulfilled", texts(response)
    [link] = links_of(response)
    assert link["media_id"] == media_id


# ------------------------------------------------------------------ a whole conversation

REALISTIC_SESSION_TOKEN = "IQoJb3JpZ2luX2VjE" + "A" * 1100
"""A Lambda role's session token is about a kilobyte; it is in every pre-signed link."""


def test_search_then_more_then_only_videos(
    chat: ChatStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", REALISTIC_SESSION_TOKEN)
    page = settings().page_size
    cats = ranking("LABEL", "cat")
    assert len(cats) > page, "the test data should need a second page"

    first = invoke(load_event(ROOT / "events" / "lex_search_media_fulfilment.json"), lambda_context)
    assert listed_ids(first) == cats[:page]
    assert attributes_of(first)["client"] == "web"

    more = invoke(continue_with("lex_show_more_fulfilment.json", first), lambda_context)
    assert listed(more) == list(enumerate(cats[page : 2 * page], start=page + 1))
    assert attributes_of(more)["client"] == "web"

    if len(cats) <= 2 * page:
        done = invoke(continue_with("lex_show_more_fulfilment.json", more), lambda_context)
        assert done["sessionState"]["intent"]["state"] == "Fulfilled"
        assert listed(done) == []
        assert links_of(done) == []

    videos = invoke(continue_with("lex_refine_search_fulfilment.json", more), lambda_context)
    assert listed_ids(videos) == ranking("LABEL", "cat", videos_only=True)[:page]
    assert listed(videos)[0][0] == 1

    # Every link of every answer downloads the version that was analysed.
    for response in (first, more, videos):
        links = links_of(response)
        assert links, "no links kept"
        for link in links:
            assert link["media_id"] in listed_ids(response)
            body = requests.get(link["file"], timeout=10)
            assert body.status_code == 200
            assert body.content == chat.bodies[link["media_id"]]
            assert "X-Amz-Security-Token" in link["file"] or "x-amz-security-token" in link["file"]


def add_photos(chat: ChatStack, label: str, media_ids: Sequence[str]) -> list[str]:
    """Photos carrying one label, with distinct confidences; their ids, most confident first."""
    for n, media_id in enumerate(media_ids):
        analysis = ImageAnalysis(
            media_id=media_id,
            analysed_at="2026-11-25T10:00:00+00:00",
            labels=(Label(label, 50.0 + n / 2),),
        )
        location = CatalogLocation(
            media_id=media_id,
            result_bucket=bucket_name(),
            result_key=f"results/{media_id}.json",
            source_bucket=bucket_name(),
            source_key=media_id,
        )
        chat.writer.record_analysis(analysis, location)
    return list(reversed(media_ids))


def search_event(label: str, *, speech: bool = False) -> dict[str, Any]:
    name = "lex_speech_search_media_fulfilment" if speech else "lex_search_media_fulfilment"
    event = load_event(ROOT / "events" / f"{name}.json")
    event["sessionState"]["intent"]["slots"]["Label"] = {
        "shape": "Scalar",
        "value": {"originalValue": label, "interpretedValue": label, "resolvedValues": []},
    }
    return event


def test_the_largest_page_the_template_allows_lists_every_result_once(
    chat: ChatStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    largest = int(template()["Parameters"]["ChatPageSize"]["MaxValue"])
    monkeypatch.setenv("CHAT_PAGE_SIZE", str(largest))
    monkeypatch.setenv("AWS_SESSION_TOKEN", REALISTIC_SESSION_TOKEN)
    expected = add_photos(
        chat,
        "Lighthouse",
        [f"uploads/2026/summer-holiday/lighthouse-at-dusk-{n:02d}.jpg" for n in range(largest + 5)],
    )

    response = invoke(search_event("lighthouse"), lambda_context)
    seen = listed(response)
    for _ in range(5):
        if Conversation.load(attributes_of(response)[CONVERSATION_ATTRIBUTE]).cursor is None:
            break
        response = invoke(continue_with("lex_show_more_fulfilment.json", response), lambda_context)
        seen += listed(response)

    assert [media_id for _, media_id in seen] == expected
    assert [position for position, _ in seen] == list(range(1, len(expected) + 1))


def test_a_spoken_answer_with_long_file_names_names_what_it_counts_as_shown(
    chat: ChatStack, lambda_context: Any
) -> None:
    # S3 keys may be 1,024 bytes long; these names are a fifth of that.
    names = [
        f"uploads/scans/{n}-" + "harbour-lighthouse-at-dusk-" * 7 + "final.jpg" for n in range(5)
    ]
    add_photos(chat, "Lighthouse", names)

    response = invoke(search_event("lighthouse", speech=True), lambda_context)

    [sentence] = texts(response)
    spoken = [n.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("-", " ") for n in names]
    # A long name is said shortened: its start is what a listener hears.
    heard = [name for name in spoken if name[:40] in sentence]
    conversation = Conversation.load(attributes_of(response)[CONVERSATION_ATTRIBUTE])
    # "More" goes on after what was counted as shown: nothing counted may go unsaid.
    assert conversation.shown == len(heard), (conversation.shown, len(heard), len(sentence))


def test_show_more_without_a_search_closes_politely(chat: ChatStack, lambda_context: Any) -> None:
    event = load_event(ROOT / "events" / "lex_show_more_fulfilment.json")
    event["sessionState"]["sessionAttributes"] = {}

    response = invoke(event, lambda_context)

    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert APOLOGY not in texts(response)


@pytest.mark.parametrize(
    "conversation",
    ["not json", '{"query":{"kind":"LABEL","value":"cat"},"cursor":"no-hash","shown":"x"}', "[]"],
)
def test_a_tampered_conversation_attribute_is_forgotten_not_trusted(
    chat: ChatStack, lambda_context: Any, conversation: str
) -> None:
    event = load_event(ROOT / "events" / "lex_show_more_fulfilment.json")
    event["sessionState"]["sessionAttributes"] = {CONVERSATION_ATTRIBUTE: conversation}

    response = invoke(event, lambda_context)

    assert response["sessionState"]["dialogAction"]["type"] == "Close"
    assert APOLOGY not in texts(response)


# ------------------------------------------------------------------ a failing catalog


def emitted_metrics(output: str) -> set[str]:
    names: set[str] = set()
    for line in output.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict):
            continue
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            names.update(metric["Name"] for metric in directive["Metrics"])
    return names


CATALOG_EVENTS = [
    "lex_search_media_dialog.json",
    "lex_search_media_fulfilment.json",
    "lex_upload_status_dialog.json",
    "lex_upload_status_fulfilment.json",
    "lex_flagged_media_fulfilment.json",
    "lex_show_more_fulfilment.json",
]


@pytest.mark.parametrize("failure", ["table deleted", "table named wrongly"])
@pytest.mark.parametrize("name", CATALOG_EVENTS)
def test_a_catalog_failure_closes_with_the_apology_instead_of_an_error(
    chat: ChatStack,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: str,
    name: str,
) -> None:
    if failure == "table deleted":
        chat.dynamodb.delete_table(TableName=chat.table)
    else:
        monkeypatch.setenv("CATALOG_TABLE", f"{chat.table}-missing")
    event = load_event(ROOT / "events" / name)
    capsys.readouterr()

    response = invoke(event, lambda_context)

    state = response["sessionState"]
    assert state["dialogAction"]["type"] == "Close"
    assert state["intent"] == {
        **state["intent"],
        "name": event["sessionState"]["intent"]["name"],
        "state": "Failed",
    }
    assert texts(response) == [APOLOGY]
    # The caller's attributes stay; the bot's own memory, which may be what failed, goes.
    callers = {
        name: value
        for name, value in event["sessionState"]["sessionAttributes"].items()
        if not name.startswith("medialens.")
    }
    assert attributes_of(response) == callers
    assert "ChatbotErrors" in emitted_metrics(capsys.readouterr().out)


# ------------------------------------------------------------------ you may also like

CAT_RULES = {
    "cat": (
        RelatedLabel("pet", 0.95, 5.1),
        RelatedLabel("animal", 0.95, 5.1),
        RelatedLabel("mammal", 0.83, 5.1),
        RelatedLabel("dog", 0.52, 4.8),
    ),
    "rocket": (RelatedLabel("sky", 0.8, 3.0), RelatedLabel("space", 0.7, 4.0)),
}


def publish_related(chat: ChatStack, related: Mapping[str, tuple[RelatedLabel, ...]]) -> None:
    """Put the suggestions in the catalog as the pipeline's publication does (set-up calls)."""
    session = boto3.session.Session(region_name=REGION)
    setattr(session._session, SETUP_SESSION_MARK, True)
    store = DynamoDBRelatedLabels(chat.table, resource=session.resource("dynamodb"))
    store.replace("run-1", dict(related))


def buttons_of(response: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(b["text"], b["value"]) for card in cards(response) for b in card.get("buttons", [])]


def test_a_label_search_ends_with_the_mined_suggestions(
    chat: ChatStack, lambda_context: Any
) -> None:
    publish_related(chat, CAT_RULES)
    page = settings().page_size

    first = invoke(load_event(ROOT / "events" / "lex_search_media_fulfilment.json"), lambda_context)
    more = invoke(continue_with("lex_show_more_fulfilment.json", first), lambda_context)
    videos = invoke(continue_with("lex_refine_search_fulfilment.json", more), lambda_context)

    assert listed_ids(first) == ranking("LABEL", "cat")[:page]
    assert texts(first)[-1].endswith("\nYou may also like: pet, animal, mammal.")
    # A full card: "Show more" and the refinements keep their places.
    assert buttons_of(first) == [
        ("Show more", "show me more"),
        ("Only videos", "only videos"),
        ("Only photos", "only photos"),
    ]
    assert not any("may also like" in content for content in texts(more))
    assert listed_ids(videos) == ranking("LABEL", "cat", videos_only=True)[:page]
    assert texts(videos)[-1].endswith("\nYou may also like: pet, animal, mammal.")
    assert buttons_of(videos) == [
        ("Only photos", "only photos"),
        ("pet", "show me videos with pet"),
        ("animal", "show me videos with animal"),
    ]


def test_a_spoken_search_says_the_suggestions_last(chat: ChatStack, lambda_context: Any) -> None:
    publish_related(chat, CAT_RULES)

    response = invoke(
        load_event(ROOT / "events" / "lex_speech_search_media_fulfilment.json"), lambda_context
    )

    assert cards(response) == []
    [sentence] = texts(response)
    assert sentence.endswith("; you may also like sky and space.")


def test_a_label_without_suggestions_is_answered_without_them(
    chat: ChatStack, lambda_context: Any
) -> None:
    publish_related(chat, {"rocket": CAT_RULES["rocket"]})

    response = invoke(
        load_event(ROOT / "events" / "lex_search_media_fulfilment.json"), lambda_context
    )

    assert listed_ids(response)
    assert not any("may also like" in content for content in texts(response))


def test_a_suggestion_lookup_timing_out_still_answers_the_search(
    chat: ChatStack,
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from medialens.shared.aws import dynamodb_chat_resource
    from medialens.shared.observability import logger

    publish_related(chat, CAT_RULES)
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    timed_out: list[str] = []

    def time_out_on_suggestions(request: Any, **_: Any) -> None:
        if b"RELATED#" in (request.body or b""):
            timed_out.append(request.url)
            raise ReadTimeoutError(endpoint_url=request.url)

    # The resource the code hook reads the catalog with: the search itself still works.
    events = dynamodb_chat_resource().meta.client.meta.events
    events.register_first("before-send.dynamodb.GetItem", time_out_on_suggestions)
    capsys.readouterr()

    response = invoke(
        load_event(ROOT / "events" / "lex_search_media_fulfilment.json"), lambda_context
    )

    # Made through the chatbot's fail-fast resource: two attempts in all, then give up.
    assert len(timed_out) == 2, timed_out
    assert response["sessionState"]["intent"]["state"] == "Fulfilled"
    assert listed_ids(response) == ranking("LABEL", "cat")[: settings().page_size]
    assert not any("may also like" in content for content in texts(response))
    emitted = emitted_metrics(capsys.readouterr().out)
    assert "RelatedLabelsUnavailable" in emitted
    assert "ChatbotErrors" not in emitted
    warnings = [json.loads(line) for line in log.getvalue().splitlines()]
    [warning] = [w for w in warnings if w["message"] == "Related labels unavailable"]
    assert warning["level"] == "WARNING"
    assert warning["reason"].startswith("ReadTimeoutError")


# ------------------------------------------------------------------ IAM


@dataclass(frozen=True)
class Call:
    action: str
    resources: tuple[str, ...]


@pytest.fixture
def calls(aws_calls: set[str], monkeypatch: pytest.MonkeyPatch) -> list[Call]:
    """Every AWS call of the code under test with the resources IAM checks it against."""
    recorded: list[Call] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        service, operation = model.service_model.signing_name, model.name
        if service == "dynamodb":
            tables = list(params.get("RequestItems", {})) or [params.get("TableName", "")]
            arns = [f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{t}" for t in tables]
            if params.get("IndexName"):
                arns = [f"{arn}/index/{params['IndexName']}" for arn in arns]
            resources = tuple(arns)
        elif service == "s3":
            resources = (f"arn:aws:s3:::{params.get('Bucket')}/{params.get('Key', '')}",)
            if operation == "GetObject" and params.get("VersionId"):
                recorded.append(Call("s3:GetObjectVersion", resources))
        else:
            resources = ("*",)
        recorded.append(Call(f"{service}:{operation}", resources))

    original = botocore.session.Session.create_client  # already wrapped by aws_calls

    def create_client(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        if not getattr(self, SETUP_SESSION_MARK, False):
            client.meta.events.register("before-parameter-build", record)
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
    return recorded


def allowed(call: Call, table: str) -> bool:
    found = resolver(table)
    for statement in statements_of("ChatbotFunction"):
        if statement.get("Effect") != "Allow":
            continue
        actions = [a.lower() for a in as_list(statement["Action"])]
        if not any(fnmatchcase(call.action.lower(), pattern) for pattern in actions):
            continue
        patterns = [found.resolve(r) for r in as_list(statement["Resource"])]
        if all(any(fnmatchcase(arn, p) for p in patterns) for arn in call.resources):
            return True
    return False


def test_every_aws_call_the_code_hook_makes_is_allowed_by_its_role(
    chat: ChatStack, lambda_context: Any, aws_calls: set[str], calls: list[Call]
) -> None:
    aws_calls.clear()
    responses = [invoke(load_event(path), lambda_context) for path in EVENT_FILES]

    assert all(APOLOGY not in texts(r) for r in responses)
    assert {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "s3:GetObject",
    } <= aws_calls
    assert aws_calls <= granted_actions("ChatbotFunction")
    denied = [call for call in calls if not allowed(call, chat.table)]
    assert denied == []
    # Each link hands out what the role may read: the links carry its rights.
    for response in responses:
        for link in links_of(response):
            parts = urlsplit(link["file"])
            path = unquote(parts.path).lstrip("/")
            if not parts.netloc.startswith(bucket_name()):
                path = path.split("/", 1)[1]
            arn = f"arn:aws:s3:::{bucket_name()}/{path}"
            assert allowed(Call("s3:GetObjectVersion", (arn,)), chat.table), arn


def test_the_handler_reads_only_the_catalog_it_is_given(
    chat: ChatStack, lambda_context: Any, calls: list[Call]
) -> None:
    for path in EVENT_FILES:
        invoke(load_event(path), lambda_context)

    tables = {
        resource_arn.split(":table/", 1)[1].split("/", 1)[0]
        for call in calls
        if call.action.startswith("dynamodb:")
        for resource_arn in call.resources
    }
    assert tables == {chat.table}
    assert {call.action for call in calls if call.action.startswith("dynamodb:")} <= {
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
    }


def test_relative_dates_are_never_in_the_future(chat: ChatStack, lambda_context: Any) -> None:
    event = load_event(ROOT / "events" / "lex_flagged_media_dialog.json")

    response = invoke(event, lambda_context)

    since = response["sessionState"]["intent"]["slots"]["Since"]["value"]["interpretedValue"]
    said = event["sessionState"]["intent"]["slots"]["Since"]["value"]["interpretedValue"]
    today = datetime.now(UTC).date().isoformat()
    assert since <= today
    assert since[5:] == said[5:]


def test_a_misconfigured_deployment_still_answers_politely(
    chat: ChatStack, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from medialens.shared.observability import logger

    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    monkeypatch.setenv("CHAT_PAGE_SIZE", "0")

    response = invoke(search_event("cat"), lambda_context)

    assert response["sessionState"]["dialogAction"]["type"] == "Close"
    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert texts(response) == [APOLOGY]
    assert "CHAT_PAGE_SIZE must be between" in log.getvalue()
    assert '"ChatbotErrors"' in capsys.readouterr().out
