"""Lex V2 code-hook models: parsing documented events, serialising responses, session memory."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from medialens.catalog.models import MediaType, SearchKind, SearchQuery
from medialens.chatbot.channels import BUTTON_TEXT_LIMIT, CARD_TEXT_LIMIT, MAX_BUTTONS
from medialens.chatbot.conversation import Conversation
from medialens.chatbot.lex import (
    ConfirmationState,
    DialogActionType,
    InputMode,
    Intent,
    IntentState,
    InvocationSource,
    LexRequest,
    LexResponse,
    ResponseCard,
    SlotValue,
)
from medialens.shared.errors import MalformedLexEventError


def scalar(original: str, interpreted: str | None = None, *resolved: str) -> dict[str, Any]:
    """A Scalar slot as Lex V2 documents it."""
    return {
        "shape": "Scalar",
        "value": {
            "originalValue": original,
            "interpretedValue": original if interpreted is None else interpreted,
            "resolvedValues": list(resolved),
        },
    }


def event(
    *,
    source: str = "DialogCodeHook",
    mode: str = "Text",
    intent: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The documented Lex V2 input event (lambda-input-format)."""
    return {
        "messageVersion": "1.0",
        "invocationSource": source,
        "inputMode": mode,
        "responseContentType": "text/plain; charset=utf-8",
        "sessionId": "session-1",
        "inputTranscript": "show me photos with dogs",
        "bot": {
            "id": "BOTID",
            "name": "medialens",
            "localeId": "en_US",
            "version": "DRAFT",
            "aliasId": "TSTALIASID",
            "aliasName": "TestBotAlias",
        },
        "requestAttributes": {"x-client": "web"},
        "sessionState": {
            "sessionAttributes": {} if attributes is None else attributes,
            "intent": intent
            if intent is not None
            else {
                "name": "SearchMedia",
                "slots": {"Label": scalar("dogs", "dog", "dog"), "MediaType": None},
                "state": "InProgress",
                "confirmationState": "None",
            },
        },
    }


# ---------------------------------------------------------------- parsing


def test_parse_text_event() -> None:
    request = LexRequest.parse(event())

    assert request.source is InvocationSource.DIALOG
    assert request.input_mode is InputMode.TEXT
    assert not request.spoken
    assert request.session_id == "session-1"
    assert request.transcript == "show me photos with dogs"
    assert request.locale_id == "en_US"
    assert request.request_attributes == {"x-client": "web"}
    assert request.intent.name == "SearchMedia"
    assert request.intent.state is IntentState.IN_PROGRESS
    assert request.intent.confirmation is ConfirmationState.NONE
    assert request.intent.slot("Label") == SlotValue("dogs", "dog", ("dog",))
    assert request.intent.slot("MediaType") is None
    assert "MediaType" in request.intent.slots


@pytest.mark.parametrize("mode", ["Speech", "DTMF"])
def test_parse_spoken_event(mode: str) -> None:
    request = LexRequest.parse(event(mode=mode, source="FulfillmentCodeHook"))

    assert request.input_mode is InputMode(mode)
    assert request.source is InvocationSource.FULFILLMENT
    assert request.spoken


def test_parse_null_slots() -> None:
    raw = event(intent={"name": "Help", "slots": None, "state": "ReadyForFulfillment"})

    request = LexRequest.parse(raw)

    assert request.intent.slots == {}
    assert request.intent.state is IntentState.READY_FOR_FULFILLMENT


def test_parse_slot_with_null_value_is_empty() -> None:
    raw = event(intent={"name": "SearchMedia", "slots": {"Label": {"shape": "Scalar"}}})

    assert LexRequest.parse(raw).intent.slot("Label") is None


def test_parse_list_shaped_slot_uses_its_first_value() -> None:
    slot = {"shape": "List", "values": [scalar("cats", "cat", "cat"), scalar("dogs", "dog")]}
    raw = event(intent={"name": "SearchMedia", "slots": {"Label": slot}})

    value = LexRequest.parse(raw).intent.slot("Label")

    assert value == SlotValue("cats", "cat", ("cat",))


def test_parse_list_shaped_slot_with_a_value_uses_it() -> None:
    slot = {
        "shape": "List",
        "value": {"originalValue": "cats", "interpretedValue": "cat", "resolvedValues": ["cat"]},
        "values": [scalar("cats", "cat", "cat")],
    }
    raw = event(intent={"name": "SearchMedia", "slots": {"Label": slot}})

    value = LexRequest.parse(raw).intent.slot("Label")

    assert value is not None
    assert value.text == "cat"


def test_parse_missing_request_attributes_and_bot() -> None:
    raw = event()
    del raw["requestAttributes"]
    del raw["bot"]

    request = LexRequest.parse(raw)

    assert request.request_attributes == {}
    assert request.locale_id == "en_US"


def test_parse_null_request_attributes() -> None:
    raw = event()
    raw["requestAttributes"] = None

    assert LexRequest.parse(raw).request_attributes == {}


def test_parse_documented_fallback_event() -> None:
    raw = {
        "sessionId": "us-east-1:24ac",
        "inputTranscript": "Trigger Lambda",
        "interpretations": [
            {
                "intent": {
                    "slots": {},
                    "confirmationState": "None",
                    "name": "FallbackIntent",
                    "state": "ReadyForFulfillment",
                }
            }
        ],
        "sessionState": {
            "sessionAttributes": {"idtokenjwt": "token"},
            "intent": {
                "slots": {},
                "confirmationState": "None",
                "name": "FallbackIntent",
                "state": "ReadyForFulfillment",
            },
            "originatingRequestId": "a9a1bbba",
        },
        "responseContentType": "text/plain; charset=utf-8",
        "invocationSource": "FulfillmentCodeHook",
        "messageVersion": "1.0",
        "transcriptions": [
            {
                "resolvedContext": {"intent": "FallbackIntent"},
                "transcription": "Trigger Lambda",
                "resolvedSlots": {},
                "transcriptionConfidence": 1,
            }
        ],
        "inputMode": "Text",
        "bot": {"aliasId": "EGTLBGKGBP", "name": "bot", "version": "2", "localeId": "en_US"},
    }

    request = LexRequest.parse(raw)

    assert request.intent == Intent(
        "FallbackIntent", {}, IntentState.READY_FOR_FULFILLMENT, ConfirmationState.NONE
    )
    assert request.source is InvocationSource.FULFILLMENT
    assert request.session_attributes == {"idtokenjwt": "token"}
    assert request.request_attributes == {}
    assert request.transcript == "Trigger Lambda"


def test_parse_ignores_unknown_fields() -> None:
    raw = event()
    raw["somethingNew"] = {"nested": [1, 2, 3]}
    raw["proposedNextState"] = {"dialogAction": {"type": "ElicitSlot", "slotToElicit": "Since"}}
    raw["sessionState"]["activeContexts"] = []
    raw["sessionState"]["runtimeHints"] = {"slotHints": {}}
    raw["sessionState"]["intent"]["futureField"] = "x"
    raw["sessionState"]["intent"]["slots"]["Label"]["value"]["extra"] = True

    assert LexRequest.parse(raw) == LexRequest.parse(event())


def test_parse_stringifies_session_attribute_values() -> None:
    raw = event(attributes={"count": 3, "name": "a"})

    assert LexRequest.parse(raw).session_attributes == {"count": "3", "name": "a"}


def _without_session_state() -> dict[str, Any]:
    raw = event()
    del raw["sessionState"]
    return raw


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    raw = event()
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


def _without_intent_name() -> dict[str, Any]:
    raw = event()
    del raw["sessionState"]["intent"]["name"]
    return raw


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("not an event", id="not-an-object"),
        pytest.param(_without_session_state(), id="no-session-state"),
        pytest.param(_with(("sessionState",), "state"), id="session-state-string"),
        pytest.param(_with(("sessionState", "intent"), None), id="no-intent"),
        pytest.param(_with(("sessionState", "intent"), "SearchMedia"), id="intent-string"),
        pytest.param(_without_intent_name(), id="intent-without-name"),
        pytest.param(_with(("sessionState", "intent", "name"), 7), id="intent-name-number"),
        pytest.param(_with(("invocationSource",), "TextCodeHook"), id="unknown-source"),
        pytest.param(_with(("invocationSource",), None), id="no-source"),
        pytest.param(_with(("inputMode",), "Telepathy"), id="unknown-input-mode"),
        pytest.param(_with(("sessionState", "intent", "slots"), ["Label"]), id="slots-list"),
        pytest.param(_with(("sessionState", "intent", "slots"), "Label"), id="slots-string"),
        pytest.param(_with(("sessionState", "intent", "slots", "Label"), "dog"), id="slot-string"),
        pytest.param(
            _with(("sessionState", "intent", "slots", "Label", "value", "interpretedValue"), 5),
            id="interpreted-number",
        ),
        pytest.param(
            _with(("sessionState", "intent", "slots", "Label", "value", "resolvedValues"), "dog"),
            id="resolved-string",
        ),
        pytest.param(
            _with(("sessionState", "intent", "slots", "Label", "value", "resolvedValues"), [1]),
            id="resolved-number",
        ),
        pytest.param(_with(("sessionState", "intent", "state"), "Done"), id="unknown-state"),
        pytest.param(
            _with(("sessionState", "intent", "confirmationState"), "Maybe"),
            id="unknown-confirmation",
        ),
        pytest.param(_with(("sessionState", "sessionAttributes"), ["a"]), id="attributes-list"),
        pytest.param(_with(("requestAttributes",), "x"), id="request-attributes-string"),
    ],
)
def test_parse_rejects_malformed_events(raw: Any) -> None:
    with pytest.raises(MalformedLexEventError):
        LexRequest.parse(raw)


# ---------------------------------------------------------------- serialising

INTENT = Intent(
    "SearchMedia",
    {"Label": SlotValue("dogs", "dog", ("dog",)), "MediaType": None},
    IntentState.IN_PROGRESS,
    ConfirmationState.NONE,
)


def _session_state(response: dict[str, Any]) -> dict[str, Any]:
    state = response["sessionState"]
    assert isinstance(state, dict)
    return state


def test_close_has_intent_name_and_state() -> None:
    response = LexResponse(
        DialogActionType.CLOSE,
        INTENT.with_state(IntentState.FULFILLED),
        messages=["Here you are."],
        session_attributes={"a": "b"},
    ).to_dict()

    state = _session_state(response)
    assert state["dialogAction"] == {"type": "Close"}
    assert isinstance(state["intent"], dict)
    assert state["intent"]["name"] == "SearchMedia"
    assert state["intent"]["state"] == "Fulfilled"
    assert state["sessionAttributes"] == {"a": "b"}
    assert response["messages"] == [{"contentType": "PlainText", "content": "Here you are."}]
    json.dumps(response)


def test_elicit_slot_has_slot_to_elicit_and_intent_name() -> None:
    response = LexResponse(
        DialogActionType.ELICIT_SLOT,
        INTENT.with_slot("Label", None),
        messages=["Which label?"],
        slot_to_elicit="Label",
    ).to_dict()

    state = _session_state(response)
    assert state["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Label"}
    assert state["intent"]["name"] == "SearchMedia"
    assert state["intent"]["slots"]["Label"] is None


def test_confirm_intent_has_name_slots_and_a_message() -> None:
    response = LexResponse(
        DialogActionType.CONFIRM_INTENT, INTENT, messages=["Did you mean dog?"]
    ).to_dict()

    state = _session_state(response)
    assert state["dialogAction"]["type"] == "ConfirmIntent"
    assert "slotToElicit" not in state["dialogAction"]
    intent = state["intent"]
    assert intent["name"] == "SearchMedia"
    assert intent["confirmationState"] == "None"
    assert intent["slots"] == {
        "Label": {
            "shape": "Scalar",
            "value": {
                "originalValue": "dogs",
                "interpretedValue": "dog",
                "resolvedValues": ["dog"],
            },
        },
        "MediaType": None,
    }
    assert [m["content"] for m in response["messages"]] == ["Did you mean dog?"]


def test_delegate_needs_only_the_type_but_keeps_the_intent() -> None:
    response = LexResponse(DialogActionType.DELEGATE, INTENT).to_dict()

    state = _session_state(response)
    assert state["dialogAction"] == {"type": "Delegate"}
    assert "messages" not in response
    assert (
        LexRequest.parse({"invocationSource": "DialogCodeHook", "sessionState": state}).intent
        == INTENT
    )


def test_elicit_intent_without_an_intent() -> None:
    response = LexResponse(
        DialogActionType.ELICIT_INTENT, None, messages=["What would you like?"]
    ).to_dict()

    state = _session_state(response)
    assert state["dialogAction"] == {"type": "ElicitIntent"}
    assert "intent" not in state
    assert response["messages"][0]["content"] == "What would you like?"


@pytest.mark.parametrize("action", list(DialogActionType))
def test_intent_is_always_an_object(action: DialogActionType) -> None:
    response = LexResponse(
        action,
        INTENT,
        messages=["x"],
        slot_to_elicit="Label" if action is DialogActionType.ELICIT_SLOT else None,
    ).to_dict()

    intent = _session_state(response)["intent"]
    assert isinstance(intent, dict)
    assert set(intent) == {"name", "slots", "state", "confirmationState"}


def test_empty_messages_are_left_out() -> None:
    response = LexResponse(DialogActionType.CLOSE, INTENT, messages=["", "Hi"]).to_dict()

    assert response["messages"] == [{"contentType": "PlainText", "content": "Hi"}]


def test_card_is_sent_after_the_text() -> None:
    card = ResponseCard("Try", subtitle="Examples", buttons=(("Dogs", "show dogs"),))

    response = LexResponse(DialogActionType.CLOSE, INTENT, messages=["Hi"], card=card).to_dict()

    assert response["messages"][1] == {
        "contentType": "ImageResponseCard",
        "imageResponseCard": {
            "title": "Try",
            "subtitle": "Examples",
            "buttons": [{"text": "Dogs", "value": "show dogs"}],
        },
    }


def test_card_limits() -> None:
    card = ResponseCard(
        "T" * 400,
        subtitle="S" * 400,
        buttons=tuple((f"{n}" * 80, f"v{n}" * 20) for n in range(6)),
    ).to_dict()

    assert 1 <= len(card["title"]) <= CARD_TEXT_LIMIT == 250
    assert 1 <= len(card["subtitle"]) <= CARD_TEXT_LIMIT
    assert card["title"].startswith("T" * 200)
    assert len(card["buttons"]) == MAX_BUTTONS == 3
    for button in card["buttons"]:
        assert 1 <= len(button["text"]) <= BUTTON_TEXT_LIMIT == 50
        assert 1 <= len(button["value"]) <= BUTTON_TEXT_LIMIT
    assert [b["text"][0] for b in card["buttons"]] == ["0", "1", "2"]


def test_a_button_whose_value_does_not_fit_is_left_out() -> None:
    # A cut value would send something other than what the button offers.
    card = ResponseCard("T", buttons=(("long", "v" * 51), ("short", "ok"))).to_dict()

    assert card["buttons"] == [{"text": "short", "value": "ok"}]


def test_card_texts_at_the_limit_are_kept_whole() -> None:
    card = ResponseCard("T" * 250, buttons=(("b" * 50, "v" * 50),)).to_dict()

    assert card["title"] == "T" * 250
    assert card["buttons"] == [{"text": "b" * 50, "value": "v" * 50}]
    assert "subtitle" not in card


def test_slot_value_helpers() -> None:
    value = SlotValue("doggo", None, ("dog", "doggo", "hound"))

    assert value.text == "doggo"
    assert value.candidates() == ("doggo", "dog", "hound")
    assert SlotValue.of("cat") == SlotValue("cat", "cat", ("cat",))
    assert value.to_dict()["interpretedValue"] == "doggo"


# ---------------------------------------------------------------- conversation memory


@pytest.mark.parametrize(
    "conversation",
    [
        Conversation(),
        Conversation(
            query=SearchQuery(SearchKind.LABEL, "dog", MediaType.VIDEO, "2026-11-01"),
            cursor="095.000#uploads/dog.jpg",
            shown=5,
            reprompts=1,
        ),
        Conversation(query=SearchQuery(SearchKind.FLAGGED), cursor="2026-11-20T10:00:00Z#a/b"),
        Conversation(query=SearchQuery(SearchKind.PERSON, "zoë-ünïcode"), shown=3),
    ],
)
def test_conversation_round_trip(conversation: Conversation) -> None:
    text = conversation.dump()

    assert isinstance(text, str)
    assert Conversation.load(text) == conversation


def test_conversation_load_of_nothing() -> None:
    assert Conversation.load(None) == Conversation()
    assert Conversation.load("") == Conversation()


GOOD: dict[str, Any] = {
    "shown": 5,
    "reprompts": 0,
    "query": {"kind": "LABEL", "value": "dog"},
    "cursor": "095.000#uploads/dog.jpg",
}


def _tampered(**changes: Any) -> str:
    data = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if key.startswith("query_"):
            data["query"][key.removeprefix("query_")] = value
        else:
            data[key] = value
    return json.dumps(data)


def test_the_untampered_conversation_loads() -> None:
    loaded = Conversation.load(json.dumps(GOOD))

    assert loaded == Conversation(
        SearchQuery(SearchKind.LABEL, "dog"), "095.000#uploads/dog.jpg", 5, reprompts=0
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{", id="bad-json"),
        pytest.param("not json", id="text"),
        pytest.param("[1, 2]", id="list"),
        pytest.param('"a string"', id="string"),
        pytest.param("null", id="null"),
        pytest.param(_tampered(shown="many"), id="shown-text"),
        pytest.param(_tampered(shown=[1]), id="shown-list"),
        pytest.param(_tampered(reprompts={"n": 1}), id="reprompts-object"),
        pytest.param(_tampered(query="dog"), id="query-string"),
        pytest.param(_tampered(query={}), id="query-without-kind"),
        pytest.param(_tampered(query_kind="SQL"), id="unknown-kind"),
        pytest.param(_tampered(query_value=42), id="value-number"),
        pytest.param(_tampered(query_media_type="audio"), id="unknown-media-type"),
        pytest.param(_tampered(query_since="yesterday"), id="since-not-a-date"),
        pytest.param(_tampered(query_since=20261101), id="since-number"),
        pytest.param(_tampered(query_value="x" * 100_000), id="huge-value"),
        pytest.param(_tampered(shown=1e400), id="shown-infinite"),
        pytest.param('{"shown": NaN}', id="shown-nan"),
        pytest.param('{"shown": ' + "9" * 5000 + "}", id="shown-too-many-digits"),
    ],
)
def test_conversation_load_forgets_tampered_text(text: str) -> None:
    assert Conversation.load(text) == Conversation()


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("abc", id="no-separator"),
        pytest.param("dog#x", id="short-sort-key"),
        pytest.param("'; DROP TABLE--#x", id="sql"),
        pytest.param("095.000#" + "x" * 2000, id="huge"),
        pytest.param(12, id="number"),
        pytest.param({"pk": "MEDIA#x"}, id="dynamodb-key"),
    ],
)
def test_conversation_load_never_keeps_a_tampered_cursor(cursor: Any) -> None:
    loaded = Conversation.load(_tampered(cursor=cursor))

    assert loaded.cursor is None


def test_conversation_load_clamps_negative_counts() -> None:
    loaded = Conversation.load(_tampered(shown=-4, reprompts=-1))

    assert (loaded.shown, loaded.reprompts) == (0, 0)
