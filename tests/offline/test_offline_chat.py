"""`make chat` end to end: the bot of template.yaml, the real ChatbotFunction, the samples.

One scripted conversation over the bundled samples, on one offline stack for the module,
with the label rules ``make workflows`` mines left where it leaves them. While the stack
is still up, every pre-signed link the chat printed is downloaded from the local S3.
Loading the mined rules is also tested on its own, against moto.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from medialens.chatbot.turn import HELP
from medialens.workflows.related_labels import DynamoDBRelatedLabels
from medialens.workflows.suggester import MalformedRulesError, RelatedLabel
from medialens_local import chat as chat_module
from medialens_local.stack import OfflineStack, analysed
from medialens_local.template import ROOT
from moto import mock_aws
from rich.console import Console
from rich.progress import Progress

from tests.support.stack import REGION, create_table

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
MINED = [
    # As label_mining.py writes them: one label a line, its rules' consequents.
    {
        "label": "cat",
        "related": [
            {"label": "pet", "confidence": 0.9522, "lift": 5.1066},
            {"label": "animal", "confidence": 0.95, "lift": 5.1114},
            {"label": "mammal", "confidence": 0.8326, "lift": 5.1197},
            {"label": "dog", "confidence": 0.5174, "lift": 4.8287},
            {"label": "sofa", "confidence": 0.31, "lift": 2.0},
        ],
    },
    {"label": "sand", "related": [{"label": "beach", "confidence": 0.9328, "lift": 4.8414}]},
    {"label": "person", "related": [{"label": "sky", "confidence": 0.4448, "lift": 2.7016}]},
]


def write_mined(folder: Path, records: list[dict[str, Any]] = MINED) -> Path:
    """Write ``related_labels/`` as Spark leaves it: a part file, its checksum, _SUCCESS."""
    folder.mkdir(parents=True)
    part = folder / "part-00000-5e1f-c000.json"
    part.write_text("".join(json.dumps(record) + "\n" for record in records))
    (folder / ".part-00000-5e1f-c000.json.crc").write_bytes(b"\x00crc")
    (folder / "_SUCCESS").write_text("")
    return folder


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
    def analysed_then_download(
        folder: Path, progress: Progress, *, suggester: Path | None = None
    ) -> Iterator[OfflineStack]:
        with analysed(folder, progress, suggester=suggester) as stack:
            files.update({drop.key: drop.path for drop in stack.drops})
            yield stack
            # The conversation is over and the stack still up: follow the links printed.
            for media_id, url in LINK.findall(buffer.getvalue()):
                try:
                    with direct.open(url, timeout=30) as response:
                        downloads[media_id] = response.read()
                except OSError as error:
                    downloads[media_id] = repr(error)

    # What `make workflows` leaves behind: the chat trains and publishes it on start.
    write_mined(out / chat_module.RELATED_LABELS)
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


def test_the_mined_suggestions_are_loaded_and_end_a_label_search(chat_run: ChatRun) -> None:
    lines = [line.strip() for line in turn(chat_run, "show me photos with cats")]

    assert "Label suggestions loaded for 2 labels" in chat_run.transcript
    # The last line of the written answer, then the card offering them.
    ending = lines.index("You may also like: pet, animal, mammal.")
    assert "[pet]" in lines[ending + 1]
    assert "may also like" not in bot_text(chat_run, "find images that say invoice")


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


# ---------------------------------------------------------------- loading the mined rules


@pytest.fixture
def catalog_table() -> Iterator[tuple[str, Any]]:
    """The template's catalog table in moto, and a resource reaching it."""
    with mock_aws():
        table = create_table(boto3.client("dynamodb", region_name=REGION), "CatalogTable")
        yield table, boto3.resource("dynamodb", region_name=REGION)


def test_mined_rules_are_trained_and_published_into_the_catalog(
    catalog_table: tuple[str, Any], tmp_path: Path
) -> None:
    table, resource = catalog_table
    store = DynamoDBRelatedLabels(table, resource=resource)
    store.replace("earlier", {"car": (RelatedLabel("road", 0.9, 5.0),)})

    loaded = chat_module.load_suggestions(write_mined(tmp_path / "related"), table, resource)

    # Only the rules over the default thresholds (confidence 0.5, lift 1.2), best first.
    assert loaded == 2
    assert [r.label for r in store.related("cat")] == ["pet", "animal", "mammal", "dog"]
    assert store.related("Sand") == (RelatedLabel("beach", 0.9328, 4.8414),)
    assert store.related("person") == ()
    assert store.related("car") == (), "an earlier run's suggestions are replaced"


def test_without_mined_rules_nothing_is_loaded(
    catalog_table: tuple[str, Any], tmp_path: Path
) -> None:
    table, resource = catalog_table

    assert chat_module.load_suggestions(tmp_path / "missing", table, resource) is None
    assert resource.Table(table).scan()["Items"] == []


def test_a_malformed_rules_file_is_refused(catalog_table: tuple[str, Any], tmp_path: Path) -> None:
    table, resource = catalog_table
    folder = write_mined(tmp_path / "related", [{"label": "cat"}])

    with pytest.raises(MalformedRulesError):
        chat_module.load_suggestions(folder, table, resource)


def test_the_chat_says_whether_suggestions_were_loaded(
    catalog_table: tuple[str, Any], tmp_path: Path
) -> None:
    table, resource = catalog_table

    # What the note needs of the offline stack: the table's name and a resource.
    aws: Any = SimpleNamespace(
        resolver=SimpleNamespace(ref=lambda logical_id: table), resource=lambda service: resource
    )
    absent = chat_module._suggestions_note(aws, tmp_path)
    write_mined(tmp_path / chat_module.RELATED_LABELS)
    loaded = chat_module._suggestions_note(aws, tmp_path)
    write_mined(tmp_path / "bad" / chat_module.RELATED_LABELS, [{"label": "cat"}])
    malformed = chat_module._suggestions_note(aws, tmp_path / "bad")

    assert absent == "No label suggestions yet: run make workflows first for 'you may also like'."
    assert loaded.startswith("Label suggestions loaded for 2 labels from ")
    assert "not loaded" in malformed
