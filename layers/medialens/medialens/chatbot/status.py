"""Is my upload done: the file the user named, and how its analysis went."""

from __future__ import annotations

import re
from collections.abc import Sequence

from medialens.catalog.keys import spellings
from medialens.catalog.models import MediaSummary, MediaType
from medialens.chatbot.channels import BUTTON_TEXT_LIMIT
from medialens.chatbot.lex import IntentState, LexResponse, ResponseCard, SlotValue
from medialens.chatbot.phrasing import first, join, spoken_name
from medialens.chatbot.searches import media_links
from medialens.chatbot.slots import FILE_NAME
from medialens.chatbot.turn import Turn
from medialens.shared.observability import MetricUnit, metrics

MAX_CHOICES = 5
GUESSED_EXTENSIONS = ("jpg", "jpeg", "png", "mp4", "mov")

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
    typed = (name, turn.settings.uploads_prefix + name.lstrip("/"))
    for media_id in dict.fromkeys(spelling for text in typed for spelling in spellings(text)):
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
        ends = tuple("/" + spelling.lstrip("/") for spelling in spellings(name))
        found = tuple(m for m in found if m.endswith(ends)) or found
    if found or "." in base:
        return found
    # "is portrait done?": the name without its extension.
    return tuple(
        media_id
        for extension in GUESSED_EXTENSIONS
        for media_id in catalog.named(f"{base}.{extension}", limit=MAX_CHOICES + 1)
    )[: MAX_CHOICES + 1]


def upload_status(turn: Turn) -> LexResponse:
    """Answer the UploadStatus intent: find the file named, then tell how its analysis went."""
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
            f"called {name}: {join(list(shown))}. Which one?",
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
        links=[media_links(turn, summary)],
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
    name = spoken_name(summary) if spoken else summary.media_id
    when = (
        f" on {summary.analysed_at[:10]} at {summary.analysed_at[11:16]} UTC"
        if (summary.analysed_at and len(summary.analysed_at) >= 16)
        else ""
    )
    if summary.status == "REJECTED":
        return f"{name} could not be analysed: {summary.rejection_detail or 'it was rejected'}."
    if summary.media_type is MediaType.VIDEO:
        return _video_status(name, summary, when)
    shows = f" It shows {join(first(summary.labels, 3))}." if summary.labels else ""
    maybe = (
        f" It may also show {join(first(summary.suggested, 3))} (suggested, not detected)."
        if summary.suggested
        else ""
    )
    people = f" People: {join(list(summary.persons))}." if summary.persons else ""
    flag = " It is flagged for review." if summary.flagged else ""
    return f"{name} is done: analysed{when}.{shows}{maybe}{people}{flag}"


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
            f"finished; waiting for {join(waiting)}."
        )
    flag = " It is flagged for review." if summary.flagged else ""
    if summary.status == "ANALYSED":
        return f"{name} is done: all {len(jobs)} analyses finished{when}.{flag}"
    return (
        f"{name} is finished{when}, but not every analysis worked: "
        f"{join(failed) or 'none'} did not succeed.{flag}"
    )


def _analysis_name(api: str) -> str:
    return api.lower().replace("_detection", "").replace("_", " ")
