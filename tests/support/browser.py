"""Headless Chromium for the web chat: the machine's own Chromium, driven by Playwright.

Playwright's own browser download is not used (nothing is downloaded at run time): it
launches Debian's ``chromium``, with the flags this closed network needs.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PHONE = {"width": 390, "height": 844}
"""A phone's screen in CSS pixels (an iPhone 13's)."""


def chromium_path() -> str | None:
    """Where the machine's Chromium is, if it has one."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Start headless Chromium; yield Playwright's ``Browser``.

    Raises
    ------
    RuntimeError
        When no Chromium is installed (.ci/run installs Debian's).
    """
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("Chromium is not installed (.ci/run installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, address: str, email: str = "demo@example.com") -> None:
    """Open the web chat and sign in through the local stand-in as ``email``."""
    page.goto(address)
    page.click("#sign-in-button")
    page.click(f"text=Sign in as {email}")
    page.wait_for_selector("body[data-ready=true]")


def ask(page: Any, question: str) -> Any:
    """Type ``question``, send it, wait for the answer; return the answer's element."""
    answers = page.locator(".turn.bot")
    before = answers.count()
    page.fill("#question", question)
    page.click("#ask button[type=submit]")
    return settled(page, before)


def settled(page: Any, answers_before: int) -> Any:
    """Wait for one more answer and its thumbnails' bytes; return the answer's element."""
    answer = page.locator(".turn.bot").nth(answers_before)
    answer.wait_for()
    page.wait_for_function(
        "element => [...element.querySelectorAll('img')].every(i => i.complete)"
        " && [...element.querySelectorAll('video')].every(v => v.readyState >= 1)",
        arg=answer.element_handle(),
    )
    return answer
