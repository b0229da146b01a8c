"""The local Lex V2 runtime: the bot read from template.yaml, the matcher, AMAZON.Date, dialogs.

Expected values come from the template itself (intents, utterances, slot values, prompts)
and from AWS's documented AMAZON.Date examples (today 2020-11-25, a Wednesday). The
dialog tests drive ``LocalLexSession`` with a fake code hook, so they check Lex's dialog
management independently of the real Lambda.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from medialens_local.lex import (
    FALLBACK_INTENT,
    BotDefinition,
    LocalLexSession,
    SlotType,
    interpret,
    resolve_date,
)
from medialens_local.template import Resolver, load_template

TODAY = date(2020, 11, 25)  # a Wednesday: AWS's AMAZON.Date examples use this day
LATER = date(2026, 11, 27)  # a Friday

Event = dict[str, Any]
Response = dict[str, Any]


def raw_locale() -> dict[str, Any]:
    template = load_template()
    [bot] = [r for r in template["Resources"].values() if r.get("Type") == "AWS::Lex::Bot"]
    [locale] = [loc for loc in bot["Properties"]["BotLocales"] if loc["LocaleId"] == "en_US"]
    return dict(locale)


def raw_intents() -> dict[str, dict[str, Any]]:
    return {spec["Name"]: spec for spec in raw_locale()["Intents"]}


def raw_slot_types() -> dict[str, dict[str, Any]]:
    return {spec["Name"]: spec for spec in raw_locale()["SlotTypes"]}


def raw_prompt(intent: str, slot: str) -> str:
    [spec] = [s for s in raw_intents()[intent]["Slots"] if s["Name"] == slot]
    groups = spec["ValueElicitationSetting"]["PromptSpecification"]["MessageGroupsList"]
    return str(groups[0]["Message"]["PlainTextMessage"]["Value"])


@pytest.fixture(scope="module")
def bot() -> BotDefinition:
    return BotDefinition.from_template(load_template())


def monday_of_last_week(today: date) -> date:
    return today - timedelta(days=today.weekday() + 7)


# ---------------------------------------------------------------- the bot definition


def test_every_intent_of_the_template_is_read(bot: BotDefinition) -> None:
    raw = raw_intents()

    assert list(bot.intents) == list(raw)
    assert FALLBACK_INTENT in bot.intents
    assert bot.intents[FALLBACK_INTENT].utterances == ()
    assert bot.locale_id == "en_US"


@pytest.mark.parametrize("name", list(raw_intents()))
def test_an_intent_keeps_its_utterances_slots_and_hooks(bot: BotDefinition, name: str) -> None:
    spec = raw_intents()[name]
    intent = bot.intents[name]
    priorities = {p["SlotName"]: p["Priority"] for p in spec.get("SlotPriorities", [])}
    ordered = sorted(spec.get("Slots", []), key=lambda s: priorities[s["Name"]])

    assert [u.text for u in intent.utterances] == [
        u["Utterance"] for u in spec.get("SampleUtterances", [])
    ]
    assert [s.name for s in intent.slots] == [s["Name"] for s in ordered]
    for slot, raw in zip(intent.slots, ordered, strict=True):
        assert slot.type_name == raw["SlotTypeName"]
        assert slot.required is (raw["ValueElicitationSetting"]["SlotConstraint"] == "Required")
        assert slot.prompt == raw_prompt(name, slot.name)
        assert slot.prompt
    assert intent.dialog_hook is spec.get("DialogCodeHook", {}).get("Enabled", False)
    assert intent.fulfilment_hook is spec.get("FulfillmentCodeHook", {}).get("Enabled", False)


def test_slots_follow_their_priorities_and_constraints(bot: BotDefinition) -> None:
    search = bot.intents["SearchMedia"]

    assert [(s.name, s.required) for s in search.slots] == [
        ("Label", True),
        ("MediaType", False),
        ("Since", False),
    ]
    assert search.slot("Since") is not None
    assert search.slot("Nope") is None
    assert bot.intents["ShowMore"].dialog_hook is False
    assert bot.intents["ShowMore"].fulfilment_hook is True


def test_slot_types_keep_values_synonyms_and_strategy(bot: BotDefinition) -> None:
    for name, spec in raw_slot_types().items():
        slot_type = bot.slot_types[name]
        assert slot_type.strategy == spec["ValueSelectionSetting"]["ResolutionStrategy"]
        assert slot_type.values == tuple(
            (v["SampleValue"]["Value"], tuple(s["Value"] for s in v.get("Synonyms", [])))
            for v in spec["SlotTypeValues"]
        )


def test_a_template_without_a_bot_or_locale_is_refused() -> None:
    with pytest.raises(ValueError, match="no AWS::Lex::Bot"):
        BotDefinition.from_template({"Resources": {}})
    with pytest.raises(ValueError, match="fr_FR"):
        BotDefinition.from_template(load_template(), locale_id="fr_FR")


# ---------------------------------------------------------------- matching utterances


def sample_value(bot: BotDefinition, type_name: str) -> str:
    """A value that resolves for the type: its first sample value ("last week" for dates)."""
    if type_name == "AMAZON.Date":
        return "last week"
    return bot.slot_types[type_name].values[0][0]


def expected_interpretation(bot: BotDefinition, type_name: str) -> str:
    if type_name == "AMAZON.Date":
        return monday_of_last_week(TODAY).isoformat()
    # A first sample value is canonical, so both strategies interpret it as itself.
    return sample_value(bot, type_name)


UTTERANCES = [
    pytest.param(name, u["Utterance"], id=f"{name}: {u['Utterance']}")
    for name, spec in raw_intents().items()
    for u in spec.get("SampleUtterances", [])
]


@pytest.mark.parametrize(("intent_name", "utterance"), UTTERANCES)
def test_every_sample_utterance_is_matched_to_its_intent_with_its_slots(
    bot: BotDefinition, intent_name: str, utterance: str
) -> None:
    intent = bot.intents[intent_name]
    placeholders = re.findall(r"\{(\w+)\}", utterance)
    types = {name: slot.type_name for name in placeholders if (slot := intent.slot(name))}
    text = re.sub(r"\{(\w+)\}", lambda m: sample_value(bot, types[m.group(1)]), utterance)

    result = interpret(bot, text, TODAY)

    assert result.intent == intent_name, f"{text!r} collides with {result.intent}"
    filled = {name: value["interpretedValue"] for name, value in result.slots.items() if value}
    assert filled == {name: expected_interpretation(bot, types[name]) for name in placeholders}
    assert set(result.slots) == {slot.name for slot in intent.slots}
    assert 0.5 <= result.confidence <= 1.0


def test_a_search_with_a_type_a_label_and_a_date(bot: BotDefinition) -> None:
    result = interpret(bot, "show me videos with cars from last week", TODAY)

    assert result.intent == "SearchMedia"
    media_type, label, since = (result.slots[n] for n in ("MediaType", "Label", "Since"))
    assert media_type is not None
    assert media_type["interpretedValue"] == "videos"
    assert label is not None
    assert label["originalValue"] == "cars"
    assert label["interpretedValue"] == "cars"
    assert label["resolvedValues"][0] == "car"
    assert since is not None
    assert since["originalValue"] == "last week"
    assert since["interpretedValue"] == "2020-11-16"
    assert since["resolvedValues"] == ["2020-11-16"]


def test_show_me_more_is_not_a_search_for_more(bot: BotDefinition) -> None:
    assert interpret(bot, "show me more", TODAY).intent == "ShowMore"


def test_only_videos_refines_the_last_search(bot: BotDefinition) -> None:
    result = interpret(bot, "only videos", TODAY)

    assert result.intent == "RefineSearch"
    media_type = result.slots["MediaType"]
    assert media_type is not None
    assert media_type["interpretedValue"] == "videos"


@pytest.mark.parametrize("text", ["blorp zzyzx frobnicate", "", "what's the weather in Paris"])
def test_anything_else_is_the_fallback_intent(bot: BotDefinition, text: str) -> None:
    result = interpret(bot, text, TODAY)

    assert result.intent == FALLBACK_INTENT
    assert result.slots == {}
    assert result.confidence == 0.0


def test_case_and_a_trailing_question_mark_are_ignored(bot: BotDefinition) -> None:
    plain = interpret(bot, "show me photos with cats", TODAY)
    shouted = interpret(bot, "SHOW ME PHOTOS WITH CATS?", TODAY)

    assert shouted.intent == plain.intent == "SearchMedia"
    for result in (plain, shouted):
        media_type, label = result.slots["MediaType"], result.slots["Label"]
        assert media_type is not None
        assert media_type["interpretedValue"] == "photos"
        assert label is not None
        assert label["resolvedValues"][0] == "cat"
    assert interpret(bot, "Show me more?", TODAY).intent == "ShowMore"
    assert interpret(bot, "  is cat-and-rocket.mp4 done?  ", TODAY).intent == "UploadStatus"


def test_a_slot_value_that_does_not_resolve_rules_the_utterance_out(bot: BotDefinition) -> None:
    # MediaType is TOP_RESOLUTION: "bananas" is no media type, so only "show me {Label}" fits.
    result = interpret(bot, "show me bananas with cats", TODAY)

    assert result.intent == "SearchMedia"
    assert result.slots["MediaType"] is None
    label = result.slots["Label"]
    assert label is not None
    assert label["interpretedValue"] == "bananas with cats"


# ---------------------------------------------------------------- slot types

SPELLINGS = [
    pytest.param(name, v["SampleValue"]["Value"], spelling, id=f"{name}: {spelling}")
    for name, spec in raw_slot_types().items()
    for v in spec["SlotTypeValues"]
    for spelling in (v["SampleValue"]["Value"], *(s["Value"] for s in v.get("Synonyms", [])))
]


@pytest.mark.parametrize(("type_name", "value", "spelling"), SPELLINGS)
def test_every_value_and_synonym_resolves_to_its_value_first(
    bot: BotDefinition, type_name: str, value: str, spelling: str
) -> None:
    slot_type = bot.slot_types[type_name]

    resolved = slot_type.resolve(spelling.upper())

    assert resolved is not None
    assert resolved["originalValue"] == spelling.upper()
    assert resolved["resolvedValues"][0] == value
    if slot_type.strategy == "TOP_RESOLUTION":
        assert resolved["interpretedValue"] == value
    else:
        assert resolved["interpretedValue"] == spelling.upper()


def test_top_resolution_maps_synonyms_and_refuses_unknown_words(bot: BotDefinition) -> None:
    media_type = bot.slot_types["MediaType"]
    assert media_type.strategy == "TOP_RESOLUTION"

    pictures = media_type.resolve("pictures")
    footage = media_type.resolve("  Footage ")

    assert pictures == {
        "originalValue": "pictures",
        "interpretedValue": "photos",
        "resolvedValues": ["photos"],
    }
    assert footage is not None
    assert footage["originalValue"] == "Footage"
    assert footage["interpretedValue"] == "videos"
    assert media_type.resolve("bananas") is None
    assert media_type.resolve("") is None


def test_original_value_keeps_the_words_and_lists_exact_then_similar_values(
    bot: BotDefinition,
) -> None:
    label = bot.slot_types["MediaLabel"]
    assert label.strategy == "ORIGINAL_VALUE"

    cars = label.resolve("cars")
    typo = label.resolve("kittenz")
    unknown = label.resolve("  quantum   flux ")

    assert cars is not None
    assert cars["interpretedValue"] == "cars"
    assert cars["resolvedValues"][0] == "car"  # "cars" is a synonym of car: exact
    assert "cat" in cars["resolvedValues"][1:]  # "cats" is spelled similarly
    assert typo is not None
    assert typo["interpretedValue"] == "kittenz"
    assert typo["resolvedValues"][0] == "cat"
    assert unknown == {
        "originalValue": "quantum flux",
        "interpretedValue": "quantum flux",
        "resolvedValues": [],
    }


def test_a_synonym_listed_twice_resolves_to_its_first_value() -> None:
    slot_type = SlotType("T", (("first", ("shared",)), ("second", ("shared",))))

    resolved = slot_type.resolve("shared")

    assert resolved is not None
    assert resolved["resolvedValues"] == ["first"]


# ---------------------------------------------------------------- AMAZON.Date

DOCUMENTED = [
    # AWS's examples for today = 2020-11-25 (built-in-slot-date.html), and inferred rules
    ("today", date(2020, 11, 25)),
    ("now", date(2020, 11, 25)),
    ("yesterday", date(2020, 11, 24)),
    ("this week", date(2020, 11, 23)),
    ("last week", date(2020, 11, 16)),
    ("next week", date(2020, 11, 29)),
    ("this month", date(2020, 11, 1)),
    ("last month", date(2020, 10, 1)),
    ("next month", date(2020, 12, 31)),
    ("last year", date(2019, 1, 1)),
    ("next year", date(2021, 12, 31)),
    ("3 days ago", date(2020, 11, 22)),
    ("two weeks ago", date(2020, 11, 11)),
    ("monday", date(2020, 11, 30)),
    ("Friday", date(2020, 11, 27)),
    ("last monday", date(2020, 11, 23)),
    ("last wednesday", date(2020, 11, 18)),
    ("last friday", date(2020, 11, 20)),
    ("2020-11-20", date(2020, 11, 20)),
    ("November 25", date(2020, 11, 25)),
    ("November 30", date(2020, 11, 30)),
    ("November 20", date(2021, 11, 20)),
    ("november 20th", date(2021, 11, 20)),
    ("the 20th of November", date(2021, 11, 20)),
    ("December 1st", date(2020, 12, 1)),
    ("20 november 2025", date(2025, 11, 20)),
    ("November 20, 2019", date(2019, 11, 20)),
    ("  Last   Week ", date(2020, 11, 16)),
]


@pytest.mark.parametrize(("phrase", "expected"), DOCUMENTED, ids=[p for p, _ in DOCUMENTED])
def test_a_date_phrase_resolves_as_amazon_date_does(phrase: str, expected: date) -> None:
    assert resolve_date(phrase, TODAY) == expected


LATER_DATES = [
    ("today", date(2026, 11, 27)),
    ("yesterday", date(2026, 11, 26)),
    ("this week", date(2026, 11, 23)),
    ("last week", date(2026, 11, 16)),
    ("next week", date(2026, 11, 29)),
    ("this month", date(2026, 11, 1)),
    ("last month", date(2026, 10, 1)),
    ("next month", date(2026, 12, 31)),
    ("last year", date(2025, 1, 1)),
    ("next year", date(2027, 12, 31)),
    ("3 days ago", date(2026, 11, 24)),
    ("two weeks ago", date(2026, 11, 13)),
    ("monday", date(2026, 11, 30)),
    ("last monday", date(2026, 11, 23)),
    ("last friday", date(2026, 11, 20)),
    ("November 20", date(2027, 11, 20)),
    ("November 28", date(2026, 11, 28)),
    ("20 november 2025", date(2025, 11, 20)),
]


@pytest.mark.parametrize(("phrase", "expected"), LATER_DATES, ids=[p for p, _ in LATER_DATES])
def test_a_date_phrase_resolves_relative_to_another_today(phrase: str, expected: date) -> None:
    assert resolve_date(phrase, LATER) == expected


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("August 5", date(2021, 8, 5)),
        ("5 August", date(2021, 8, 5)),
        ("august 5th", date(2021, 8, 5)),
        ("aug 5", date(2021, 8, 5)),
        ("March 3rd", date(2021, 3, 3)),
    ],
)
def test_every_month_name_is_understood(phrase: str, expected: date) -> None:
    assert resolve_date(phrase, TODAY) == expected


@pytest.mark.parametrize(
    "phrase",
    ["", "whenever", "soon-ish", "the day after the party", "February 30", "2020-13-01", "32 May"],
)
def test_what_is_no_date_resolves_to_none(phrase: str) -> None:
    assert resolve_date(phrase, TODAY) is None


def test_a_date_slot_carries_the_iso_date(bot: BotDefinition) -> None:
    since = bot.intents["SearchMedia"].slot("Since")
    assert since is not None

    assert bot.resolve_slot(since, " last week ", TODAY) == {
        "originalValue": "last week",
        "interpretedValue": "2020-11-16",
        "resolvedValues": ["2020-11-16"],
    }
    assert bot.resolve_slot(since, "whenever", TODAY) is None


# ---------------------------------------------------------------- the runtime, with a fake hook


def say(event: Event, text: str) -> dict[str, str]:
    return {"contentType": "PlainText", "content": text}


def delegate(event: Event, **slots: dict[str, Any] | None) -> Response:
    intent = copy.deepcopy(event["sessionState"]["intent"])
    intent["slots"].update(slots)
    return {
        "sessionState": {
            "sessionAttributes": event["sessionState"]["sessionAttributes"],
            "dialogAction": {"type": "Delegate"},
            "intent": intent,
        }
    }


def close(event: Event, text: str, attributes: Mapping[str, str] | None = None) -> Response:
    intent = copy.deepcopy(event["sessionState"]["intent"])
    intent["state"] = "Fulfilled"
    return {
        "sessionState": {
            "sessionAttributes": dict(attributes or event["sessionState"]["sessionAttributes"]),
            "dialogAction": {"type": "Close"},
            "intent": intent,
        },
        "messages": [say(event, text)],
    }


def elicit(event: Event, slot: str, text: str) -> Response:
    intent = copy.deepcopy(event["sessionState"]["intent"])
    intent["slots"][slot] = None
    return {
        "sessionState": {
            "sessionAttributes": event["sessionState"]["sessionAttributes"],
            "dialogAction": {"type": "ElicitSlot", "slotToElicit": slot},
            "intent": intent,
        },
        "messages": [say(event, text)],
    }


def confirm(event: Event, text: str, **slots: dict[str, Any] | None) -> Response:
    intent = copy.deepcopy(event["sessionState"]["intent"])
    intent["slots"].update(slots)
    intent["confirmationState"] = "None"
    return {
        "sessionState": {
            "sessionAttributes": event["sessionState"]["sessionAttributes"],
            "dialogAction": {"type": "ConfirmIntent"},
            "intent": intent,
        },
        "messages": [say(event, text)],
    }


def fulfilled(event: Event) -> str:
    return f"fulfilled {event['sessionState']['intent']['name']}"


@dataclass
class FakeHook:
    """Records every event; answers from ``script`` first, then delegates and fulfils."""

    script: list[Callable[[Event], Response]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> Response:
        self.events.append(copy.deepcopy(event))
        if self.script:
            return self.script.pop(0)(event)
        if event["invocationSource"] == "DialogCodeHook":
            return delegate(event)
        return close(event, fulfilled(event))

    @property
    def sources(self) -> list[tuple[str, str]]:
        return [(e["invocationSource"], e["sessionState"]["intent"]["name"]) for e in self.events]


def session(bot: BotDefinition, hook: FakeHook, input_mode: str = "Text") -> LocalLexSession:
    return LocalLexSession(bot, hook, today=lambda: TODAY, input_mode=input_mode)


def slot_value(event: Event, name: str) -> dict[str, Any] | None:
    slot = event["sessionState"]["intent"]["slots"].get(name)
    if slot is None:
        return None
    value: dict[str, Any] = slot["value"]
    return value


def test_the_event_has_the_documented_shape(bot: BotDefinition) -> None:
    hook = FakeHook()
    chat = session(bot, hook)

    reply = chat.send("show me photos with cats")

    assert hook.sources == [
        ("DialogCodeHook", "SearchMedia"),
        ("FulfillmentCodeHook", "SearchMedia"),
    ]
    event = hook.events[0]
    assert event["messageVersion"] == "1.0"
    assert event["inputMode"] == "Text"
    assert event["responseContentType"].startswith("text/plain")
    assert event["inputTranscript"] == "show me photos with cats"
    assert event["sessionId"] == chat.session_id
    assert event["bot"]["localeId"] == "en_US"
    assert event["transcriptions"] == []
    state = event["sessionState"]
    assert state["sessionAttributes"] == {}
    assert state["intent"]["name"] == "SearchMedia"
    assert state["intent"]["state"] == "InProgress"
    assert state["intent"]["confirmationState"] == "None"
    assert set(state["intent"]["slots"]) == {"Label", "MediaType", "Since"}
    assert state["intent"]["slots"]["Since"] is None
    label = state["intent"]["slots"]["Label"]
    assert label["shape"] == "Scalar"
    assert label["value"]["originalValue"] == "cats"
    assert label["value"]["interpretedValue"] == "cats"
    assert label["value"]["resolvedValues"][0] == "cat"
    media_type = slot_value(event, "MediaType")
    assert media_type is not None
    assert media_type["interpretedValue"] == "photos"
    [interpretation] = event["interpretations"]
    assert interpretation["intent"] == state["intent"]
    assert 0 < interpretation["nluConfidence"] <= 1
    fulfilment = hook.events[1]["sessionState"]["intent"]
    assert fulfilment["state"] == "ReadyForFulfillment"
    assert reply.texts == ["fulfilled SearchMedia"]
    assert reply.error is None
    assert reply.interpretation is not None
    assert reply.interpretation.intent == "SearchMedia"


def test_the_event_names_the_bot_by_its_name() -> None:
    resolver = Resolver(stack_name="medialens-local", account_id="123456789012", region="eu-west-1")
    bot = BotDefinition.from_template(load_template(), resolve=resolver.resolve)
    hook = FakeHook()

    session(bot, hook).send("help")

    name = hook.events[0]["bot"]["name"]
    # The template names the bot with !Sub "${NamePrefix}-media".
    assert name == "medialens-media"
    assert "Fn::" not in name
    assert "${" not in name


def test_session_attributes_round_trip_from_the_previous_response(bot: BotDefinition) -> None:
    hook = FakeHook(
        script=[
            lambda e: delegate(e),
            lambda e: close(e, "first", {"memory": "1", "other": "x"}),
        ]
    )
    chat = session(bot, hook)

    first = chat.send("show me photos with cats")
    second = chat.send("help")

    assert first.session_state["sessionAttributes"] == {"memory": "1", "other": "x"}
    assert hook.events[-1]["sessionState"]["sessionAttributes"] == {"memory": "1", "other": "x"}
    assert second.texts == ["fulfilled Help"]


def test_attributes_a_delegating_dialog_hook_returns_reach_the_fulfilment(
    bot: BotDefinition,
) -> None:
    def remember(event: Event) -> Response:
        response = delegate(event)
        response["sessionState"]["sessionAttributes"] = {"checked": "yes"}
        return response

    hook = FakeHook(script=[remember])

    session(bot, hook).send("show me photos with cats")

    assert hook.events[1]["invocationSource"] == "FulfillmentCodeHook"
    assert hook.events[1]["sessionState"]["sessionAttributes"] == {"checked": "yes"}


def test_a_missing_required_slot_is_prompted_with_the_template_prompt(bot: BotDefinition) -> None:
    hook = FakeHook()
    chat = session(bot, hook)

    prompted = chat.send("search media")

    assert prompted.texts == [raw_prompt("SearchMedia", "Label")]
    assert hook.sources == [("DialogCodeHook", "SearchMedia")]

    answered = chat.send("dogs")

    assert hook.sources[1:] == [
        ("DialogCodeHook", "SearchMedia"),
        ("FulfillmentCodeHook", "SearchMedia"),
    ]
    label = slot_value(hook.events[1], "Label")
    assert label is not None
    assert label["originalValue"] == "dogs"
    assert label["resolvedValues"][0] == "dog"
    assert hook.events[1]["inputTranscript"] == "dogs"
    assert answered.texts == ["fulfilled SearchMedia"]


def test_an_answer_to_a_prompt_that_names_another_intent_switches_to_it(
    bot: BotDefinition,
) -> None:
    hook = FakeHook()
    chat = session(bot, hook)
    chat.send("search media")

    reply = chat.send("help")

    assert hook.sources[-1] == ("FulfillmentCodeHook", "Help")
    assert reply.texts == ["fulfilled Help"]


def test_elicit_slot_fills_the_named_slot_with_the_next_message(bot: BotDefinition) -> None:
    hook = FakeHook(script=[lambda e: elicit(e, "Since", "Since when, exactly?")])
    chat = session(bot, hook)

    asked = chat.send("show me photos with cats")

    assert asked.texts == ["Since when, exactly?"]
    assert hook.sources == [("DialogCodeHook", "SearchMedia")]

    chat.send("last week")

    assert hook.sources[1:] == [
        ("DialogCodeHook", "SearchMedia"),
        ("FulfillmentCodeHook", "SearchMedia"),
    ]
    since = slot_value(hook.events[1], "Since")
    assert since is not None
    assert since["originalValue"] == "last week"
    assert since["interpretedValue"] == monday_of_last_week(TODAY).isoformat()
    label = slot_value(hook.events[1], "Label")
    assert label is not None
    assert label["originalValue"] == "cats"


def test_elicit_slot_of_a_media_type_takes_a_synonym(bot: BotDefinition) -> None:
    hook = FakeHook(script=[lambda e: elicit(e, "MediaType", "Photos or videos?")])
    chat = session(bot, hook)
    chat.send("show me cats")

    chat.send("clips")

    media_type = slot_value(hook.events[1], "MediaType")
    assert media_type is not None
    assert media_type["originalValue"] == "clips"
    assert media_type["interpretedValue"] == "videos"


def with_confirmation(bot: BotDefinition, intent: str) -> BotDefinition:
    """The bot with one intent's confirmation step active, as it would be built."""
    active = dataclasses.replace(bot.intents[intent], confirmation_active=True)
    return dataclasses.replace(bot, intents={**bot.intents, intent: active})


def test_confirm_intent_needs_an_active_confirmation_step(bot: BotDefinition) -> None:
    espresso = {"originalValue": "coffee", "interpretedValue": "espresso", "resolvedValues": []}
    hook = FakeHook(
        script=[
            lambda e: confirm(
                e, "Did you mean espresso?", Label={"shape": "Scalar", "value": espresso}
            )
        ]
    )

    reply = session(bot, hook).send("photos with coffee")

    assert reply.error is not None
    assert reply.error.startswith("Invalid Lambda Response")


@pytest.mark.parametrize(("answer", "state"), [("yes", "Confirmed"), ("no", "Denied")])
def test_confirm_intent_sends_the_answer_to_the_dialog_hook(
    bot: BotDefinition, answer: str, state: str
) -> None:
    bot = with_confirmation(bot, "SearchMedia")
    espresso = {"originalValue": "coffee", "interpretedValue": "espresso", "resolvedValues": []}
    hook = FakeHook(
        script=[
            lambda e: confirm(
                e, "Did you mean espresso?", Label={"shape": "Scalar", "value": espresso}
            )
        ]
    )
    chat = session(bot, hook)

    asked = chat.send("photos with coffee")

    assert asked.texts == ["Did you mean espresso?"]
    assert hook.sources == [("DialogCodeHook", "SearchMedia")]

    chat.send(answer)

    second = hook.events[1]
    assert second["invocationSource"] == "DialogCodeHook"
    assert second["inputTranscript"] == answer
    assert second["sessionState"]["intent"]["confirmationState"] == state
    # The intent as the hook changed it, not a fresh interpretation of the answer.
    assert slot_value(second, "Label") == espresso


def test_fulfilment_waits_for_a_delegate_with_every_required_slot(bot: BotDefinition) -> None:
    hook = FakeHook(
        script=[
            lambda e: elicit(e, "Label", "Which label?"),
            lambda e: delegate(e, Label=None),
        ]
    )
    chat = session(bot, hook)

    chat.send("show me photos with cats")
    assert [s for s, _ in hook.sources] == ["DialogCodeHook"]
    reply = chat.send("cats")  # the hook delegates, but empties the required slot
    assert [s for s, _ in hook.sources] == ["DialogCodeHook", "DialogCodeHook"]
    assert reply.texts == [raw_prompt("SearchMedia", "Label")]
    chat.send("dogs")

    assert [s for s, _ in hook.sources] == [
        "DialogCodeHook",
        "DialogCodeHook",
        "DialogCodeHook",
        "FulfillmentCodeHook",
    ]
    fulfilment = hook.events[-1]
    label = slot_value(fulfilment, "Label")
    assert label is not None
    assert label["originalValue"] == "dogs"
    assert fulfilment["sessionState"]["intent"]["state"] == "ReadyForFulfillment"


def test_a_delegating_hook_may_fill_a_required_slot_itself(bot: BotDefinition) -> None:
    dog = {"originalValue": "dog", "interpretedValue": "dog", "resolvedValues": ["dog"]}
    hook = FakeHook(script=[lambda e: delegate(e, Label={"shape": "Scalar", "value": dog})])

    session(bot, hook).send("search media")

    assert [s for s, _ in hook.sources] == ["DialogCodeHook", "FulfillmentCodeHook"]
    assert slot_value(hook.events[1], "Label") == dog


def no_dialog_hook_cases() -> list[Any]:
    return [
        pytest.param(name, spec["SampleUtterances"][0]["Utterance"], id=name)
        for name, spec in raw_intents().items()
        if not spec.get("DialogCodeHook", {}).get("Enabled") and spec.get("SampleUtterances")
    ]


@pytest.mark.parametrize(("intent_name", "text"), no_dialog_hook_cases())
def test_an_intent_without_a_dialog_hook_goes_straight_to_fulfilment(
    bot: BotDefinition, intent_name: str, text: str
) -> None:
    hook = FakeHook()

    reply = session(bot, hook).send(text)

    assert hook.sources == [("FulfillmentCodeHook", intent_name)]
    assert reply.texts == [f"fulfilled {intent_name}"]


def test_no_dialog_hook_cases_include_show_more_and_help() -> None:
    assert {p.values[0] for p in no_dialog_hook_cases()} >= {"ShowMore", "Help"}


def test_gibberish_goes_to_the_fallback_intent_fulfilment(bot: BotDefinition) -> None:
    hook = FakeHook()

    reply = session(bot, hook).send("blorp zzyzx frobnicate")

    assert hook.sources == [("FulfillmentCodeHook", FALLBACK_INTENT)]
    assert reply.texts == [f"fulfilled {FALLBACK_INTENT}"]


def test_a_hook_that_raises_is_reported_as_lex_does(bot: BotDefinition) -> None:
    def broken(event: Event) -> Response:
        raise RuntimeError("boom")

    hook = FakeHook(script=[broken])
    chat = session(bot, hook)

    reply = chat.send("show me photos with cats")

    assert reply.error is not None
    assert reply.error.startswith("Received error response from Lambda")
    assert "boom" in reply.error
    assert reply.texts == []
    # The conversation goes on.
    assert chat.send("help").texts == ["fulfilled Help"]


def test_a_hook_answering_something_not_json_is_an_error(bot: BotDefinition) -> None:
    hook = FakeHook(script=[lambda e: {"sessionState": {"when": date.today()}}])

    reply = session(bot, hook).send("help")

    assert reply.error is not None
    assert reply.error.startswith("Received error response from Lambda")


def test_speech_input_sets_the_input_mode(bot: BotDefinition) -> None:
    hook = FakeHook()

    session(bot, hook, input_mode="Speech").send("show me photos with cats")

    event = hook.events[0]
    assert event["inputMode"] == "Speech"
    [transcription] = event["transcriptions"]
    assert transcription["transcription"] == "show me photos with cats"
    assert transcription["resolvedContext"] == {"intent": "SearchMedia"}
