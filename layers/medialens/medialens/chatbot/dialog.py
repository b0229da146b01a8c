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

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from medialens.catalog.models import (
    Match,
    MediaSummary,
    MediaType,
    SearchKind,
    SearchPage,
    SearchQuery,
)
from medialens.catalog.terms import normalize_word
from medialens.chatbot.conversation import Conversation
from medialens.chatbot.lex import (
    BUTTON_TEXT_LIMIT,
    MAX_BUTTONS,
    MESSAGE_CONTENT_LIMIT,
    ConfirmationState,
    DialogActionType,
    Intent,
    IntentState,
    InvocationSource,
    LexRequest,
    LexResponse,
    ResponseCard,
    SlotValue,
)
from medialens.chatbot.ports import ChatPorts
from medialens.chatbot.settings import ChatbotSettings
from medialens.shared.errors import MalformedLexEventError
from medialens.shared.observability import MetricUnit, logger, metrics

CONVERSATION_ATTRIBUTE = "medialens.conversation"
"""Session attribute holding the last search, its cursor and the re-prompt count."""

LINKS_ATTRIBUTE = "medialens.links"
"""Session attribute holding pre-signed links to the media just listed (JSON)."""

MESSAGE_LIMIT = 1000
"""Longest list of results in one message (Lex takes 1,024 characters)."""

SPOKEN_LIMIT = 600
"""Longest list of names in a spoken answer (the rest of the sentence fits around it)."""

MAX_SUGGESTIONS = 3
"""Most related labels suggested after a label search ("You may also like: sea, sand.")."""

DISPLAY_NAME_LIMIT = 160
"""Longest media id shown in a listed result; longer ones keep their start and end."""

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

YES = frozenset({"yes", "yeah", "yep", "sure", "ok", "okay", "yes please", "correct", "right"})
NO = frozenset({"no", "nope", "nah", "no thanks", "wrong"})

SEARCH_MEDIA = "SearchMedia"
SEARCH_TEXT = "SearchText"
SEARCH_PERSON = "SearchPerson"
UPLOAD_STATUS = "UploadStatus"
FLAGGED_MEDIA = "FlaggedMedia"
SHOW_MORE = "ShowMore"
REFINE_SEARCH = "RefineSearch"
HELP_INTENT = "Help"
FALLBACK = "FallbackIntent"

LABEL = "Label"
WORD = "Word"
PERSON = "Person"
FILE_NAME = "FileName"
MODERATION_LABEL = "ModerationLabel"
MEDIA_TYPE = "MediaType"
SINCE = "Since"


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
            card=None if self.request.spoken else card,
        )

    def delegate(self, intent: Intent) -> LexResponse:
        """Let Lex go on: elicit the next required slot, or fulfil."""
        return LexResponse(
            action=DialogActionType.DELEGATE,
            intent=intent,
            session_attributes=self.attributes(_answered(self.conversation)),
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
                card=_examples_card(),
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
            card=None if self.request.spoken else card,
        )


def _answered(conversation: Conversation) -> Conversation:
    """Forget what was being asked for again."""
    return replace(conversation, asking=None, reprompts=0, suggested=None)


IntentHandler = Callable[[Turn], LexResponse]


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
            IntentState.FAILED, ["I can't help with that yet. " + HELP], card=_examples_card()
        )
    return handler(turn)


# ---------------------------------------------------------------- slot checks


@dataclass(frozen=True, slots=True)
class TermSlot:
    """How a search intent's main slot becomes a catalog term."""

    slot: str
    kind: SearchKind
    noun: str
    spellings: Callable[[str], tuple[str, ...]]


def _label_spellings(text: str) -> tuple[str, ...]:
    value = " ".join(text.split()).lower()
    singular = value[:-1] if value.endswith("s") and not value.endswith("ss") else value
    return tuple(dict.fromkeys((value, singular)))


def _word_spellings(text: str) -> tuple[str, ...]:
    words = [normalize_word(word) for word in text.split()]
    words = [word for word in words if word]
    # Words are indexed one by one: a phrase is searched by its longest word.
    return (max(words, key=len),) if words else ()


def _person_spellings(text: str) -> tuple[str, ...]:
    value = " ".join(text.split()).lower()
    return tuple(
        dict.fromkeys(
            (value, value.replace(" ", "-"), value.replace(" ", "_"), value.replace(" ", ""))
        )
    )


LABEL_TERM = TermSlot(LABEL, SearchKind.LABEL, "tagged", _label_spellings)
WORD_TERM = TermSlot(WORD, SearchKind.WORD, "showing the word", _word_spellings)
PERSON_TERM = TermSlot(PERSON, SearchKind.PERSON, "showing", _person_spellings)
MODERATION_TERM = TermSlot(MODERATION_LABEL, SearchKind.MODERATION, "flagged for", _label_spellings)


def _check_term(turn: Turn, intent: Intent, term: TermSlot) -> Intent | LexResponse:
    """Keep a term the catalog knows; offer a near miss; ask again for anything else."""
    value = intent.slot(term.slot)
    if value is None:
        return intent
    suggested = turn.conversation.suggested
    if suggested and turn.conversation.asking == f"{intent.name}.{term.slot}":
        answer = " ".join(value.original.lower().split()).strip(" .!")
        if answer in YES:
            value = SlotValue(value.original, suggested, (suggested,))
            intent = intent.with_slot(term.slot, value)
        elif answer in NO:
            return turn.elicit(intent, term.slot, f"All right. Which {_slot_noun(term)}, then?")
    exists = turn.ports.catalog.term_exists
    spellings = term.spellings(value.text)
    for spelling in spellings:
        if exists(term.kind, spelling):
            return intent.with_slot(term.slot, SlotValue(value.original, spelling, value.resolved))
    said = _quoted(value.original or value.text)
    if value.resolved and value.resolved[0].lower() in spellings:
        # A value the bot knows (or its synonym) that no media carries yet: "none yet" is
        # the answer, not a re-prompt.
        known = value.resolved[0].lower()
        return intent.with_slot(term.slot, SlotValue(value.original, known, value.resolved))
    near = [
        candidate.lower()
        for candidate in value.candidates()[1:4]
        if candidate.lower() not in spellings and exists(term.kind, candidate.lower())
    ]
    metrics.add_metric(name="ChatbotUnknownTerms", unit=MetricUnit.Count, value=1)
    logger.info("Term not in the catalog", extra={"kind": term.kind.value, "term": said})
    if len(near) == 1:
        # ElicitSlot, not ConfirmIntent: Lex accepts a code hook's ConfirmIntent only where
        # the intent's confirmation step is active, and that would confirm every search.
        return turn.elicit(
            intent,
            term.slot,
            f"I have nothing {term.noun} '{said}'. Did you mean {near[0]}?",
            card=ResponseCard("Did you mean", buttons=((near[0], near[0]),)),
            suggested=near[0],
        )
    if near:
        return turn.elicit(
            intent,
            term.slot,
            f"I have nothing {term.noun} '{said}', but I do have {_join(near)}. Which one?",
            card=ResponseCard("Did you mean", buttons=tuple((n, n) for n in near)),
        )
    return turn.elicit(
        intent,
        term.slot,
        f"I have nothing {term.noun} '{said}'. {_retry_hint(term)}",
    )


def _slot_noun(term: TermSlot) -> str:
    return {
        SearchKind.LABEL: "label",
        SearchKind.WORD: "word",
        SearchKind.PERSON: "person",
        SearchKind.MODERATION: "moderation label",
    }.get(term.kind, "one")


def _retry_hint(term: TermSlot) -> str:
    return {
        SearchKind.LABEL: "What should the photos or videos show? For example: dog, beach or car.",
        SearchKind.WORD: "Which word should I look for? Words are matched whole, like invoice.",
        SearchKind.PERSON: (
            "Who should I look for? People are known by the person id of their reference "
            "photos (faces/<person-id>/...)."
        ),
        SearchKind.MODERATION: "Which moderation label? For example: Explicit Nudity or Violence.",
    }.get(term.kind, "Please try again.")


def _check_media_type(turn: Turn, intent: Intent) -> Intent | LexResponse:
    value = intent.slot(MEDIA_TYPE)
    if value is None:
        return intent
    for candidate in value.candidates():
        media_type = MediaType.parse(candidate)
        if media_type is not None:
            return intent.with_slot(
                MEDIA_TYPE, SlotValue(value.original, media_type.value, value.resolved)
            )
    return turn.elicit(
        intent,
        MEDIA_TYPE,
        f"Should I look at photos or videos? ('{value.original}' is neither.)",
        card=ResponseCard(
            "Photos or videos?", buttons=(("Photos", "photos"), ("Videos", "videos"))
        ),
    )


def _check_since(turn: Turn, intent: Intent) -> Intent | LexResponse:
    value = intent.slot(SINCE)
    if value is None:
        return intent
    since = _since(value, turn.today)
    if since is None:
        return turn.elicit(
            intent,
            SINCE,
            f"I didn't get a date from '{value.original}'. Since when? For example: last week.",
        )
    return intent.with_slot(SINCE, SlotValue(value.original, since.isoformat(), value.resolved))


def _since(value: SlotValue, today: date) -> date | None:
    """Read AMAZON.Date's interpreted value as a start date, never in the future.

    Lex resolves a date said without a week or year ("Monday", "November 20th") to the
    next such date, but a search of what was already analysed can only mean the last
    one: a week earlier for a weekday, a year earlier for anything further ahead.
    """
    try:
        since = date.fromisoformat(value.text)
    except ValueError:
        return None
    if since <= today:
        return since
    if since - today <= timedelta(days=7):
        return since - timedelta(days=7)
    try:
        return since.replace(year=since.year - 1)
    except ValueError:  # 29 February
        return since.replace(year=since.year - 1, day=28)


def _validate(turn: Turn, *checks: Callable[[Turn, Intent], Intent | LexResponse]) -> LexResponse:
    intent = turn.intent
    for check in checks:
        checked = check(turn, intent)
        if isinstance(checked, LexResponse):
            return checked
        intent = checked
    return turn.delegate(intent)


def _term_check(term: TermSlot) -> Callable[[Turn, Intent], Intent | LexResponse]:
    def check(turn: Turn, intent: Intent) -> Intent | LexResponse:
        return _check_term(turn, intent, term)

    return check


# ---------------------------------------------------------------- searches


def _query_from(turn: Turn, kind: SearchKind, slot: str | None) -> SearchQuery | None:
    intent = turn.intent
    value: str | None = None
    if slot is not None:
        raw = intent.slot(slot)
        if raw is None:
            return None
        value = raw.text.lower()
        if kind is SearchKind.WORD:
            spellings = _word_spellings(value)
            if not spellings:
                return None
            value = spellings[0]
    media_type_value = intent.slot(MEDIA_TYPE)
    since_value = intent.slot(SINCE)
    since = _since(since_value, turn.today) if since_value is not None else None
    return SearchQuery(
        kind=kind,
        value=value,
        media_type=MediaType.parse(media_type_value.text) if media_type_value else None,
        since=since.isoformat() if since else None,
    )


def _search_intent(term: TermSlot) -> IntentHandler:
    checks = (_term_check(term), _check_media_type, _check_since)

    def handle(turn: Turn) -> LexResponse:
        if turn.validating:
            return _validate(turn, *checks)
        query = _query_from(turn, term.kind, term.slot)
        if query is None:
            return turn.elicit(turn.intent, term.slot, _retry_hint(term))
        return _search(turn, query, cursor=None, shown=0)

    return handle


def _flagged(turn: Turn) -> LexResponse:
    if turn.validating:
        return _validate(turn, _term_check(MODERATION_TERM), _check_media_type, _check_since)
    has_label = turn.intent.slot(MODERATION_LABEL) is not None
    kind = SearchKind.MODERATION if has_label else SearchKind.FLAGGED
    query = _query_from(turn, kind, MODERATION_LABEL if has_label else None)
    if query is None:  # pragma: no cover - a present slot always gives a query
        return turn.close(IntentState.FAILED, [APOLOGY])
    return _search(turn, query, cursor=None, shown=0)


def _show_more(turn: Turn) -> LexResponse:
    query = turn.conversation.query
    if query is None:
        return turn.close(
            IntentState.FAILED,
            ["There is no search to continue. Ask me something like 'show me photos with dogs'."],
            card=_examples_card(),
        )
    if turn.conversation.cursor is None:
        shown = turn.conversation.shown
        return turn.close(
            IntentState.FULFILLED,
            [
                f"That was everything: {_count(shown)} for {query.describe()}."
                if shown
                else f"There were no {query.describe()}."
            ],
        )
    return _search(turn, query, cursor=turn.conversation.cursor, shown=turn.conversation.shown)


def _refine(turn: Turn) -> LexResponse:
    if turn.validating:
        return _validate(turn, _check_media_type)
    query = turn.conversation.query
    value = turn.intent.slot(MEDIA_TYPE)
    media_type = MediaType.parse(value.text) if value else None
    if query is None:
        return turn.close(
            IntentState.FAILED,
            ["There is no search to narrow down yet. Try 'show me videos with cars'."],
            card=_examples_card(),
        )
    if media_type is None:
        return turn.elicit(turn.intent, MEDIA_TYPE, "Photos or videos?")
    return _search(turn, replace(query, media_type=media_type), cursor=None, shown=0)


def _search(turn: Turn, query: SearchQuery, *, cursor: str | None, shown: int) -> LexResponse:
    settings = turn.settings
    page: SearchPage = turn.ports.catalog.find(
        query, limit=settings.page_size, cursor=cursor, budget=settings.scan_budget
    )
    summaries = turn.ports.catalog.describe([match.media_id for match in page.matches])
    found = [
        (match, summaries[match.media_id]) for match in page.matches if match.media_id in summaries
    ]
    # Suggestions come with a search's first answer, not with each "more".
    fresh = cursor is None
    if not found:
        return _nothing_found(turn, query, page, shown, fresh=fresh)
    spoken = turn.request.spoken
    items = [_spoken_name(s) if spoken else _describe_match(m, s) for m, s in found]
    fitting = _fitting(items, SPOKEN_LIMIT if spoken else MESSAGE_LIMIT)
    next_cursor = page.cursor
    if fitting < len(found) and found[fitting - 1][0].cursor is not None:
        # What did not fit in the answer is listed by "more", not skipped.
        found, items, next_cursor = found[:fitting], items[:fitting], found[fitting - 1][0].cursor
    conversation = Conversation(query=query, cursor=next_cursor, shown=shown + len(found))
    more = next_cursor is not None
    first, last = shown + 1, shown + len(found)
    span = f"{first}-{last}" if last > first else f"{first}"
    if spoken:
        tail = " Say 'more' for the next ones." if more else ""
        messages = [f"Here are {query.describe()}: {_join(items)}.{tail}"]
    else:
        header = f"{query.describe().capitalize()} ({span}"
        header += ", say 'more' for the next ones):" if more else f" of {last}):"
        numbered = [f"{position}. {item}" for position, item in enumerate(items, start=first)]
        messages = [header, "\n".join(numbered)]
    suggested = _suggestions(turn, query) if fresh else ()
    messages[-1], suggested = _with_suggestions(messages[-1], suggested, spoken=spoken)
    buttons = _with_suggestion_buttons(_refine_buttons(query, more), query, suggested)
    return turn.close(
        IntentState.FULFILLED,
        messages,
        conversation=conversation,
        links=[_links(turn, summary, results=False) for _, summary in found],
        card=ResponseCard(
            query.describe().capitalize(),
            subtitle="Links to the files (as many as fit) are in medialens.links.",
            buttons=buttons,
        )
        if buttons
        else None,
    )


def _nothing_found(
    turn: Turn, query: SearchQuery, page: SearchPage, shown: int, *, fresh: bool
) -> LexResponse:
    suggested: tuple[str, ...] = ()
    if page.cursor is not None:
        text = (
            f"No {query.describe()} among the {page.examined} entries I checked. "
            "Say 'more' to keep looking."
        )
    elif shown:
        text = f"That was everything: {_count(shown)} for {query.describe()}."
    else:
        text = f"I have no {query.describe()} yet."
        if fresh:
            # A search that is over and found nothing: what goes with it may be there.
            text, suggested = _with_suggestions(
                text, _suggestions(turn, query), spoken=turn.request.spoken
            )
    buttons = _with_suggestion_buttons(
        _refine_buttons(query, page.cursor is not None), query, suggested
    )
    return turn.close(
        IntentState.FULFILLED,
        [text],
        conversation=Conversation(query=query, cursor=page.cursor, shown=shown),
        links=[],
        card=ResponseCard("Search", buttons=buttons) if buttons else None,
    )


def _fitting(items: Sequence[str], limit: int) -> int:
    """Count the items (at least one) that fit in ``limit`` characters with their framing."""
    used = 0
    for count, item in enumerate(items, start=1):
        used += len(item) + 8
        if used > limit:
            return max(1, count - 1)
    return len(items)


def _suggestions(turn: Turn, query: SearchQuery) -> tuple[str, ...]:
    """Labels mined as going with a label search's, best first: at most ``MAX_SUGGESTIONS``.

    Labels the user already asked for (the searched label in any spelling, or a label
    named in what they said) are left out. Suggestions are an extra: when the lookup
    fails, the answer goes out without them, with a warning and a
    ``RelatedLabelsUnavailable`` metric.
    """
    if query.kind is not SearchKind.LABEL or not query.value:
        return ()
    try:
        related = turn.ports.related.related(query.value)
    except Exception as error:  # noqa: BLE001 - suggestions must never cost the answer
        logger.warning(
            "Related labels unavailable",
            extra={"label": _quoted(query.value), "reason": f"{type(error).__name__}: {error}"},
        )
        metrics.add_metric(name="RelatedLabelsUnavailable", unit=MetricUnit.Count, value=1)
        return ()
    asked = set(_label_spellings(query.value))
    said = " ".join(turn.request.transcript.lower().split())
    picked: list[str] = []
    for suggestion in related:
        label = " ".join(suggestion.label.split()).lower()
        if (
            not label
            or len(label) > BUTTON_TEXT_LIMIT
            or label in picked
            or asked.intersection(_label_spellings(label))
            or re.search(rf"(?<!\w){re.escape(label)}(?:e?s)?(?!\w)", said)
        ):
            continue
        picked.append(label)
        if len(picked) == MAX_SUGGESTIONS:
            break
    return tuple(picked)


def _with_suggestions(
    message: str, labels: Sequence[str], *, spoken: bool
) -> tuple[str, tuple[str, ...]]:
    """End ``message`` with the suggestions that fit in Lex's message limit.

    The results were fitted first: suggestions only take the room they leave, dropping
    the weakest until the line fits (or leaving it out). Returns the message and the
    labels it suggests.
    """
    for count in range(len(labels), 0, -1):
        kept = tuple(labels[:count])
        if spoken:
            longer = f"{message} You may also like {_join(list(kept))}."
        else:
            longer = f"{message}\nYou may also like: {', '.join(kept)}."
        if len(longer) <= MESSAGE_CONTENT_LIMIT:
            return longer, kept
    return message, ()


def _with_suggestion_buttons(
    buttons: tuple[tuple[str, str], ...], query: SearchQuery, labels: Sequence[str]
) -> tuple[tuple[str, str], ...]:
    """Offer the suggestions in the card's free places, after the buttons about the list.

    "Show more" and "Only videos/photos" act on the answer just given, so they keep their
    places; a suggestion searches again with the same media type.
    """
    offered = list(buttons)
    for label in labels:
        if len(offered) >= MAX_BUTTONS:
            break
        value = (
            f"show me {query.media_type.plural()} with {label}"
            if query.media_type
            else f"search for {label}"
        )
        if len(value) <= BUTTON_TEXT_LIMIT:
            offered.append((label, value))
    return tuple(offered)


def _refine_buttons(query: SearchQuery, more: bool) -> tuple[tuple[str, str], ...]:
    buttons = [("Show more", "show me more")] if more else []
    if query.media_type is not MediaType.VIDEO:
        buttons.append(("Only videos", "only videos"))
    if query.media_type is not MediaType.PHOTO:
        buttons.append(("Only photos", "only photos"))
    return tuple(buttons)


def _describe_match(match: Match, summary: MediaSummary) -> str:
    details = [summary.media_type.value]
    if match.seen_seconds:
        details.append("seen at " + _time_ranges(match.seen_seconds))
    elif match.confidence is not None:
        details.append(f"{match.confidence:.0f}%")
    if summary.flagged:
        details.append("flagged")
    return f"{_shortened(summary.media_id, DISPLAY_NAME_LIMIT)} ({', '.join(details)})"


def _time_ranges(seconds: Sequence[int], most: int = 3) -> str:
    ranges: list[tuple[int, int]] = []
    for second in sorted(seconds):
        if ranges and second <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], second)
        else:
            ranges.append((second, second))

    def clock(second: int) -> str:
        return f"{second // 60}:{second % 60:02d}"

    shown = [clock(a) if a == b else f"{clock(a)}-{clock(b)}" for a, b in ranges[:most]]
    return ", ".join(shown) + (" ..." if len(ranges) > most else "")


def _spoken_name(summary: MediaSummary) -> str:
    name = summary.display_name.rsplit(".", 1)[0].replace("-", " ").replace("_", " ")
    return _shortened(name, DISPLAY_NAME_LIMIT)


def _shortened(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]}...{text[-half:]}"


def _links(turn: Turn, summary: MediaSummary, *, results: bool = True) -> dict[str, str]:
    expires = turn.settings.link_expiry_s
    links = {"media_id": summary.media_id}
    if summary.source_bucket and summary.source_key:
        links["file"] = turn.ports.links.link(
            summary.source_bucket,
            summary.source_key,
            version_id=summary.version_id,
            expires_s=expires,
        )
    analysed_image = summary.status == "ANALYSED" and summary.media_type is MediaType.PHOTO
    if results and analysed_image and summary.result_bucket and summary.result_key:
        links["results"] = turn.ports.links.link(
            summary.result_bucket, summary.result_key, version_id=None, expires_s=expires
        )
    return links


# ---------------------------------------------------------------- upload status

_SPOKEN_SEPARATORS = ((r"\s+dot\s+", "."), (r"\s+slash\s+", "/"), (r"\s+dash\s+", "-"))


def _file_name(text: str) -> str:
    """Read a file name as typed or spoken ("beach dot mp4" is ``beach.mp4``)."""
    name = " ".join(text.split()).strip(" ?!'\"\u201c\u201d")
    for pattern, replacement in _SPOKEN_SEPARATORS:
        name = re.sub(pattern, replacement, name, flags=re.IGNORECASE)
    return name


def _find_files(turn: Turn, name: str) -> tuple[tuple[str, ...], MediaSummary | None]:
    """Media ids the name may mean, and the entry already read when it named one key."""
    catalog = turn.ports.catalog
    for media_id in dict.fromkeys((name, turn.settings.uploads_prefix + name.lstrip("/"))):
        summary = catalog.media(media_id)
        if summary is not None:
            return (media_id,), summary
    return _named_files(turn, name), None


def _named_files(turn: Turn, name: str) -> tuple[str, ...]:
    catalog = turn.ports.catalog
    base = name.rsplit("/", 1)[-1]
    found = catalog.named(base, limit=MAX_CHOICES + 1)
    if "/" in name:
        # "day-one/portrait.jpg": the end of a key, as the choice buttons offer it.
        found = tuple(m for m in found if m.endswith("/" + name.lstrip("/"))) or found
    if found or "." in base:
        return found
    # "is portrait done?": the name without its extension.
    return tuple(
        media_id
        for extension in GUESSED_EXTENSIONS
        for media_id in catalog.named(f"{base}.{extension}", limit=MAX_CHOICES + 1)
    )[: MAX_CHOICES + 1]


MAX_CHOICES = 5
GUESSED_EXTENSIONS = ("jpg", "jpeg", "png", "mp4", "mov")


def _upload_status(turn: Turn) -> LexResponse:
    intent = turn.intent
    value = intent.slot(FILE_NAME)
    if value is None:
        if turn.validating:
            return turn.delegate(intent)
        return turn.elicit(intent, FILE_NAME, "Which file? For example: beach.mp4.")
    name = _file_name(value.text)
    found, known = _find_files(turn, name)
    if not found:
        metrics.add_metric(name="ChatbotUnknownFiles", unit=MetricUnit.Count, value=1)
        return turn.elicit(
            intent,
            FILE_NAME,
            f"I can't find a file called '{name}'. What is its name, with the extension "
            "(like beach.mp4)?",
        )
    if len(found) > 1:
        shown = found[:MAX_CHOICES]
        return turn.elicit(
            intent,
            FILE_NAME,
            f"There are {'more than ' if len(found) > MAX_CHOICES else ''}{len(shown)} files "
            f"called {name}: {_join(list(shown))}. Which one?",
            card=_choice_card(shown),
        )
    media_id = found[0]
    if turn.validating:
        return turn.delegate(intent.with_slot(FILE_NAME, SlotValue(value.original, media_id)))
    summary = known or turn.ports.catalog.media(media_id)
    if summary is None:  # deleted between the check and now
        return turn.close(IntentState.FAILED, [f"{media_id} is no longer in the catalog."])
    return turn.close(
        IntentState.FULFILLED,
        [_status_text(summary, spoken=turn.request.spoken)],
        links=[_links(turn, summary)],
    )


def _choice_card(media_ids: Sequence[str]) -> ResponseCard | None:
    """Offer each file by the shortest end of its key that tells it apart (buttons hold 50)."""
    buttons = []
    for media_id in media_ids:
        parts = media_id.split("/")
        for start in range(len(parts) - 1, -1, -1):
            suffix = "/".join(parts[start:])
            unique = sum(1 for other in media_ids if other.endswith("/" + suffix)) <= 1
            if unique or start == 0:
                break
        if len(suffix) <= BUTTON_TEXT_LIMIT:
            buttons.append((suffix, suffix))
    return ResponseCard("Which file?", buttons=tuple(buttons)) if buttons else None


def _status_text(summary: MediaSummary, *, spoken: bool) -> str:
    name = _spoken_name(summary) if spoken else summary.media_id
    when = (
        f" on {summary.analysed_at[:10]} at {summary.analysed_at[11:16]} UTC"
        if (summary.analysed_at and len(summary.analysed_at) >= 16)
        else ""
    )
    if summary.status == "REJECTED":
        return f"{name} could not be analysed: {summary.rejection_detail or 'it was rejected'}."
    if summary.media_type is MediaType.VIDEO:
        return _video_status(name, summary, when)
    shows = f" It shows {_join(_first(summary.labels, 3))}." if summary.labels else ""
    people = f" People: {_join(list(summary.persons))}." if summary.persons else ""
    flag = " It is flagged for review." if summary.flagged else ""
    return f"{name} is done: analysed{when}.{shows}{people}{flag}"


def _video_status(name: str, summary: MediaSummary, when: str) -> str:
    jobs = summary.jobs
    ended = {
        api: state
        for api, state in jobs.items()
        if state not in ("STARTING", "IN_PROGRESS", "PARKED")
    }
    waiting = sorted(_analysis_name(api) for api in jobs if api not in ended)
    failed = sorted(_analysis_name(api) for api, state in ended.items() if state != "SUCCEEDED")
    if summary.status == "IN_PROGRESS":
        return (
            f"{name} is still being analysed: {len(ended)} of {len(jobs)} analyses have "
            f"finished; waiting for {_join(waiting)}."
        )
    flag = " It is flagged for review." if summary.flagged else ""
    if summary.status == "ANALYSED":
        return f"{name} is done: all {len(jobs)} analyses finished{when}.{flag}"
    return (
        f"{name} is finished{when}, but not every analysis worked: "
        f"{_join(failed) or 'none'} did not succeed.{flag}"
    )


def _analysis_name(api: str) -> str:
    return api.lower().replace("_detection", "").replace("_", " ")


# ---------------------------------------------------------------- help and fallback


def _help(turn: Turn) -> LexResponse:
    return turn.close(IntentState.FULFILLED, [HELP], card=_examples_card())


def _fallback(turn: Turn) -> LexResponse:
    metrics.add_metric(name="ChatbotMissedUtterances", unit=MetricUnit.Count, value=1)
    return turn.close(
        IntentState.FAILED, ["Sorry, I didn't understand that. " + HELP], card=_examples_card()
    )


def _examples_card() -> ResponseCard:
    return ResponseCard("Try asking", buttons=EXAMPLES)


# ---------------------------------------------------------------- wording


def _quoted(text: str, limit: int = 80) -> str:
    """Shorten what the user said before echoing it back."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _within_budget(links: Sequence[Mapping[str, str]]) -> str:
    kept: list[Mapping[str, str]] = []
    for link in links:
        if len(json.dumps([*kept, link], separators=(",", ":"))) > LINKS_BUDGET:
            break
        kept.append(link)
    return json.dumps(kept, separators=(",", ":"))


def _count(results: int) -> str:
    return f"{results} result" if results == 1 else f"{results} results"


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _first(values: Sequence[str], count: int) -> list[str]:
    shown = list(values[:count])
    if len(values) > count:
        shown.append(f"{len(values) - count} more")
    return shown


INTENT_HANDLERS: Mapping[str, IntentHandler] = {
    SEARCH_MEDIA: _search_intent(LABEL_TERM),
    SEARCH_TEXT: _search_intent(WORD_TERM),
    SEARCH_PERSON: _search_intent(PERSON_TERM),
    FLAGGED_MEDIA: _flagged,
    UPLOAD_STATUS: _upload_status,
    SHOW_MORE: _show_more,
    REFINE_SEARCH: _refine,
    HELP_INTENT: _help,
    FALLBACK: _fallback,
}
"""Every intent the bot in ``template.yaml`` defines, and the function answering it."""
