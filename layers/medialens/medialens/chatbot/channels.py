"""The channel an answer goes to, and the form it must take there.

Lex V2 reaches the same code hook from every channel: its own runtime API (the web
chat, ``make chat``), the channel integrations for Slack, Facebook Messenger and Twilio
SMS, and speech. A message from an integration carries the request attribute
``x-amz-lex:channels:platform``; speech comes with ``inputMode`` ``Speech``. Each channel
shows a response card differently, and some not at all, so every answer is shaped by
the :class:`ChannelStyle` of the channel it goes to (:func:`style_of`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PLATFORM_ATTRIBUTE = "x-amz-lex:channels:platform"
"""Request attribute Lex V2 sets on a message from a channel integration: ``Facebook``,
``Slack`` or ``Twilio`` ("Integrating an Amazon Lex V2 bot with a messaging platform",
https://docs.aws.amazon.com/lexv2/latest/dg/deploying-messaging-platform.html)."""

CARD_TEXT_LIMIT = 250
"""Longest title or subtitle of an image response card (Lex V2 API reference,
ImageResponseCard: title and subtitle, length 1-250)."""

BUTTON_TEXT_LIMIT = 50
"""Longest text or value of a card button (Lex V2 API reference, Button: text and value,
length 1-50)."""

MAX_BUTTONS = 3
"""Most buttons on a card. The API takes 5 (ImageResponseCard: buttons, 0-5 items); the
"Response format" page of the Lex V2 guide says 3, so the bot keeps to both."""

MESSAGE_CONTENT_LIMIT = 1024
"""Longest content of one message (Lex V2 API reference, Message: content, length
1-1024)."""

FACEBOOK_TEXT_LIMIT = 80
"""Facebook Messenger's generic template, which Lex turns a card into: "title ... 80
character limit", "subtitle ... 80 character limit", "Maximum of 3 buttons per element"
(Messenger Platform, "Generic Template"). The Lex V2 guide does not say how a card is
rendered on Facebook; the Lex V1 guide says it becomes a generic template."""

FACEBOOK_BUTTON_TEXT_LIMIT = 20
"""Messenger's postback button: "Button title. 20 character limit." (Messenger Platform
reference, "Postback Button")."""

SLACK_BUTTON_TEXT_LIMIT = 75
"""Slack's button element: "Maximum length for the text in this field is 75 characters"
(Slack API, Block Kit "Button element"); Lex's own 50 is the tighter."""

SMS_ANSWER_LIMIT = 320
"""Longest SMS answer. Twilio takes bodies up to 1,600 characters but "recommends keeping
SMS messages to a length of 320 characters or less" (Twilio help center, "What is the
maximum length of an SMS message?", article 360033806753): each 153-character part is
billed and delivered as a message of its own."""


@dataclass(frozen=True, slots=True)
class ChannelStyle:
    """How answers are shaped for one channel.

    Attributes
    ----------
    name : str
        What logs and metrics call the channel.
    cards : bool
        Whether the channel shows response cards. Without them, the cards' buttons are
        offered as words to reply with, if ``replies_in_text``.
    card_title_limit, card_subtitle_limit, button_text_limit : int
        Longest card title, subtitle and button text the channel shows uncut. A button's
        value is never cut: it is what the user "says" by pressing it.
    max_buttons : int
        Most buttons on one card.
    message_limit : int
        Longest content of one message.
    list_limit : int
        Longest list of results in one answer (the rest is left for "more").
    single_message : bool
        Whether the whole answer must be one message (one SMS, one utterance).
    one_sentence : bool
        Whether the answer must read as one sentence (speech).
    replies_in_text : bool
        Whether buttons the channel cannot show are offered as "Reply ..." text.
    """

    name: str
    cards: bool = True
    card_title_limit: int = CARD_TEXT_LIMIT
    card_subtitle_limit: int = CARD_TEXT_LIMIT
    button_text_limit: int = BUTTON_TEXT_LIMIT
    max_buttons: int = MAX_BUTTONS
    message_limit: int = MESSAGE_CONTENT_LIMIT
    list_limit: int = 1000
    single_message: bool = False
    one_sentence: bool = False
    replies_in_text: bool = False

    @property
    def spoken(self) -> bool:
        """Whether the answer is read out: names, not ids; no links, no cards."""
        return self.one_sentence

    def shape(self, messages: Sequence[str], buttons: Sequence[str]) -> list[str]:
        """Fit an answer's texts to the channel.

        Parameters
        ----------
        messages : Sequence[str]
            The answer's messages, in order.
        buttons : Sequence[str]
            The values of the buttons a card would have offered.

        Returns
        -------
        list[str]
            The messages to send, each within ``message_limit``.
        """
        texts = [text for text in messages if text]
        reply = None
        if self.replies_in_text and buttons:
            reply = "Reply " + " or ".join(f"'{value}'" for value in buttons) + "."
        if self.one_sentence:
            spoken = " ".join([*texts, reply] if reply else texts)
            return [cut(one_sentence(spoken), self.message_limit)] if spoken else []
        if self.single_message:
            # The reply line is what lets the user go on: the body gives way, not it.
            room = self.message_limit - (len(reply) + 1 if reply else 0)
            if room < len(min(texts, key=len, default="")):
                room, reply = self.message_limit, None
            body = cut("\n".join(texts), room) if texts else ""
            return ["\n".join(part for part in (body, reply) if part)] if body or reply else []
        if reply:
            texts.append(reply)
        return [cut(text, self.message_limit) for text in texts]


TEXT = ChannelStyle("text")
"""Lex's runtime API: the web chat, ``make chat``, any SDK client. Lex's own limits."""

SPEECH = ChannelStyle("speech", cards=False, list_limit=600, single_message=True, one_sentence=True)
"""Spoken input (``inputMode`` Speech or DTMF): one sentence, read out; no cards."""

SLACK = ChannelStyle("slack", button_text_limit=min(BUTTON_TEXT_LIMIT, SLACK_BUTTON_TEXT_LIMIT))
"""Slack: cards as buttons within Slack's and Lex's limits."""

FACEBOOK = ChannelStyle(
    "facebook",
    card_title_limit=FACEBOOK_TEXT_LIMIT,
    card_subtitle_limit=FACEBOOK_TEXT_LIMIT,
    button_text_limit=FACEBOOK_BUTTON_TEXT_LIMIT,
)
"""Facebook Messenger: cards as a generic template, whose texts are shorter."""

TWILIO_SMS = ChannelStyle(
    "twilio-sms",
    cards=False,
    message_limit=SMS_ANSWER_LIMIT,
    list_limit=180,
    single_message=True,
    replies_in_text=True,
)
"""Twilio SMS: text only, one short message; buttons become words to reply with."""

PLATFORMS: Mapping[str, ChannelStyle] = {
    "slack": SLACK,
    "facebook": FACEBOOK,
    "twilio": TWILIO_SMS,
}
"""Channel styles by the value of ``x-amz-lex:channels:platform``, lower-cased."""


def style_of(input_mode: str, request_attributes: Mapping[str, str]) -> ChannelStyle:
    """Tell the channel of a request by its input mode and platform attribute.

    Parameters
    ----------
    input_mode : str
        The event's ``inputMode``: ``Text``, ``Speech`` or ``DTMF``.
    request_attributes : Mapping[str, str]
        The event's request attributes.

    Returns
    -------
    ChannelStyle
        :data:`SPEECH` for spoken input whatever the channel; the platform's style for a
        known platform; :data:`TEXT` otherwise.
    """
    if input_mode != "Text":
        return SPEECH
    platform = request_attributes.get(PLATFORM_ATTRIBUTE, "")
    return PLATFORMS.get(platform.strip().lower(), TEXT)


def cut(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, ending with ``...`` when something was cut.

    Parameters
    ----------
    text : str
    limit : int

    Returns
    -------
    str
    """
    return text if len(text) <= limit else text[: limit - 3] + "..."


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def one_sentence(text: str) -> str:
    """Read several sentences as one: joined by semicolons, one final stop.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
        ``text`` with no sentence boundary inside; it ends with its last sentence's
        ``?``, ``!`` or ``.``.
    """
    sentences = [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]
    if not sentences:
        return ""
    ending = sentences[-1][-1] if sentences[-1][-1] in ".!?" else "."
    bodies = [s.rstrip(".!?:; ") for s in sentences]
    joined = "; ".join(_lower_first(body) if i else body for i, body in enumerate(bodies))
    return joined + ending


def _lower_first(sentence: str) -> str:
    """Lower a sentence's first letter unless it starts a name ("I", an acronym, an id)."""
    first_word = sentence.split(" ", 1)[0]
    if first_word == "I" or first_word[1:2].isupper() or not first_word.isalpha():
        return sentence
    return sentence[0].lower() + sentence[1:]
