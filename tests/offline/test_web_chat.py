"""`make chat ARGS=--web` in headless Chromium: the page, the local Lex runtime, local S3.

One offline stack over the samples for the module; the page is the one the stack
deploys, its sign-in goes through the stand-ins of :mod:`medialens_local.web_chat`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from medialens.webchat.site import PAGE_FILES
from medialens_local.chat import web_chat
from medialens_local.stack import analysed
from medialens_local.template import ROOT
from rich.progress import Progress

from tests.support.browser import PHONE, ask, chromium, chromium_path, settled, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed"),
]


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    with (
        pytest.MonkeyPatch.context(),
        analysed(ROOT / "samples", Progress(disable=True)) as stack,
        web_chat(stack) as served,
    ):
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as started:
        yield started


@pytest.fixture
def expected_problems() -> list[str]:
    """Console errors a test expects (a refusal it provokes)."""
    return []


@pytest.fixture
def page(browser: Any, expected_problems: list[str]) -> Iterator[Any]:
    problems: list[str] = []
    context = browser.new_context(viewport=PHONE)
    opened = context.new_page()
    opened.on("pageerror", lambda error: problems.append(str(error)))

    def on_console(message: Any) -> None:
        if message.type == "error":
            problems.append(message.text)

    opened.on("console", on_console)
    yield opened
    context.close()
    # No script error, failed load or Content-Security-Policy violation but those expected.
    assert [p for p in problems if p not in expected_problems] == []


def test_a_question_is_answered_with_thumbnails_and_a_button_that_continues(
    page: Any, address: str
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    sign_in(page, address)
    assert "local stand-in" in page.inner_text("#stand-in")

    answer = ask(page, "show me photos with cats")

    assert "chelsea the cat.jpg" in answer.inner_text()
    thumbnail = answer.locator(".media img")
    assert thumbnail.count() == 1
    assert thumbnail.evaluate("image => image.naturalWidth") > 0
    button = answer.locator(".card button", has_text="Only videos")
    assert button.count() == 1

    before = page.locator(".turn.bot").count()
    button.click()
    following = settled(page, before)

    # The button's value went to the bot, as said, and the conversation went on.
    assert page.locator(".turn.you").last.inner_text() == "Only videos"
    assert "cat-and-rocket.mp4" in following.inner_text()
    assert following.locator(".media video").evaluate("video => video.readyState") >= 1
    # The page's own origin, the Lex runtime and S3: no third-party script or font.
    page_origin = urlsplit(address).netloc
    others = {urlsplit(url).netloc for url in requests} - {page_origin}
    assert len(others) == 2, others  # the local Lex runtime and the local S3


def test_the_conversation_so_far_survives_a_reload(page: Any, address: str) -> None:
    sign_in(page, address)
    ask(page, "is cat-and-rocket.mp4 done?")

    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    said = page.locator(".turn.you").all_inner_texts()
    assert said == ["is cat-and-rocket.mp4 done?"]
    assert "cat-and-rocket.mp4 is done" in page.locator(".turn.bot").last.inner_text()


def test_someone_outside_the_chat_group_is_told_why_and_cannot_ask(
    page: Any, address: str, expected_problems: list[str]
) -> None:
    # The identity pool's refusal is the only failed load.
    expected_problems.append(
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    )
    sign_in(page, address, "outsider@example.com")

    assert "chat group" in page.inner_text("#problem")
    assert page.locator("#ask").is_hidden()


def test_the_page_fits_a_phones_width(page: Any, address: str) -> None:
    sign_in(page, address)
    ask(page, "show me photos and videos with cats")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]


def test_the_page_serves_only_its_files(address: str) -> None:
    import urllib.error
    import urllib.request

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for name in PAGE_FILES:
        with direct.open(address + name, timeout=10) as response:
            assert response.read() == (ROOT / "web" / name).read_bytes()
    for other in ("package.json", "../pyproject.toml", "vendor/aws4fetch.LICENSE"):
        with pytest.raises(urllib.error.HTTPError):
            direct.open(address + other, timeout=10)


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_the_vendored_signer_is_the_npm_package_pinned_in_web(tmp_path: Path) -> None:
    for name in ("package.json", "package-lock.json"):
        shutil.copy(ROOT / "web" / name, tmp_path / name)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=300,
    )
    package = tmp_path / "node_modules" / "aws4fetch"
    pinned = json.loads((ROOT / "web" / "package.json").read_text())["dependencies"]["aws4fetch"]
    assert json.loads((package / "package.json").read_text())["version"] == pinned
    vendored = ROOT / "web" / "vendor"
    assert (vendored / "aws4fetch.esm.js").read_bytes() == (
        package / "dist" / "aws4fetch.esm.mjs"
    ).read_bytes()
    assert (vendored / "aws4fetch.LICENSE").read_bytes() == (package / "LICENSE").read_bytes()
