"""The web chat offline: its page weight, and the time from question to rendered answer.

Runs `make chat ARGS=--web`'s stack over the samples in headless Chromium, at a phone's
size. The time is from pressing Send until the answer and its thumbnails are on the
page; the share of it that is the bot's (RecognizeText, as the browser's Resource
Timing sees it) is reported beside it. Screenshots of the page go to docs/images.

Run alone with ``python -m bench.web_chat``; ``make bench`` runs it as a section.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import statistics
import sys
import time
from typing import Any

from medialens.webchat.site import PAGE_FILES
from medialens_local.chat import web_chat
from medialens_local.stack import analysed
from medialens_local.template import ROOT
from rich.progress import Progress

from bench.chatbot import percentile
from tests.support.browser import PHONE, ask, chromium, chromium_path, settled, sign_in

QUESTIONS = (
    "show me photos with cats",
    "videos with cats",
    "find images that say invoice",
    "is cat-and-rocket.mp4 done?",
    "show me photos with coffee",
)
ROUNDS = 5
IMAGES = ROOT / "docs" / "images"
SCREENSHOTS = {
    "web-chat-phone.png": "the conversation on a phone's screen (390 x 844 CSS pixels)",
    "web-chat-sign-in.png": "the local sign-in stand-in, offline only",
}


def page_weight() -> list[str]:
    """The bytes a first visit loads: the page's files and config.json, raw and gzipped."""
    rows = []
    total_raw = total_gzip = 0
    for name in PAGE_FILES:
        body = (ROOT / "web" / name).read_bytes()
        packed = len(gzip.compress(body, 9))
        total_raw += len(body)
        total_gzip += packed
        rows.append(f"| `{name}` | {len(body):,} | {packed:,} |")
    return [
        "| file | bytes | gzipped (CloudFront compresses) |",
        "| --- | ---: | ---: |",
        *rows,
        f"| **all** | **{total_raw:,}** | **{total_gzip:,}** |",
        "",
        "Plus `config.json` (under 1 kB). No framework and no third-party script: "
        "`vendor/aws4fetch.esm.js` (SigV4 for `fetch`) is the one dependency, served from "
        "the page's own origin.",
    ]


def _bot_ms(page: Any) -> float:
    """The last RecognizeText request's duration, as Resource Timing measured it."""
    entries = page.evaluate(
        "performance.getEntriesByType('resource')"
        ".filter(e => e.name.includes('/sessions/')).map(e => e.duration)"
    )
    return float(entries[-1])


def answers() -> tuple[list[float], list[float]]:
    """Ask every question ROUNDS times; return the rendered and the bot's times in ms."""
    rendered: list[float] = []
    bot: list[float] = []
    with contextlib.redirect_stdout(io.StringIO()):
        stack_context = analysed(ROOT / "samples", Progress(disable=True))
        with stack_context as stack, web_chat(stack) as address, chromium() as browser:
            context = browser.new_context(viewport=PHONE)
            page = context.new_page()
            page.goto(address)
            page.click("#sign-in-button")
            page.screenshot(path=str(IMAGES / "web-chat-sign-in.png"))
            sign_in(page, address)
            for _ in range(ROUNDS):
                for question in QUESTIONS:
                    started = time.perf_counter()
                    ask(page, question)
                    rendered.append((time.perf_counter() - started) * 1000)
                    bot.append(_bot_ms(page))
            context.close()
            _screenshot(browser, address)
    return rendered, bot


def _screenshot(browser: Any, address: str) -> None:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    sign_in(page, address)
    ask(page, "show me photos with cats")
    before = page.locator(".turn.bot").count()
    page.locator(".card button", has_text="Only videos").last.click()
    settled(page, before)
    page.screenshot(path=str(IMAGES / "web-chat-phone.png"))
    context.close()


def web_chat_section() -> list[str]:
    if chromium_path() is None:
        return ["Not measured: Chromium is not installed (.ci/run installs Debian's)."]
    rendered, bot = answers()
    own = [r - b for r, b in zip(rendered, bot, strict=True)]
    lines = [
        *page_weight(),
        "",
        f"Question to rendered answer, {len(rendered)} questions ({ROUNDS} rounds of "
        f"{len(QUESTIONS)}, headless Chromium at {PHONE['width']}x{PHONE['height']}, the "
        "samples' offline catalog, the local Lex runtime calling the real ChatbotFunction "
        "handler):",
        "",
        "| | median | p90 | max |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, values in (
        ("pressing Send to answer and thumbnails shown", rendered),
        ("of which RecognizeText (bot and code hook)", bot),
        ("the rest: signing, rendering, thumbnails, and the driver's typing and polling", own),
    ):
        lines.append(
            f"| {label} | {statistics.median(values):.0f} ms | "
            f"{percentile(values, 0.9):.0f} ms | {max(values):.0f} ms |"
        )
    lines += [
        "",
        "Offline, the bot's time is the local runtime's and the handler's against moto; on "
        "AWS, Lex and DynamoDB add their network round trips. Screenshots, written by this "
        "run: "
        + "; ".join(f"[{name}](images/{name}), {what}" for name, what in SCREENSHOTS.items())
        + ".",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(web_chat_section()))
    sys.exit(0)
