"""One code-hook call, ``Turn``, and the dialog actions it answers Lex with."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from medialens.chatbot.conversation import Conversation
from medialens.chatbot.lex import (
    ConfirmationState,
    DialogActionType,
    Intent,
    IntentState,
    InvocationSource,
    LexRequest,
    LexResponse,
    ResponseCard,
)
from medialens.chatbot.ports import ChatPorts
from medialens.chatbot.settings import ChatbotSettings
from medialens.shared.observability import MetricUnit, metrics

CONVERSATION_ATTRIBUTE = "medialens.conversation"
"""Session attribute holding the last search, its cursor and the re-prompt count."""

LINKS_ATTRIBUTE = "medialens.links"
"""Session attribute holding pre-signed links to the media just listed (JSON)."""

LINKS_BUDGET = 6000
"""Most characters of links kept in the session. Lex caps session attributes at 12 KB and
the whole code-hook input at 12 KB; a link signed with a Lambda role's session token is
about 1.3 KB, so links are kept for the first results that fit."""

APOLOGY = "Sorry, something went wrong on my side. Please try again in a moment."
HELP = (
    "I can find photos and videos by what is in them ('show me photos with dogs'), "
    "by the words they show ('find images that say invoice'), or by who is in them "
    "('videos with alice'). I can also tell you whether an upload is done "
    "('is beach.mp4 done?') and list flagged media for review."
)
EXAMPLES = (
    ("Photos with dogs", "show me photos with dogs"),
    ("Images saying invoice", "find images that say invoice"),
    ("Flagged media", "show flagged media"),
)


@dataclass(frozen=True, slots=True)
class Turn:
    """One code-hook call: the request, what the conversation remembers, and the ports."""

    request: LexRequest
    conversation: Conversation
    ports: ChatPorts
    settings: ChatbotSettings
    today: date

    @property
    def intent(self) -> Intent:
        """The intent Lex is working on."""
        return self.request.intent

    @property
    def validating(self) -> bool:
        """Whether this is the DialogCodeHook (validate) rather than fulfilment."""
        return self.request.source is InvocationSource.DIALOG

    def attributes(
        self, conversation: Conversation, links: Sequence[Mapping[str, str]] | None = None
    ) -> dict[str, str]:
        """Session attributes to return: the caller's own, plus the bot's memory."""
        attributes = dict(self.request.session_attributes)
        attributes.pop(LINKS_ATTRIBUTE, None)
        attributes[CONVERSATION_ATTRIBUTE] = conversation.dump()
        if links:
            attributes[LINKS_ATTRIBUTE] = _within_budget(links)
        return attributes

    def close(
        self,
        state: IntentState,
        messages: Sequence[str],
        *,
        conversation: Conversation | None = None,
        links: Sequence[Mapping[str, str]] | None = None,
        card: ResponseCard | None = None,
    ) -> LexResponse:
        """End the intent with an answer."""
        return LexResponse(
            action=DialogActionType.CLOSE,
            intent=self.intent.with_state(state),
            messages=messages,
            session_attributes=self.attributes(conversation or _answered(self.conversation), links),
            card=card,
            channel=self.request.channel,
        )

    def delegate(self, intent: Intent) -> LexResponse:
        """Let Lex go on: elicit the next required slot, or fulfil."""
        return LexResponse(
            action=DialogActionType.DELEGATE,
            intent=intent,
            session_attributes=self.attributes(_answered(self.conversation)),
            channel=self.request.channel,
        )

    def elicit(
        self,
        intent: Intent,
        slot: str,
        message: str,
        *,
        card: ResponseCard | None = None,
        suggested: str | None = None,
    ) -> LexResponse:
        """Ask for a slot again; after ``max_reprompts`` attempts, give up politely.

        ``suggested`` is the value offered in ``message``: a "yes" next turn accepts it.
        """
        asking = f"{intent.name}.{slot}"
        asked = self.conversation.reprompts if self.conversation.asking == asking else 0
        if asked >= self.settings.max_reprompts:
            metrics.add_metric(name="ChatbotGaveUp", unit=MetricUnit.Count, value=1)
            return self.close(
                IntentState.FAILED,
                [message.split(". ")[0] + ". Let's start again: " + HELP],
                card=examples_card(),
            )
        conversation = replace(
            self.conversation, asking=asking, reprompts=asked + 1, suggested=suggested
        )
        return LexResponse(
            action=DialogActionType.ELICIT_SLOT,
            intent=intent.with_slot(slot, None).with_state(
                IntentState.IN_PROGRESS, ConfirmationState.NONE
            ),
            messages=[message],
            session_attributes=self.attributes(conversation),
            slot_to_elicit=slot,
            card=card,
            channel=self.request.channel,
        )


def _answered(conversation: Conversation) -> Conversation:
    """Forget what was being asked for again."""
    return replace(conversation, asking=None, reprompts=0, suggested=None)


IntentHandler = Callable[[Turn], LexResponse]


def examples_card() -> ResponseCard:
    """Offer example questions as buttons.

    Returns
    -------
    ResponseCard
    """
    return ResponseCard("Try asking", buttons=EXAMPLES)


def _within_budget(links: Sequence[Mapping[str, str]]) -> str:
    kept: list[Mapping[str, str]] = []
    for link in links:
        if len(json.dumps([*kept, link], separators=(",", ":"))) > LINKS_BUDGET:
            break
        kept.append(link)
    return json.dumps(kept, separators=(",", ":"))
