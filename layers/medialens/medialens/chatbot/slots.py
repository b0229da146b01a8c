"""Slot names, and the checks that make what the user said usable by the catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from medialens.catalog.models import MediaType, SearchKind, SearchQuery
from medialens.catalog.terms import normalize_word
from medialens.chatbot.lex import Intent, LexResponse, ResponseCard, SlotValue
from medialens.chatbot.phrasing import join, quoted
from medialens.chatbot.turn import Turn
from medialens.shared.observability import MetricUnit, logger, metrics

YES = frozenset({"yes", "yeah", "yep", "sure", "ok", "okay", "yes please", "correct", "right"})
NO = frozenset({"no", "nope", "nah", "no thanks", "wrong"})

LABEL = "Label"
WORD = "Word"
PERSON = "Person"
FILE_NAME = "FileName"
MODERATION_LABEL = "ModerationLabel"
MEDIA_TYPE = "MediaType"
SINCE = "Since"


@dataclass(frozen=True, slots=True)
class TermSlot:
    """How a search intent's main slot becomes a catalog term."""

    slot: str
    kind: SearchKind
    noun: str
    spellings: Callable[[str], tuple[str, ...]]


def label_spellings(text: str) -> tuple[str, ...]:
    """Spell a label as the catalog may index it: as said, and singular.

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple[str, ...]
        The label in lower case, then its singular when that differs.
    """
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


LABEL_TERM = TermSlot(LABEL, SearchKind.LABEL, "tagged", label_spellings)
WORD_TERM = TermSlot(WORD, SearchKind.WORD, "showing the word", _word_spellings)
PERSON_TERM = TermSlot(PERSON, SearchKind.PERSON, "showing", _person_spellings)
MODERATION_TERM = TermSlot(MODERATION_LABEL, SearchKind.MODERATION, "flagged for", label_spellings)


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
    said = quoted(value.original or value.text)
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
    # A person's name is personal data: the log says a person was asked for, not whom.
    shown = {} if term.kind is SearchKind.PERSON else {"term": said}
    logger.info("Term not in the catalog", extra={"kind": term.kind.value, **shown})
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
            f"I have nothing {term.noun} '{said}', but I do have {join(near)}. Which one?",
            card=ResponseCard("Did you mean", buttons=tuple((n, n) for n in near)),
        )
    return turn.elicit(
        intent,
        term.slot,
        f"I have nothing {term.noun} '{said}'. {retry_hint(term)}",
    )


def _slot_noun(term: TermSlot) -> str:
    return {
        SearchKind.LABEL: "label",
        SearchKind.WORD: "word",
        SearchKind.PERSON: "person",
        SearchKind.MODERATION: "moderation label",
    }.get(term.kind, "one")


def retry_hint(term: TermSlot) -> str:
    """Say what the search intent's main slot wants, to ask for it again.

    Parameters
    ----------
    term : TermSlot

    Returns
    -------
    str
    """
    return {
        SearchKind.LABEL: "What should the photos or videos show? For example: dog, beach or car.",
        SearchKind.WORD: "Which word should I look for? Words are matched whole, like invoice.",
        SearchKind.PERSON: (
            "Who should I look for? People are known by the person id of their reference "
            "photos (faces/<person-id>/...)."
        ),
        SearchKind.MODERATION: "Which moderation label? For example: Explicit Nudity or Violence.",
    }.get(term.kind, "Please try again.")


def check_media_type(turn: Turn, intent: Intent) -> Intent | LexResponse:
    """Keep a media type read as photo or video; ask again for anything else.

    Returns
    -------
    Intent | LexResponse
        The intent with the slot set to the media type's value, or the response asking
        for it again.
    """
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


def check_since(turn: Turn, intent: Intent) -> Intent | LexResponse:
    """Keep a date to search from (never in the future); ask again for anything else.

    Returns
    -------
    Intent | LexResponse
        The intent with the slot set to the ISO date, or the response asking for it again.
    """
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
    one: a week earlier for a weekday, the same day of an earlier year for anything
    further ahead, however far ahead it was said.
    """
    try:
        since = date.fromisoformat(value.text)
    except ValueError:
        return None
    if since <= today:
        return since
    if since - today <= timedelta(days=7):
        return since - timedelta(days=7)
    years_back = since.year - today.year
    if (since.month, since.day) > (today.month, today.day):
        years_back += 1
    try:
        return since.replace(year=since.year - years_back)
    except ValueError:  # 29 February
        return since.replace(year=since.year - years_back, day=28)


def validate(turn: Turn, *checks: Callable[[Turn, Intent], Intent | LexResponse]) -> LexResponse:
    """Run the slot checks in order, and let Lex go on when all of them pass.

    Parameters
    ----------
    turn : Turn
    *checks : Callable[[Turn, Intent], Intent | LexResponse]
        Each takes the intent the previous one returned.

    Returns
    -------
    LexResponse
        The first check's response that is not an intent, else a ``Delegate``.
    """
    intent = turn.intent
    for check in checks:
        checked = check(turn, intent)
        if isinstance(checked, LexResponse):
            return checked
        intent = checked
    return turn.delegate(intent)


def term_check(term: TermSlot) -> Callable[[Turn, Intent], Intent | LexResponse]:
    """Make the slot check of a search intent's main slot.

    Parameters
    ----------
    term : TermSlot

    Returns
    -------
    Callable[[Turn, Intent], Intent | LexResponse]
        A check for :func:`validate`.
    """

    def check(turn: Turn, intent: Intent) -> Intent | LexResponse:
        return _check_term(turn, intent, term)

    return check


def query_from(turn: Turn, kind: SearchKind, slot: str | None) -> SearchQuery | None:
    """Build the catalog query the intent's slots ask for.

    Parameters
    ----------
    turn : Turn
    kind : SearchKind
    slot : str | None
        The slot holding the searched value; ``None`` for a search without one.

    Returns
    -------
    SearchQuery | None
        ``None`` when ``slot`` is empty or holds no searchable word.
    """
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
