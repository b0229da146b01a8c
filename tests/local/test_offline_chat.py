"""`make chat` end to end: the bot of template.yaml, the real ChatbotFunction, the samples.

One scripted conversation over the bundled samples, on one offline stack for the module.
While the stack is still up, every pre-signed link the chat printed is downloaded from
the local S3.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from medialens.domain.chatbot import HELP
from medialens_local import chat as chat_module
from medialens_local.demo import OfflineStack, analysed
from medialens_local.template import ROOT
from rich.console import Console
from rich.progress import Progress

SAMPLES = ROOT / "samples"
CAT_PHOTO = "uploads/pets/chelsea the cat.jpg"
CAT_VIDEO = "uploads/clips/cat-and-rocket.mp4"
COFFEE = "uploads/kitchen/coffee.jpg"
INVOICE = "uploads/docs/invoice.png"
GIF = "uploads/docs/notes.gif"
GIBBERISH = "blorp zzyzx frobnicate"
SAID = [
    "show me photos with cats",
    "videos with cats",
    "photos with coffee",
    "yes",
    "find images that say invoice",
    "is notes.gif done",
    "is cat-and-rocket.mp4 done?",
    "help",
    GIBBERISH,
]
LINK = re.compile(r"^\s+file: (.+?) (https?://\S+)$", re.MULTILINE)


@dataclass
class ChatRun:
    code: int
    transcript: str
    files: dict[str, Path]  # the key each sample was uploaded under, and its file
    downloads: dict[str, bytes | str]  # media id: the bytes its link gave, or the error
    out: Path


@pytest.fixture(scope="module")
def chat_run(tmp_path_factory: pytest.TempPathFactory) -> ChatRun:
    out = tmp_path_factory.mktemp("chat")
    buffer = io.StringIO()
    console = Console(file=buffer, width=1000)
    files: dict[str, Path] = {}
    downloads: dict[str, bytes | str] = {}
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @contextlib.contextmanager
    def analysed_then_download(folder: Path, progress: Progress) -> Iterator[OfflineStack]:
        with analysed(folder, progress) as stack:
            files.update({drop.key: drop.path for drop in stack.drops})
            yield stack
            # The conversation is over and the stack still up: follow the links printed.
            for media_id, url in LINK.findall(buffer.getvalue()):
                try:
                    with direct.open(url, timeout=30) as response:
                        downloads[media_id] = response.read()
                except OSError as error:
                    downloads[media_id] = repr(error)

    saved = dict(os.environ)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(chat_module, "analysed", analysed_then_download)
            patch.setattr(chat_module, "OUT", out)
            code = chat_module.chat(SAMPLES, console, SAID, speech=False, trace=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return ChatRun(code, buffer.getvalue(), files, downloads, out)


def turn(run: ChatRun, said: str) -> list[str]:
    """The lines printed in answer to one message (the trace line first)."""
    lines = run.transcript.splitlines()
    start = lines.index(f"you> {said}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("you> ")), len(lines))
    return lines[start:end]


def bot_text(run: ChatRun, said: str) -> str:
    return "\n".join(
        line.removeprefix("bot> ") for line in turn(run, said) if line.startswith("bot> ")
    )


def test_the_conversation_ends_without_a_lambda_error(chat_run: ChatRun) -> None:
    assert chat_run.code == 0
    assert "Received error response from Lambda" not in chat_run.transcript
    assert f"{len(chat_run.files)} files analysed" in chat_run.transcript
    assert (chat_run.out / "chat.log").is_file()
    for said in SAID:
        assert turn(chat_run, said), f"no answer to {said!r}"


def test_photos_with_cats_lists_the_cat_photo(chat_run: ChatRun) -> None:
    lines = turn(chat_run, "show me photos with cats")
    text = bot_text(chat_run, "show me photos with cats")

    assert lines[0].strip().startswith("-> SearchMedia")
    assert re.search(rf"^1\. {re.escape(CAT_PHOTO)} \(photo\b", text, re.MULTILINE)
    assert CAT_VIDEO not in text


def test_videos_with_cats_lists_the_clip_with_when_the_cat_is_seen(chat_run: ChatRun) -> None:
    text = bot_text(chat_run, "videos with cats")

    assert re.search(rf"{re.escape(CAT_VIDEO)} \(video, seen at \d+:\d\d", text)
    assert CAT_PHOTO not in text


def test_coffee_is_offered_as_espresso_and_yes_lists_the_coffee_photo(
    chat_run: ChatRun,
) -> None:
    offered = bot_text(chat_run, "photos with coffee")
    accepted = bot_text(chat_run, "yes")

    assert "Did you mean espresso?" in offered
    assert COFFEE not in offered
    assert COFFEE in accepted
    assert "espresso" in accepted.lower()


def test_a_word_in_an_image_finds_the_invoice(chat_run: ChatRun) -> None:
    lines = turn(chat_run, "find images that say invoice")

    assert lines[0].strip().startswith("-> SearchText")
    assert INVOICE in bot_text(chat_run, "find images that say invoice")


def test_the_status_of_a_rejected_gif_and_of_the_video(chat_run: ChatRun) -> None:
    gif = bot_text(chat_run, "is notes.gif done")
    video = bot_text(chat_run, "is cat-and-rocket.mp4 done?")

    assert gif.startswith(f"{GIF} could not be analysed")
    assert video.startswith(f"{CAT_VIDEO} is done")


def test_help_and_gibberish_are_answered_with_the_help_text(chat_run: ChatRun) -> None:
    help_text = bot_text(chat_run, "help")
    fallback_lines = turn(chat_run, GIBBERISH)
    fallback = bot_text(chat_run, GIBBERISH)

    assert help_text == HELP
    assert fallback_lines[0].strip().startswith("-> FallbackIntent")
    assert fallback.startswith("Sorry, I didn't understand that.")
    assert fallback.endswith(HELP)


def test_every_link_printed_downloads_the_file_from_the_local_bucket(chat_run: ChatRun) -> None:
    linked = dict(LINK.findall(chat_run.transcript))

    assert {CAT_PHOTO, CAT_VIDEO, COFFEE, INVOICE, GIF} <= set(linked)
    assert set(chat_run.downloads) == set(linked)
    for media_id, body in chat_run.downloads.items():
        assert body == chat_run.files[media_id].read_bytes(), media_id
