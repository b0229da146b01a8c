"""The chatbot: Lex V2 code-hook requests in, dialog actions over the catalog out.

Each intent has one function that serves both hooks. As the DialogCodeHook it checks
the slots the user has filled so far: a usable answer is handed back to Lex
(``Delegate``), a near miss is offered for confirmation (``ConfirmIntent``), and an answer
the catalog cannot use is asked for again (``ElicitSlot``, a bounded number of times). As
the FulfillmentCodeHook it answers (``Close``). What the conversation needs to remember
("show me more", "only videos") is kept in one session attribute.

The first answer to a label search ends with up to three labels mined as going with it
("You may also like: sea, sand."), which a written answer's card also offers as buttons
when the card has room.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from medialens.chatbot.conversation import Conversation
from medialens.chatbot.lex import DialogActionType, Intent, IntentState, LexRequest, LexResponse
from medialens.chatbot.ports import ChatPorts
from medialens.chatbot.searches import flagged, refine, search_intent, show_more
from medialens.chatbot.settings import ChatbotSettings
from medialens.chatbot.slots import LABEL_TERM, PERSON_TERM, WORD_TERM
from medialens.chatbot.status import upload_status
from medialens.chatbot.turn import (
    APOLOGY,
    CONVERSATION_ATTRIBUTE,
    HELP,
    LINKS_ATTRIBUTE,
    IntentHandler,
    Turn,
    examples_card,
)
from medialens.shared.errors import MalformedLexEventError
from medialens.shared.observability import MetricUnit, logger, metrics

SEARCH_MEDIA = "SearchMedia"
SEARCH_TEXT = "SearchText"
SEARCH_PERSON = "SearchPerson"
UPLOAD_STATUS = "UploadStatus"
FLAGGED_MEDIA = "FlaggedMedia"
SHOW_MORE = "ShowMore"
REFINE_SEARCH = "RefineSearch"
HELP_INTENT = "Help"
FALLBACK = "FallbackIntent"


def respond(
    event: Mapping[str, Any], *, ports: ChatPorts, settings: ChatbotSettings, today: date
) -> dict[str, Any]:
    """Answer one Lex V2 code-hook event; never fail in Lex's face.

    A malformed event or any error while answering becomes a polite ``Close`` with the
    intent ``Failed``, logged (with the request id Powertools adds) and counted, instead
    of Lex's "Received error response from Lambda".

    Parameters
    ----------
    event : Mapping[str, Any]
        The Lex V2 event, as Lambda received it.
    ports : ChatPorts
    settings : ChatbotSettings
    today : date
        The current UTC date (relative dates and "since" filters use it).

    Returns
    -------
    dict[str, Any]
        The response in Lex V2's documented format.
    """
    try:
        request = LexRequest.parse(event)
    except MalformedLexEventError as error:
        logger.warning("Malformed Lex event", extra={"reason": str(error)})
        metrics.add_metric(name="ChatbotMalformedEvents", unit=MetricUnit.Count, value=1)
        return _apology(event).to_dict()
    try:
        return answer(request, ports=ports, settings=settings, today=today).to_dict()
    except Exception:  # noqa: BLE001 - Lex must get an answer whatever went wrong
        logger.exception(
            "Chatbot answer failed",
            extra={"intent": request.intent.name, "invocation_source": request.source.value},
        )
        metrics.add_metric(name="ChatbotErrors", unit=MetricUnit.Count, value=1)
        return _apology(event, request).to_dict()


def respond_wired(
    event: Mapping[str, Any],
    *,
    wiring: Callable[[], tuple[ChatPorts, ChatbotSettings]],
    today: date,
) -> dict[str, Any]:
    """Like :func:`respond`, with the ports and settings built inside the same guard.

    A deployment whose settings do not parse still answers Lex politely (and counts a
    ``ChatbotErrors``, which is alarmed) rather than failing every conversation.
    """
    try:
        ports, settings = wiring()
    except Exception:  # noqa: BLE001 - Lex must get an answer whatever went wrong
        logger.exception("Chatbot could not be wired")
        metrics.add_metric(name="ChatbotErrors", unit=MetricUnit.Count, value=1)
        return _apology(event).to_dict()
    return respond(event, ports=ports, settings=settings, today=today)


def _apology(event: Mapping[str, Any], request: LexRequest | None = None) -> LexResponse:
    """Close politely; keep the caller's session attributes but forget the bot's memory.

    The memory may be what failed (a tampered cursor, say): keeping it would fail again.
    """
    if request is not None:
        name, attributes = request.intent.name, dict(request.session_attributes)
    else:
        raw = event.get("sessionState") if isinstance(event, Mapping) else None
        raw = raw if isinstance(raw, Mapping) else {}
        raw_intent = raw.get("intent")
        found = raw_intent.get("name") if isinstance(raw_intent, Mapping) else None
        name = found if isinstance(found, str) else FALLBACK
        raw_attributes = raw.get("sessionAttributes")
        attributes = (
            {str(k): str(v) for k, v in raw_attributes.items()}
            if isinstance(raw_attributes, Mapping)
            else {}
        )
    for own in (CONVERSATION_ATTRIBUTE, LINKS_ATTRIBUTE):
        attributes.pop(own, None)
    return LexResponse(
        action=DialogActionType.CLOSE,
        intent=Intent(name, state=IntentState.FAILED),
        messages=[APOLOGY],
        session_attributes=attributes,
    )


def answer(
    request: LexRequest, *, ports: ChatPorts, settings: ChatbotSettings, today: date
) -> LexResponse:
    """Answer a parsed request with the handler of its intent.

    Parameters
    ----------
    request : LexRequest
    ports : ChatPorts
    settings : ChatbotSettings
    today : date

    Returns
    -------
    LexResponse
    """
    turn = Turn(
        request=request,
        conversation=Conversation.load(request.session_attributes.get(CONVERSATION_ATTRIBUTE)),
        ports=ports,
        settings=settings,
        today=today,
    )
    handler = INTENT_HANDLERS.get(request.intent.name)
    if handler is None:
        logger.warning("Unknown intent", extra={"intent": request.intent.name})
        metrics.add_metric(name="ChatbotUnknownIntents", unit=MetricUnit.Count, value=1)
        return turn.close(
            IntentState.FAILED, ["I can't help with that yet. " + HELP], card=examples_card()
        )
    return handler(turn)


def _help(turn: Turn) -> LexResponse:
    return turn.close(IntentState.FULFILLED, [HELP], card=examples_card())


def _fallback(turn: Turn) -> LexResponse:
    metrics.add_metric(name="ChatbotMissedUtterances", unit=MetricUnit.Count, value=1)
    return turn.close(
        IntentState.FAILED, ["Sorry, I didn't understand that. " + HELP], card=examples_card()
    )


INTENT_HANDLERS: Mapping[str, IntentHandler] = {
    SEARCH_MEDIA: search_intent(LABEL_TERM),
    SEARCH_TEXT: search_intent(WORD_TERM),
    SEARCH_PERSON: search_intent(PERSON_TERM),
    FLAGGED_MEDIA: flagged,
    UPLOAD_STATUS: upload_status,
    SHOW_MORE: show_more,
    REFINE_SEARCH: refine,
    HELP_INTENT: _help,
    FALLBACK: _fallback,
}
"""Every intent the bot in ``template.yaml`` defines, and the function answering it."""
