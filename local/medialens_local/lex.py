"""A local stand-in for Amazon Lex V2's runtime, driven by the bot in ``template.yaml``.

It reads the bot's intents, sample utterances, slots, prompts and slot types, turns each
user message into the Lex V2 event the real service would send, calls the code hook, and
carries out the dialog action the hook answers (Delegate, ElicitSlot, ConfirmIntent,
ElicitIntent, Close) the way Lex does.

The natural-language understanding is deliberately simple, and differs from Lex's
(docs/chatbot.md, "Chatting offline"): an utterance matches when the message has the same words
around its ``{Slot}`` placeholders; the most specific match wins; slot values resolve
against the slot type's values and synonyms, exactly or by spelling similarity. Lex's
statistical model also understands paraphrases it was never shown.
"""

from __future__ import annotations

import calendar
import difflib
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

FALLBACK_INTENT = "FallbackIntent"
YES = {"yes", "yeah", "yep", "sure", "ok", "okay", "correct", "right", "y", "please do"}
NO = {"no", "nope", "nah", "n", "no thanks", "wrong"}
SIMILARITY_CUTOFF = 0.65


@dataclass(frozen=True)
class SlotType:
    """A custom slot type: its values with synonyms, and how a value is resolved."""

    name: str
    values: tuple[tuple[str, tuple[str, ...]], ...]
    strategy: str = "ORIGINAL_VALUE"

    def resolve(self, text: str) -> dict[str, Any] | None:
        """Resolve what the user said the way the type's ResolutionStrategy does.

        ``resolvedValues`` lists the values the text names exactly (a value or one of its
        synonyms), then those spelled similarly. ``ORIGINAL_VALUE`` keeps the user's words
        as the interpreted value; ``TOP_RESOLUTION`` takes the first resolved value and
        fills nothing when there is none.
        """
        said = " ".join(text.split())
        wanted = said.lower()
        spellings: dict[str, str] = {}
        for value, synonyms in self.values:
            for spelling in (value, *synonyms):
                spellings.setdefault(spelling.lower(), value)
        exact = [spellings[wanted]] if wanted in spellings else []
        close = [
            spellings[s]
            for s in difflib.get_close_matches(wanted, spellings, n=4, cutoff=SIMILARITY_CUTOFF)
        ]
        resolved = list(dict.fromkeys([*exact, *close]))
        if self.strategy == "TOP_RESOLUTION":
            if not resolved:
                return None
            interpreted = resolved[0]
        else:
            interpreted = said
        return {"originalValue": said, "interpretedValue": interpreted, "resolvedValues": resolved}


@dataclass(frozen=True)
class Slot:
    """A slot of an intent: its type, whether it is required, and its prompt."""

    name: str
    type_name: str
    required: bool
    prompt: str


@dataclass(frozen=True)
class Utterance:
    """A sample utterance compiled to a pattern; ``literal`` counts its fixed characters."""

    text: str
    pattern: re.Pattern[str]
    literal: int


@dataclass(frozen=True)
class IntentDefinition:
    """An intent as the template defines it."""

    name: str
    utterances: tuple[Utterance, ...]
    slots: tuple[Slot, ...]
    dialog_hook: bool
    fulfilment_hook: bool
    confirmation_active: bool = False

    def slot(self, name: str) -> Slot | None:
        """Look a slot up by name."""
        return next((slot for slot in self.slots if slot.name == name), None)


def compile_utterance(text: str) -> Utterance:
    """Compile ``show me {MediaType} with {Label}`` to a case-insensitive pattern."""
    parts = re.split(r"\{(\w+)\}", text)
    regex = []
    literal = 0
    for index, part in enumerate(parts):
        if index % 2:
            regex.append(f"(?P<{part}>.+?)")
            continue
        words = part.split()
        literal += sum(len(word) for word in words)
        if words:
            joined = r"\s+".join(re.escape(word) for word in words)
            before = r"\s+" if index > 0 else ""
            after = r"\s+" if index < len(parts) - 1 else ""
            regex.append(f"{before}{joined}{after}")
        elif 0 < index < len(parts) - 1:
            regex.append(r"\s+")
    pattern = re.compile(r"^\s*" + "".join(regex) + r"\s*[?.!]*\s*$", re.IGNORECASE)
    return Utterance(text=text, pattern=pattern, literal=literal)


def _message(prompt: Mapping[str, Any] | None) -> str:
    if not prompt:
        return ""
    groups = prompt.get("MessageGroupsList", [])
    return str(groups[0]["Message"]["PlainTextMessage"]["Value"]) if groups else ""


@dataclass(frozen=True)
class BotDefinition:
    """One locale of the bot defined in ``template.yaml``."""

    locale_id: str
    name: str
    intents: Mapping[str, IntentDefinition]
    slot_types: Mapping[str, SlotType]

    @classmethod
    def from_template(
        cls,
        template: Mapping[str, Any],
        locale_id: str = "en_US",
        resolve: Callable[[Any], str] | None = None,
    ) -> BotDefinition:
        """Read the template's ``AWS::Lex::Bot`` (the first, in this locale).

        ``resolve`` evaluates intrinsic functions (the bot's ``!Sub`` name); without it the
        name is kept as written.

        Raises
        ------
        ValueError
            When the template defines no bot, or none in this locale.
        """
        bots = [
            resource
            for resource in template.get("Resources", {}).values()
            if resource.get("Type") == "AWS::Lex::Bot"
        ]
        if not bots:
            raise ValueError("template.yaml defines no AWS::Lex::Bot")
        properties = bots[0]["Properties"]
        locale = next(
            (loc for loc in properties["BotLocales"] if loc["LocaleId"] == locale_id), None
        )
        if locale is None:
            raise ValueError(f"the bot has no {locale_id} locale")
        slot_types = {
            spec["Name"]: SlotType(
                name=spec["Name"],
                values=tuple(
                    (
                        str(value["SampleValue"]["Value"]),
                        tuple(str(s["Value"]) for s in value.get("Synonyms", [])),
                    )
                    for value in spec.get("SlotTypeValues", [])
                ),
                strategy=spec.get("ValueSelectionSetting", {}).get(
                    "ResolutionStrategy", "ORIGINAL_VALUE"
                ),
            )
            for spec in locale.get("SlotTypes", [])
        }
        intents = {}
        for spec in locale.get("Intents", []):
            priorities = {p["SlotName"]: p["Priority"] for p in spec.get("SlotPriorities", [])}
            slots = sorted(spec.get("Slots", []), key=lambda s: priorities.get(s["Name"], 99))
            intents[spec["Name"]] = IntentDefinition(
                name=spec["Name"],
                utterances=tuple(
                    compile_utterance(str(u["Utterance"])) for u in spec.get("SampleUtterances", [])
                ),
                slots=tuple(
                    Slot(
                        name=slot["Name"],
                        type_name=slot["SlotTypeName"],
                        required=slot["ValueElicitationSetting"]["SlotConstraint"] == "Required",
                        prompt=_message(slot["ValueElicitationSetting"].get("PromptSpecification")),
                    )
                    for slot in slots
                ),
                dialog_hook=bool(spec.get("DialogCodeHook", {}).get("Enabled", False)),
                fulfilment_hook=bool(spec.get("FulfillmentCodeHook", {}).get("Enabled", False)),
                confirmation_active="IntentConfirmationSetting" in spec
                and bool(spec["IntentConfirmationSetting"].get("IsActive", True)),
            )
        return cls(
            locale_id=locale_id,
            name=(resolve or str)(properties.get("Name", "bot")),
            intents=intents,
            slot_types=slot_types,
        )

    def resolve_slot(self, slot: Slot, text: str, today: date) -> dict[str, Any] | None:
        """Build the slot ``value`` object Lex would send for ``text`` (``None``: no value)."""
        if slot.type_name == "AMAZON.Date":
            resolved = resolve_date(text, today)
            if resolved is None:
                return None
            iso = resolved.isoformat()
            return {"originalValue": text.strip(), "interpretedValue": iso, "resolvedValues": [iso]}
        if slot.type_name in self.slot_types:
            return self.slot_types[slot.type_name].resolve(text)
        said = text.strip()
        return {"originalValue": said, "interpretedValue": said, "resolvedValues": []}


@dataclass(frozen=True)
class Interpretation:
    """The intent a message was matched to, and the slots it filled."""

    intent: str
    slots: dict[str, dict[str, Any] | None]
    confidence: float


def interpret(bot: BotDefinition, text: str, today: date) -> Interpretation:
    """Match a message to the most specific sample utterance whose slots resolve.

    Returns
    -------
    Interpretation
        FallbackIntent when no utterance matches.
    """
    best: tuple[int, Interpretation] | None = None
    for intent in bot.intents.values():
        for utterance in intent.utterances:
            match = utterance.pattern.match(text)
            if match is None:
                continue
            slots: dict[str, dict[str, Any] | None] = {s.name: None for s in intent.slots}
            resolved_all = True
            for name, said in match.groupdict().items():
                slot = intent.slot(name)
                value = bot.resolve_slot(slot, said, today) if slot else None
                if value is None:
                    resolved_all = False
                    break
                slots[name] = value
            if not resolved_all:
                continue
            # More fixed words first; then more slots filled ("find dog photos").
            score = utterance.literal * 10 + len(match.groupdict())
            if best is None or score > best[0]:
                confidence = min(1.0, 0.5 + utterance.literal / max(len(text), 1) / 2)
                best = (score, Interpretation(intent.name, slots, round(confidence, 2)))
    if best is None:
        return Interpretation(FALLBACK_INTENT, {}, 0.0)
    return best[1]


# ---------------------------------------------------------------- AMAZON.Date

_MONTHS = {name.lower(): index for index, name in enumerate(calendar.month_name) if name} | {
    name.lower(): index for index, name in enumerate(calendar.month_abbr) if name
}
_WEEKDAYS = {name.lower(): index for index, name in enumerate(calendar.day_name)}
_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def resolve_date(text: str, today: date) -> date | None:
    """Resolve a date phrase the way AMAZON.Date documents it.

    A day is that day ("today", "yesterday", "20 November", "2026-11-20"), on or after
    today when no year is said; "this week"/"last week" are their Mondays and "next week"
    the last day of this week; "this month"/"last month" their first days and "next month"
    its last day; "last year" its first day.
    """
    phrase = " ".join(text.lower().replace(",", " ").split()).removeprefix("the ")
    monday = today - timedelta(days=today.weekday())
    fixed = {
        "today": today,
        "now": today,
        "yesterday": today - timedelta(days=1),
        "tomorrow": today + timedelta(days=1),
        "this week": monday,
        "last week": monday - timedelta(days=7),
        "next week": monday + timedelta(days=6),
        "this month": today.replace(day=1),
        "last month": (today.replace(day=1) - timedelta(days=1)).replace(day=1),
        "next month": _month_end(_add_month(today.replace(day=1))),
        "this year": date(today.year, 1, 1),
        "last year": date(today.year - 1, 1, 1),
        "next year": date(today.year + 1, 12, 31),
    }
    if phrase in fixed:
        return fixed[phrase]
    ago = re.fullmatch(r"(\d+|a|one|two|three|four|five|six|seven) (day|week|month)s? ago", phrase)
    if ago:
        count = int(ago.group(1)) if ago.group(1).isdigit() else _NUMBERS[ago.group(1)]
        unit = ago.group(2)
        if unit == "month":
            return _add_month(today, -count)
        return today - timedelta(days=count * (7 if unit == "week" else 1))
    if phrase.removeprefix("last ") in _WEEKDAYS:
        days_back = (today.weekday() - _WEEKDAYS[phrase.removeprefix("last ")]) % 7 or 7
        if phrase.startswith("last "):
            return today - timedelta(days=days_back)
        return today + timedelta(days=(7 - days_back) % 7 or 7)
    try:
        return date.fromisoformat(phrase)
    except ValueError:
        pass
    return _month_day(phrase, today)


def _month_day(phrase: str, today: date) -> date | None:
    words = [re.sub(r"(?<=\d)(st|nd|rd|th)$", "", w) for w in phrase.split()]
    month = next((_MONTHS[w] for w in words if w in _MONTHS), None)
    numbers = [int(w) for w in words if w.isdigit()]
    if month is None or not numbers or not 1 <= numbers[0] <= 31:
        return None
    try:
        if len(numbers) > 1 and numbers[1] > 31:
            return date(numbers[1], month, numbers[0])
        candidate = date(today.year, month, numbers[0])
    except ValueError:
        return None
    return candidate if candidate >= today else candidate.replace(year=today.year + 1)


def _add_month(day: date, months: int = 1) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, 28))


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


# ---------------------------------------------------------------- runtime


@dataclass
class BotReply:
    """What the runtime answers one message with, as RecognizeText would."""

    messages: list[dict[str, Any]]
    session_state: dict[str, Any]
    interpretation: Interpretation | None = None
    error: str | None = None

    @property
    def texts(self) -> list[str]:
        """The plain-text messages."""
        return [m["content"] for m in self.messages if m.get("contentType") == "PlainText"]

    @property
    def cards(self) -> list[dict[str, Any]]:
        """The image response cards."""
        return [m["imageResponseCard"] for m in self.messages if "imageResponseCard" in m]


CodeHook = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class LocalLexSession:
    """One conversation with the bot: Lex's dialog management around the code hook.

    Parameters
    ----------
    bot : BotDefinition
    code_hook : Callable[[dict], dict]
        Invokes the fulfilment Lambda with an event and returns its response; raising
        is what Lex reports as "Received error response from Lambda".
    today : Callable[[], date]
    input_mode : str
        ``Text`` or ``Speech`` (speech is simulated: the transcript is what was typed).
    """

    bot: BotDefinition
    code_hook: CodeHook
    today: Callable[[], date] = date.today
    input_mode: str = "Text"
    session_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    session_attributes: dict[str, str] = field(default_factory=dict)
    intent: dict[str, Any] | None = None
    awaiting: str | None = None
    slot_to_elicit: str | None = None
    retries: int = 0

    def send(self, text: str) -> BotReply:
        """Process one user message; return the bot's messages and the session state."""
        today = self.today()
        interpretation: Interpretation | None = None
        if self.awaiting == "confirm" and self.intent is not None:
            answer = " ".join(text.lower().split()).strip(" .!")
            if answer in YES | NO:
                self.intent["confirmationState"] = "Confirmed" if answer in YES else "Denied"
                return self._advance(text, None)
        if self.awaiting == "slot" and self.intent is not None and self.slot_to_elicit:
            interpretation = interpret(self.bot, text, today)
            definition = self.bot.intents[self.intent["name"]]
            switch = interpretation.intent not in (FALLBACK_INTENT, self.intent["name"])
            slot = definition.slot(self.slot_to_elicit)
            if not switch and slot is not None:
                value = interpretation.slots.get(slot.name) or self.bot.resolve_slot(
                    slot, text, today
                )
                if value is None:
                    return self._reprompt(slot)
                self.intent["slots"][slot.name] = {"shape": "Scalar", "value": value}
                self.intent["confirmationState"] = "None"
                return self._advance(text, interpretation)
        interpretation = interpretation or interpret(self.bot, text, today)
        definition = self.bot.intents[interpretation.intent]
        self.intent = {
            "name": definition.name,
            "slots": {
                name: None if value is None else {"shape": "Scalar", "value": value}
                for name, value in interpretation.slots.items()
            },
            "state": "InProgress",
            "confirmationState": "None",
        }
        self.retries = 0
        return self._advance(text, interpretation)

    def _reprompt(self, slot: Slot) -> BotReply:
        self.retries += 1
        return self._reply([_plain(slot.prompt)], None)

    def _advance(self, text: str, interpretation: Interpretation | None) -> BotReply:
        assert self.intent is not None
        definition = self.bot.intents[self.intent["name"]]
        self.awaiting = None
        self.slot_to_elicit = None
        if definition.dialog_hook:
            response = self._call("DialogCodeHook", text, interpretation)
            if isinstance(response, BotReply):
                return response
            action = response["sessionState"]["dialogAction"]
            if action["type"] != "Delegate":
                return self._apply(response, interpretation)
            self._absorb(response)
        missing = next(
            (
                slot
                for slot in definition.slots
                if slot.required and not self.intent["slots"].get(slot.name)
            ),
            None,
        )
        if missing is not None:
            self.awaiting, self.slot_to_elicit = "slot", missing.name
            return self._reply([_plain(missing.prompt)], interpretation)
        self.intent["state"] = "ReadyForFulfillment"
        if not definition.fulfilment_hook:
            self.intent["state"] = "Fulfilled"
            return self._reply([], interpretation)
        response = self._call("FulfillmentCodeHook", text, interpretation)
        if isinstance(response, BotReply):
            return response
        return self._apply(response, interpretation)

    def _call(
        self, source: str, text: str, interpretation: Interpretation | None
    ) -> dict[str, Any] | BotReply:
        assert self.intent is not None
        event = self.event(source, text, interpretation)
        try:
            response = self.code_hook(event)
            json.dumps(response)
        except Exception as error:  # noqa: BLE001 - Lex reports any Lambda failure this way
            self.intent = None
            self.awaiting = None
            return BotReply(
                messages=[],
                session_state={},
                interpretation=interpretation,
                error=f"Received error response from Lambda: {type(error).__name__}: {error}",
            )
        return response

    def event(
        self, source: str, text: str, interpretation: Interpretation | None
    ) -> dict[str, Any]:
        """Build the Lex V2 code-hook event for the current state."""
        assert self.intent is not None
        session_state = {
            "sessionAttributes": dict(self.session_attributes),
            "activeContexts": [],
            "intent": json.loads(json.dumps(self.intent)),
            "originatingRequestId": str(uuid.uuid4()),
        }
        interpretations = [{"intent": session_state["intent"], "interpretationSource": "Lex"}]
        if interpretation is not None:
            interpretations[0]["nluConfidence"] = interpretation.confidence
        return {
            "messageVersion": "1.0",
            "invocationSource": source,
            "inputMode": self.input_mode,
            "responseContentType": "text/plain; charset=utf-8"
            if self.input_mode == "Text"
            else "audio/pcm",
            "sessionId": self.session_id,
            "inputTranscript": text,
            "bot": {
                "id": "LOCALBOTID",
                "name": self.bot.name,
                # The live alias: only it has the code hook (the test alias has none).
                "aliasId": "LIVEALIAS1",
                "aliasName": "live",
                "localeId": self.bot.locale_id,
                "version": "1",
            },
            "interpretations": interpretations,
            "sessionState": session_state,
            "transcriptions": [
                {
                    "transcription": text,
                    "transcriptionConfidence": 1,
                    "resolvedContext": {"intent": self.intent["name"]},
                    "resolvedSlots": {},
                }
            ]
            if self.input_mode == "Speech"
            else [],
        }

    def _absorb(self, response: Mapping[str, Any]) -> None:
        state = response["sessionState"]
        self.session_attributes = {
            str(k): str(v) for k, v in (state.get("sessionAttributes") or {}).items()
        }
        if state.get("intent"):
            returned = state["intent"]
            self.intent = {
                "name": returned["name"],
                "slots": dict(returned.get("slots") or {}),
                "state": returned.get("state", "InProgress"),
                "confirmationState": returned.get("confirmationState", "None"),
            }

    def _apply(
        self, response: Mapping[str, Any], interpretation: Interpretation | None
    ) -> BotReply:
        action = response["sessionState"]["dialogAction"]
        kind = action["type"]
        returned = response["sessionState"].get("intent") or self.intent or {}
        definition = self.bot.intents.get(returned.get("name", ""))
        if kind == "ConfirmIntent" and definition and not definition.confirmation_active:
            # Lex takes a code hook's ConfirmIntent only where the intent's confirmation
            # step is active at build time.
            self.intent, self.awaiting = None, None
            return BotReply(
                messages=[],
                session_state={},
                interpretation=interpretation,
                error=f"Invalid Lambda Response: ConfirmIntent for {definition.name}, "
                "whose confirmation step is not active",
            )
        self._absorb(response)
        if kind == "ElicitSlot":
            self.awaiting, self.slot_to_elicit = "slot", action["slotToElicit"]
        elif kind == "ConfirmIntent":
            self.awaiting = "confirm"
        elif kind in ("Close", "ElicitIntent"):
            self.intent = None if kind == "ElicitIntent" else self.intent
            self.awaiting = None
        return self._reply(list(response.get("messages") or []), interpretation, response)

    def _reply(
        self,
        messages: list[dict[str, Any]],
        interpretation: Interpretation | None,
        response: Mapping[str, Any] | None = None,
    ) -> BotReply:
        state = dict(response["sessionState"]) if response else {}
        state.setdefault("sessionAttributes", dict(self.session_attributes))
        if self.intent is not None:
            state.setdefault("intent", self.intent)
        return BotReply(
            messages=[m for m in messages if m], session_state=state, interpretation=interpretation
        )


def _plain(text: str) -> dict[str, Any]:
    return {"contentType": "PlainText", "content": text} if text else {}
