"""Lex V2's documented code-hook response format and limits, as test assertions.

From "AWS Lambda response format for Lex V2" (required fields per dialog action) and the
runtime API's limits (messages, cards, session attributes, the response's size).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DIALOG_ACTIONS = {"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"}
INTENT_STATES = {
    "Failed",
    "Fulfilled",
    "FulfillmentInProgress",
    "InProgress",
    "ReadyForFulfillment",
    "Waiting",
}
CLOSE_STATES = {"Failed", "Fulfilled", "InProgress"}
CONFIRMATION_STATES = {"Confirmed", "Denied", "None"}
CONTENT_TYPES = {"CustomPayload", "ImageResponseCard", "PlainText", "SSML"}
MESSAGE_LIMIT = 1024
SESSION_ATTRIBUTES_LIMIT = 12 * 1024
INPUT_LIMIT = 12 * 1024
OUTPUT_LIMIT = 25 * 1024


def assert_valid_slot(name: str, slot: Any) -> None:
    if slot is None:
        return
    assert isinstance(slot, dict), name
    assert slot.get("shape", "Scalar") in {"Scalar", "List", "Composite"}, name
    value = slot["value"]
    assert isinstance(value["originalValue"], str), name
    assert isinstance(value["interpretedValue"], str), name
    assert isinstance(value.get("resolvedValues", []), list), name
    assert all(isinstance(v, str) for v in value.get("resolvedValues", [])), name


def assert_valid_card(card: Mapping[str, Any]) -> None:
    assert isinstance(card["title"], str)
    assert 1 <= len(card["title"]) <= 250
    for optional in ("subtitle", "imageUrl"):
        if optional in card:
            assert 1 <= len(card[optional]) <= 250
    buttons = card.get("buttons", [])
    # The API takes 5; the response-format guide says 3: the bot must satisfy both.
    assert len(buttons) <= 3
    for button in buttons:
        assert set(button) == {"text", "value"}
        assert 1 <= len(button["text"]) <= 50
        assert 1 <= len(button["value"]) <= 50


def assert_valid_lex_response(
    response: Any,
    *,
    asked: Mapping[str, Any] | None = None,
    intents: Mapping[str, set[str]] | None = None,
) -> None:
    """Check a code-hook response against Lex V2's documented response format.

    ``asked`` is the event answered (the response must be about its intent); ``intents``
    maps the bot's intents to their slot names (the response may name no others).
    """
    assert isinstance(response, dict)
    text = json.dumps(response)  # JSON-serialisable: no Decimal, set, bytes
    assert len(text.encode()) <= OUTPUT_LIMIT
    assert set(response) <= {"sessionState", "messages", "requestAttributes"}
    state = response["sessionState"]
    action = state["dialogAction"]
    kind = action["type"]
    assert kind in DIALOG_ACTIONS
    assert set(action) <= {"type", "slotToElicit", "slotElicitationStyle", "subSlotToElicit"}
    messages = response.get("messages", [])
    assert isinstance(messages, list)
    assert len(messages) <= 10
    for message in messages:
        assert message["contentType"] in CONTENT_TYPES
        if message["contentType"] == "ImageResponseCard":
            assert_valid_card(message["imageResponseCard"])
        else:
            content = message["content"]
            assert isinstance(content, str)
            assert 1 <= len(content) <= MESSAGE_LIMIT, content

    intent = state.get("intent")
    if intent is not None:
        assert isinstance(intent, dict), "intent must be an object, never a string"
        assert isinstance(intent.get("name"), str)
        assert intent["name"]
        assert intent.get("state", "InProgress") in INTENT_STATES
        assert intent.get("confirmationState", "None") in CONFIRMATION_STATES
        slots = intent.get("slots") or {}
        if intents is not None:
            assert intent["name"] in intents
            assert set(slots) <= intents[intent["name"]], slots
        for name, slot in slots.items():
            assert_valid_slot(name, slot)
        if asked is not None:
            # The code hook answers for the intent Lex asked about.
            assert intent["name"] == asked["sessionState"]["intent"]["name"]

    if kind == "ElicitIntent":
        assert messages, "ElicitIntent needs at least one message"
    elif kind == "ElicitSlot":
        assert intent is not None
        slot_name = action["slotToElicit"]
        assert isinstance(slot_name, str)
        if intents is not None:
            assert slot_name in intents[intent["name"]]
    elif kind == "ConfirmIntent":
        assert intent is not None
        assert "slots" in intent
        assert messages, "ConfirmIntent needs at least one message"
    elif kind == "Close":
        assert intent is not None
        assert intent["state"] in CLOSE_STATES
    if kind != "ElicitSlot":
        assert "slotToElicit" not in action

    attributes = state.get("sessionAttributes", {})
    assert isinstance(attributes, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in attributes.items())
    size = sum(len(k.encode()) + len(v.encode()) for k, v in attributes.items())
    assert size <= SESSION_ATTRIBUTES_LIMIT, size
