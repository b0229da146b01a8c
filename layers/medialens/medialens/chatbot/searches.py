"""Catalog searches and their answers: results, "show me more", refinements, suggestions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from medialens.catalog.models import (
    Match,
    MediaSummary,
    MediaType,
    SearchKind,
    SearchPage,
    SearchQuery,
)
from medialens.chatbot.channels import BUTTON_TEXT_LIMIT, MAX_BUTTONS, ChannelStyle
from medialens.chatbot.conversation import Conversation
from medialens.chatbot.lex import IntentState, LexResponse, ResponseCard
from medialens.chatbot.phrasing import (
    DISPLAY_NAME_LIMIT,
    count_fitting,
    join,
    quoted,
    result_count,
    shortened,
    spoken_name,
)
from medialens.chatbot.slots import (
    MEDIA_TYPE,
    MODERATION_LABEL,
    MODERATION_TERM,
    TermSlot,
    check_media_type,
    check_since,
    label_spellings,
    query_from,
    retry_hint,
    term_check,
    validate,
)
from medialens.chatbot.turn import APOLOGY, IntentHandler, Turn, examples_card
from medialens.shared.observability import MetricUnit, logger, metrics

MAX_SUGGESTIONS = 3
"""Most related labels suggested after a label search ("You may also like: sea, sand.")."""


def search_intent(term: TermSlot) -> IntentHandler:
    """Make the handler of a search intent by label, word or person.

    Parameters
    ----------
    term : TermSlot
        The intent's main slot.

    Returns
    -------
    IntentHandler
    """
    checks = (term_check(term), check_media_type, check_since)

    def handle(turn: Turn) -> LexResponse:
        if turn.validating:
            return validate(turn, *checks)
        query = query_from(turn, term.kind, term.slot)
        if query is None:
            return turn.elicit(turn.intent, term.slot, retry_hint(term))
        return _search(turn, query, cursor=None, shown=0)

    return handle


def flagged(turn: Turn) -> LexResponse:
    """Answer the FlaggedMedia intent: flagged media, or those with one moderation label."""
    if turn.validating:
        return validate(turn, term_check(MODERATION_TERM), check_media_type, check_since)
    has_label = turn.intent.slot(MODERATION_LABEL) is not None
    kind = SearchKind.MODERATION if has_label else SearchKind.FLAGGED
    query = query_from(turn, kind, MODERATION_LABEL if has_label else None)
    if query is None:  # pragma: no cover - a present slot always gives a query
        return turn.close(IntentState.FAILED, [APOLOGY])
    return _search(turn, query, cursor=None, shown=0)


def show_more(turn: Turn) -> LexResponse:
    """Answer the ShowMore intent: the next results of the last search."""
    query = turn.conversation.query
    if query is None:
        return turn.close(
            IntentState.FAILED,
            ["There is no search to continue. Ask me something like 'show me photos with dogs'."],
            card=examples_card(),
        )
    if turn.conversation.cursor is None:
        shown = turn.conversation.shown
        return turn.close(
            IntentState.FULFILLED,
            [
                f"That was everything: {result_count(shown)} for {query.describe()}."
                if shown
                else f"There were no {query.describe()}."
            ],
        )
    return _search(turn, query, cursor=turn.conversation.cursor, shown=turn.conversation.shown)


def refine(turn: Turn) -> LexResponse:
    """Answer the RefineSearch intent: the last search again, for photos or videos only."""
    if turn.validating:
        return validate(turn, check_media_type)
    query = turn.conversation.query
    value = turn.intent.slot(MEDIA_TYPE)
    media_type = MediaType.parse(value.text) if value else None
    if query is None:
        return turn.close(
            IntentState.FAILED,
            ["There is no search to narrow down yet. Try 'show me videos with cars'."],
            card=examples_card(),
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
    channel = turn.request.channel
    spoken = channel.spoken
    items = [spoken_name(s) if spoken else _describe_match(m, s) for m, s in found]
    fitting = count_fitting(items, channel.list_limit)
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
        messages = [f"Here are {query.describe()}: {join(items)}.{tail}"]
    else:
        header = f"{query.describe().capitalize()} ({span}"
        header += ", say 'more' for the next ones):" if more else f" of {last}):"
        numbered = [f"{position}. {item}" for position, item in enumerate(items, start=first)]
        messages = [header, "\n".join(numbered)]
    suggested = _suggestions(turn, query) if fresh else ()
    messages[-1], suggested = _with_suggestions(messages[-1], suggested, channel)
    buttons = _with_suggestion_buttons(_refine_buttons(query, more), query, suggested)
    return turn.close(
        IntentState.FULFILLED,
        messages,
        conversation=conversation,
        links=[media_links(turn, summary, results=False) for _, summary in found],
        card=ResponseCard(query.describe().capitalize(), buttons=buttons) if buttons else None,
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
        text = f"That was everything: {result_count(shown)} for {query.describe()}."
    else:
        text = f"I have no {query.describe()} yet."
        if fresh:
            # A search that is over and found nothing: what goes with it may be there.
            text, suggested = _with_suggestions(
                text, _suggestions(turn, query), turn.request.channel
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
            extra={"label": quoted(query.value), "reason": f"{type(error).__name__}: {error}"},
        )
        metrics.add_metric(name="RelatedLabelsUnavailable", unit=MetricUnit.Count, value=1)
        return ()
    asked = set(label_spellings(query.value))
    said = " ".join(turn.request.transcript.lower().split())
    picked: list[str] = []
    for suggestion in related:
        label = " ".join(suggestion.label.split()).lower()
        if (
            not label
            or len(label) > BUTTON_TEXT_LIMIT
            or label in picked
            or asked.intersection(label_spellings(label))
            or re.search(rf"(?<!\w){re.escape(label)}(?:e?s)?(?!\w)", said)
        ):
            continue
        picked.append(label)
        if len(picked) == MAX_SUGGESTIONS:
            break
    return tuple(picked)


def _with_suggestions(
    message: str, labels: Sequence[str], channel: ChannelStyle
) -> tuple[str, tuple[str, ...]]:
    """End ``message`` with the suggestions that fit in the channel's message limit.

    The results were fitted first: suggestions only take the room they leave, dropping
    the weakest until the line fits (or leaving it out). Returns the message and the
    labels it suggests. A channel that offers replies in text (SMS) offers them there,
    as the card's buttons, not in a sentence of their own.
    """
    if channel.replies_in_text:
        return message, tuple(labels)
    for count in range(len(labels), 0, -1):
        kept = tuple(labels[:count])
        if channel.spoken:
            longer = f"{message} You may also like {join(list(kept))}."
        else:
            longer = f"{message}\nYou may also like: {', '.join(kept)}."
        if len(longer) <= channel.message_limit:
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
    return f"{shortened(summary.media_id, DISPLAY_NAME_LIMIT)} ({', '.join(details)})"


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


def media_links(turn: Turn, summary: MediaSummary, *, results: bool = True) -> dict[str, str]:
    """Sign links to a media's file and, for an analysed photo, to its results.

    Parameters
    ----------
    turn : Turn
    summary : MediaSummary
    results : bool, optional
        Whether to link an analysed photo's results as well.

    Returns
    -------
    dict[str, str]
        ``media_id``, and ``file`` and ``results`` links where there is something to link.
    """
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
