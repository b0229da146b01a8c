"""Amazon Lex V2's code-hook contract: the event Lex sends and the response it expects.

Powertools has no Lex V2 data class, so both shapes are modelled here from the
documented formats ("AWS Lambda input event format for Lex V2" and "response format").
Parsing ignores fields it does not use, as the documentation asks: Lex may add fields
without changing ``messageVersion``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from medialens.chatbot.channels import BUTTON_TEXT_LIMIT, TEXT, ChannelStyle, cut, style_of
from medialens.shared.errors import MalformedLexEventError


class InvocationSource(StrEnum):
    """Which code hook Lex is calling."""

    DIALOG = "DialogCodeHook"
    FULFILLMENT = "FulfillmentCodeHook"


class InputMode(StrEnum):
    """How the user spoke to the bot."""

    TEXT = "Text"
    SPEECH = "Speech"
    DTMF = "DTMF"


class IntentState(StrEnum):
    """The intent states Lex knows."""

    FAILED = "Failed"
    FULFILLED = "Fulfilled"
    FULFILLMENT_IN_PROGRESS = "FulfillmentInProgress"
    IN_PROGRESS = "InProgress"
    READY_FOR_FULFILLMENT = "ReadyForFulfillment"
    WAITING = "Waiting"


class ConfirmationState(StrEnum):
    """The user's answer to a ConfirmIntent prompt."""

    CONFIRMED = "Confirmed"
    DENIED = "Denied"
    NONE = "None"


class DialogActionType(StrEnum):
    """What Lex does after the code hook answers."""

    CLOSE = "Close"
    CONFIRM_INTENT = "ConfirmIntent"
    DELEGATE = "Delegate"
    ELICIT_INTENT = "ElicitIntent"
    ELICIT_SLOT = "ElicitSlot"


@dataclass(frozen=True, slots=True)
class SlotValue:
    """A slot's value as Lex understood it.

    Attributes
    ----------
    original : str
        What the user said.
    interpreted : str | None
        The value chosen by the slot type's resolution strategy.
    resolved : tuple[str, ...]
        Slot-type values Lex recognised for the input (the candidates for a near miss).
    """

    original: str
    interpreted: str | None
    resolved: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: str) -> SlotValue:
        """Make a value the code hook sets itself: original, interpreted and resolved alike."""
        return cls(original=value, interpreted=value, resolved=(value,))

    @property
    def text(self) -> str:
        """The interpreted value, or what the user said when nothing was interpreted."""
        return self.interpreted if self.interpreted is not None else self.original

    def candidates(self) -> tuple[str, ...]:
        """Interpreted value first, then the other resolved values, without repeats."""
        ordered = [self.text, *self.resolved]
        return tuple(dict.fromkeys(value for value in ordered if value))

    def to_dict(self) -> dict[str, Any]:
        """Serialise as the ``value`` object of a slot."""
        return {
            "originalValue": self.original,
            "interpretedValue": self.text,
            "resolvedValues": list(self.resolved),
        }


def _slot_value(raw: Any, name: str) -> SlotValue | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise MalformedLexEventError(f"slot {name!r} is not an object")
    value = raw.get("value")
    values = raw.get("values")
    if value is None and isinstance(values, list) and values:
        # A List-shaped slot: this bot's slots are scalar, so its first value is used.
        return _slot_value(values[0], name)
    if not isinstance(value, Mapping):
        return None
    original = value.get("originalValue")
    interpreted = value.get("interpretedValue")
    resolved = value.get("resolvedValues") or []
    if not isinstance(resolved, list) or not all(isinstance(v, str) for v in resolved):
        raise MalformedLexEventError(f"slot {name!r} has malformed resolvedValues")
    if interpreted is not None and not isinstance(interpreted, str):
        raise MalformedLexEventError(f"slot {name!r} has a non-string interpretedValue")
    if not isinstance(original, str):
        original = interpreted or ""
    if not original and not interpreted:
        return None
    return SlotValue(original=original, interpreted=interpreted, resolved=tuple(resolved))


@dataclass(frozen=True, slots=True)
class Intent:
    """The intent Lex is working on: its slots, state and confirmation."""

    name: str
    slots: Mapping[str, SlotValue | None] = field(default_factory=dict)
    state: IntentState = IntentState.IN_PROGRESS
    confirmation: ConfirmationState = ConfirmationState.NONE

    @classmethod
    def parse(cls, raw: Any) -> Intent:
        """Parse ``sessionState.intent``.

        Raises
        ------
        MalformedLexEventError
            When the intent has no name or its slots are not objects.
        """
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
            raise MalformedLexEventError("sessionState.intent has no name")
        raw_slots = raw.get("slots") or {}
        if not isinstance(raw_slots, Mapping):
            raise MalformedLexEventError("sessionState.intent.slots is not an object")
        try:
            state = IntentState(raw.get("state") or IntentState.IN_PROGRESS)
            confirmation = ConfirmationState(raw.get("confirmationState") or "None")
        except ValueError as error:
            raise MalformedLexEventError(f"unknown intent state: {error}") from error
        return cls(
            name=raw["name"],
            slots={str(name): _slot_value(value, str(name)) for name, value in raw_slots.items()},
            state=state,
            confirmation=confirmation,
        )

    def slot(self, name: str) -> SlotValue | None:
        """Return the slot's value, or ``None`` when it is empty or unknown."""
        return self.slots.get(name)

    def with_slot(self, name: str, value: SlotValue | None) -> Intent:
        """Copy the intent with one slot set (or cleared with ``None``)."""
        return replace(self, slots={**self.slots, name: value})

    def with_state(
        self, state: IntentState, confirmation: ConfirmationState | None = None
    ) -> Intent:
        """Copy the intent in another state (and, optionally, confirmation state)."""
        return replace(self, state=state, confirmation=confirmation or self.confirmation)

    def to_dict(self) -> dict[str, Any]:
        """Serialise as ``sessionState.intent``."""
        return {
            "name": self.name,
            "slots": {
                name: None if value is None else {"shape": "Scalar", "value": value.to_dict()}
                for name, value in self.slots.items()
            },
            "state": self.state.value,
            "confirmationState": self.confirmation.value,
        }


def _string_map(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise MalformedLexEventError(f"{where} is not an object")
    return {str(key): str(value) for key, value in raw.items()}


@dataclass(frozen=True, slots=True)
class LexRequest:
    """A code-hook invocation from Lex V2.

    Attributes
    ----------
    source : InvocationSource
        DialogCodeHook (validate and steer the dialog) or FulfillmentCodeHook (answer).
    input_mode : InputMode
        Text, Speech or DTMF; spoken answers get no links or cards.
    session_id : str
    transcript : str
        What the user typed or said (``inputTranscript``).
    intent : Intent
    session_attributes : Mapping[str, str]
        The conversation's memory; the client can read and set it too.
    request_attributes : Mapping[str, str]
    locale_id : str
    """

    source: InvocationSource
    input_mode: InputMode
    session_id: str
    transcript: str
    intent: Intent
    session_attributes: Mapping[str, str] = field(default_factory=dict)
    request_attributes: Mapping[str, str] = field(default_factory=dict)
    locale_id: str = "en_US"

    @classmethod
    def parse(cls, event: Any) -> LexRequest:
        """Parse the documented Lex V2 event.

        Raises
        ------
        MalformedLexEventError
            When a field the bot relies on is missing or of the wrong type.
        """
        if not isinstance(event, Mapping):
            raise MalformedLexEventError("the event is not an object")
        session_state = event.get("sessionState")
        if not isinstance(session_state, Mapping):
            raise MalformedLexEventError("the event has no sessionState")
        try:
            source = InvocationSource(str(event.get("invocationSource")))
            input_mode = InputMode(event.get("inputMode") or InputMode.TEXT)
        except ValueError as error:
            raise MalformedLexEventError(f"unknown invocation: {error}") from error
        bot = event.get("bot")
        if not isinstance(bot, Mapping):
            bot = {}
        return cls(
            source=source,
            input_mode=input_mode,
            session_id=str(event.get("sessionId", "")),
            transcript=str(event.get("inputTranscript") or ""),
            intent=Intent.parse(session_state.get("intent")),
            session_attributes=_string_map(
                session_state.get("sessionAttributes"), "sessionAttributes"
            ),
            request_attributes=_string_map(event.get("requestAttributes"), "requestAttributes"),
            locale_id=str(bot.get("localeId", "en_US")),
        )

    @property
    def spoken(self) -> bool:
        """Whether the answer will be read out (no links, lists kept short)."""
        return self.channel.spoken

    @property
    def channel(self) -> ChannelStyle:
        """The channel the answer goes to: speech, Slack, Facebook, Twilio SMS or text."""
        return style_of(self.input_mode.value, self.request_attributes)


@dataclass(frozen=True, slots=True)
class ResponseCard:
    """An image response card: a title, an optional subtitle and up to three buttons."""

    title: str
    subtitle: str | None = None
    buttons: tuple[tuple[str, str], ...] = ()

    def offered(self, channel: ChannelStyle = TEXT) -> tuple[tuple[str, str], ...]:
        """Return the buttons the channel can show: at most ``max_buttons``, values within Lex's.

        A cut value would send something else than what the button offers: such a
        button is left out rather than cut.
        """
        fitting = [b for b in self.buttons if 0 < len(b[1]) <= BUTTON_TEXT_LIMIT]
        return tuple(fitting[: channel.max_buttons])

    def to_dict(self, channel: ChannelStyle = TEXT) -> dict[str, Any]:
        """Serialise within Lex's and the channel's limits (long texts cut)."""
        card: dict[str, Any] = {"title": cut(self.title, channel.card_title_limit)}
        if self.subtitle:
            card["subtitle"] = cut(self.subtitle, channel.card_subtitle_limit)
        buttons = self.offered(channel)
        if buttons:
            card["buttons"] = [
                {"text": cut(text, channel.button_text_limit), "value": value}
                for text, value in buttons
            ]
        return card


@dataclass(frozen=True, slots=True)
class LexResponse:
    """The code hook's answer: the next dialog action, the intent, messages and memory."""

    action: DialogActionType
    intent: Intent | None
    messages: Sequence[str] = ()
    session_attributes: Mapping[str, str] = field(default_factory=dict)
    slot_to_elicit: str | None = None
    card: ResponseCard | None = None
    channel: ChannelStyle = TEXT

    def to_dict(self) -> dict[str, Any]:
        """Serialise in the documented response format, shaped for ``channel``."""
        dialog_action: dict[str, Any] = {"type": self.action.value}
        if self.slot_to_elicit is not None:
            dialog_action["slotToElicit"] = self.slot_to_elicit
        session_state: dict[str, Any] = {
            "dialogAction": dialog_action,
            "sessionAttributes": dict(self.session_attributes),
        }
        if self.intent is not None:
            session_state["intent"] = self.intent.to_dict()
        response: dict[str, Any] = {"sessionState": session_state}
        channel = self.channel
        offered = self.card.offered(channel) if self.card is not None else ()
        messages: list[dict[str, Any]] = [
            {"contentType": "PlainText", "content": text}
            for text in channel.shape(
                self.messages, () if channel.cards else [value for _, value in offered]
            )
        ]
        if self.card is not None and channel.cards:
            messages.append(
                {
                    "contentType": "ImageResponseCard",
                    "imageResponseCard": self.card.to_dict(channel),
                }
            )
        if messages:
            response["messages"] = messages
        return response
