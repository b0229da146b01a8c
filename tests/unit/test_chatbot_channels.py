"""Each channel gets its answers in its own form, within its documented limits.

Lex V2 marks a message from a channel integration with the request attribute
``x-amz-lex:channels:platform``; speech comes with ``inputMode`` ``Speech``. The limits
checked here are the platforms' documented ones (the constants in
``medialens.chatbot.channels`` name their pages), not what the code happens to produce.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pytest
from medialens.catalog.models import SearchKind
from medialens.chatbot.channels import (
    FACEBOOK_BUTTON_TEXT_LIMIT,
    FACEBOOK_TEXT_LIMIT,
    PLATFORM_ATTRIBUTE,
    SLACK_BUTTON_TEXT_LIMIT,
    SMS_ANSWER_LIMIT,
    one_sentence,
    style_of,
)
from medialens.workflows.suggester import RelatedLabel

from tests.unit.test_chatbot import (
    DOG_RULES,
    HOOKS,
    SETTINGS,
    TYPICAL_SLOTS,
    Bot,
    FakeCatalog,
    FakeRelated,
    cards,
    closed,
    conversation,
    lex_event,
    photo,
    slot,
    small_catalog,
    texts,
)

TWILIO_SMS_LENGTH = 1600
"""Twilio's longest message body ("What is the maximum length of an SMS?", Twilio)."""

CHANNELS = ("Slack", "Facebook", "Twilio", "Speech", "Text")


def on(channel: str, event: dict[str, Any]) -> dict[str, Any]:
    """The event as Lex sends it from ``channel``."""
    if channel == "Speech":
        return {**event, "inputMode": "Speech", "responseContentType": "audio/pcm"}
    if channel != "Text":
        event = {**event, "requestAttributes": {PLATFORM_ATTRIBUTE: channel}}
    return event


class ChannelBot(Bot):
    """A chat session on one channel."""

    channel: str = "Text"

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        response = super().send(on(self.channel, event))
        assert_fits(self.channel, response)
        return response


def bot_on(channel: str, catalog: FakeCatalog, **kw: Any) -> ChannelBot:
    bot = ChannelBot(catalog, **kw)
    bot.channel = channel
    return bot


def assert_fits(channel: str, response: Mapping[str, Any]) -> None:
    """The channel's documented limits (Lex's own are checked by every ``Bot.send``)."""
    said = texts(response)
    if channel == "Facebook":
        for card in cards(response):
            assert len(card["title"]) <= FACEBOOK_TEXT_LIMIT
            assert len(card.get("subtitle", "")) <= FACEBOOK_TEXT_LIMIT
            assert all(len(b["text"]) <= FACEBOOK_BUTTON_TEXT_LIMIT for b in card["buttons"])
    elif channel == "Slack":
        for card in cards(response):
            assert all(len(b["text"]) <= SLACK_BUTTON_TEXT_LIMIT for b in card["buttons"])
    elif channel == "Twilio":
        assert cards(response) == []
        assert len(said) <= 1
        assert all(len(text) <= min(SMS_ANSWER_LIMIT, TWILIO_SMS_LENGTH) for text in said)
    elif channel == "Speech":
        assert cards(response) == []
        assert len(said) <= 1
        for sentence in said:
            assert "http" not in sentence
            assert "\n" not in sentence
            assert not re.search(r"[.!?]\s+\S", sentence), sentence
            assert sentence[-1] in ".!?"


@pytest.fixture
def catalog() -> FakeCatalog:
    return small_catalog()


@pytest.fixture
def long_names() -> FakeCatalog:
    """Photos with long names and long related labels: everything must be cut to fit."""
    fake = FakeCatalog()
    for n in range(8):
        media_id = f"uploads/{'holiday-in-the-mountains-' * 4}{n:02d}.jpg"
        fake.add(photo(media_id, n + 1), SearchKind.LABEL, "dog", 60.0 + n)
    return fake


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize(
    ("name", "source"), [(name, source) for name, sources in HOOKS.items() for source in sources]
)
def test_every_intent_and_hook_answers_within_the_channels_limits(
    catalog: FakeCatalog, channel: str, name: str, source: str
) -> None:
    bot = bot_on(channel, catalog, related=FakeRelated(dict(DOG_RULES)))
    bot.ask("SearchMedia", {"Label": slot("dog")})

    response = bot.send(
        lex_event(name, TYPICAL_SLOTS[name], source=source, attributes=bot.attributes)
    )

    assert response["sessionState"]["intent"]["name"] == name


@pytest.mark.parametrize("channel", CHANNELS)
def test_long_names_and_labels_are_cut_to_the_channel(
    long_names: FakeCatalog, channel: str
) -> None:
    rules = {"dog": tuple(replace(r, label=r.label * 6) for r in DOG_RULES["dog"])}
    bot = bot_on(channel, long_names, related=FakeRelated(rules))

    for event in (
        lex_event("SearchMedia", {"Label": slot("dog")}),
        lex_event("ShowMore", attributes=bot.attributes),
        lex_event("Help"),
        lex_event("FallbackIntent"),
        lex_event(
            "UploadStatus", {"FileName": slot("nothing-like-this.jpg")}, source="DialogCodeHook"
        ),
    ):
        bot.send(
            {
                **event,
                "sessionState": {**event["sessionState"], "sessionAttributes": bot.attributes},
            }
        )


def test_slack_and_facebook_get_the_same_buttons_with_their_own_texts(
    catalog: FakeCatalog,
) -> None:
    rules: dict[str, tuple[RelatedLabel, ...]] = {
        "dog": (replace(DOG_RULES["dog"][0], label="golden retriever puppy"),)
    }
    answers = {
        channel: bot_on(channel, catalog, related=FakeRelated(rules)).ask(
            "SearchMedia", {"Label": slot("dog")}
        )
        for channel in ("Text", "Slack", "Facebook")
    }

    values = {c: [b["value"] for b in cards(a)[0]["buttons"]] for c, a in answers.items()}
    assert values["Slack"] == values["Facebook"] == values["Text"]
    shown = {c: [b["text"] for b in cards(a)[0]["buttons"]] for c, a in answers.items()}
    assert "golden retriever puppy" in shown["Slack"]
    assert "golden retriever ..." in shown["Facebook"]


def test_an_sms_answer_is_one_text_offering_the_buttons_as_replies(catalog: FakeCatalog) -> None:
    bot = bot_on("Twilio", catalog)

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    [sms] = texts(response)
    assert "uploads/dog-park.jpg" in sms
    assert sms.endswith("Reply 'only videos' or 'only photos'.")


def test_sms_lists_fewer_results_and_more_goes_on_after_the_last_one_sent(
    long_names: FakeCatalog,
) -> None:
    bot = bot_on("Twilio", long_names, settings=replace(SETTINGS, page_size=5))
    expected = [f"uploads/{'holiday-in-the-mountains-' * 4}{n:02d}.jpg" for n in reversed(range(8))]

    seen: list[str] = []
    response = bot.ask("SearchMedia", {"Label": slot("dog")})
    while True:
        listed = re.findall(r"^\d+\. (\S+) \(", texts(response)[0], flags=re.MULTILINE)
        assert listed, texts(response)
        seen += listed
        if conversation(response).cursor is None:
            break
        assert "'show me more'" in texts(response)[0]
        response = bot.ask("ShowMore")

    # Each result named once, in order; none skipped by what the SMS could not hold.
    assert len(seen) == len(expected)
    for named, media_id in zip(seen, expected, strict=True):
        start, _, end = named.partition("...")
        assert media_id.startswith(start)
        assert media_id.endswith(end)


def test_speech_reads_one_sentence_with_names_not_ids(catalog: FakeCatalog) -> None:
    bot = bot_on("Speech", catalog, related=FakeRelated(dict(DOG_RULES)))

    response = bot.ask("SearchMedia", {"Label": slot("dog")})

    [sentence] = texts(response)
    assert sentence.startswith("Here are photos and videos with dog: dog park and dog run")
    assert "uploads/" not in sentence
    assert closed(response, "Fulfilled")


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("One. Two.", "One; two."),
        ("Is beach.mp4 done? It shows a dog.", "Is beach.mp4 done; it shows a dog."),
        ("Which file? I can't tell.", "Which file; I can't tell."),
        ("Found it.\nAWS says no!", "Found it; AWS says no!"),
        ("No stop at the end", "No stop at the end."),
    ],
)
def test_one_sentence_joins_sentences_without_breaking_names(text: str, spoken: str) -> None:
    assert one_sentence(text) == spoken


@pytest.mark.parametrize(
    ("mode", "attributes", "expected"),
    [
        ("Text", {}, "text"),
        ("Text", {PLATFORM_ATTRIBUTE: "Slack"}, "slack"),
        ("Text", {PLATFORM_ATTRIBUTE: "Facebook"}, "facebook"),
        ("Text", {PLATFORM_ATTRIBUTE: "Twilio"}, "twilio-sms"),
        ("Text", {PLATFORM_ATTRIBUTE: "Somewhere new"}, "text"),
        ("Speech", {PLATFORM_ATTRIBUTE: "Slack"}, "speech"),
        ("DTMF", {}, "speech"),
    ],
)
def test_the_channel_is_told_by_input_mode_then_platform(
    mode: str, attributes: dict[str, str], expected: str
) -> None:
    assert style_of(mode, attributes).name == expected
