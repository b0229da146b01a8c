"""`make chat`: talk to the bot in ``template.yaml`` offline, over the samples' catalog.

Starts the offline stack, analyses the bundled samples (or ``ARGS=folder``) exactly as
``make demo`` does, then reads messages from the terminal. Each message becomes the
Lex V2 event the real service would send (see :mod:`medialens_local.lex`), and the real
ChatbotFunction handler answers it. Handler logs go to ``out/chat.log``.

``make chat ARGS=--web`` serves the web chat's page (``web/``) instead, against the local
Lex runtime and local S3, with the sign-in stand-ins of :mod:`medialens_local.web_chat`.

When ``make workflows`` has run, the label rules it mined (``out/workflows/mining/
related_labels``) are trained and published into the offline catalog as the pipeline
publishes them, so label searches end with "You may also like: ...".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medialens.workflows.related_labels import DynamoDBRelatedLabels
from medialens.workflows.suggester import MalformedRulesError, parse_related, suggestions_of, train
from rich.console import Console
from rich.markup import escape

from medialens_local.aws import LocalAws
from medialens_local.lex import BotDefinition, BotReply, LocalLexSession
from medialens_local.lex_runtime import serving, template_alias
from medialens_local.stack import (
    OUT,
    SAMPLES,
    ModelMissingError,
    OfflineStack,
    analysed,
    progress_bar,
    trained_suggester,
)
from medialens_local.template import load_template
from medialens_local.web_chat import WebChatSetting, serve

FUNCTION = "ChatbotFunction"
RELATED_LABELS = Path("workflows", "mining", "related_labels")
"""Where ``make workflows`` leaves the mined rules, under ``out/``."""
SUGGESTIONS_RUN = "offline"
LINKS_ATTRIBUTE = "medialens.links"
QUIT = {"quit", "exit", "bye", "/quit", "/exit"}


def render(reply: BotReply, console: Console, *, trace: bool = False) -> None:
    """Print the bot's messages, its buttons and the links it handed out."""
    if trace and reply.interpretation is not None:
        slots = {
            name: value["interpretedValue"]
            for name, value in reply.interpretation.slots.items()
            if value is not None
        }
        console.print(f"[dim]  -> {reply.interpretation.intent} {slots}[/dim]")
    if reply.error:
        console.print(f"[red]bot> {escape(reply.error)}[/red]")
        return
    for text in reply.texts:
        console.print(f"[cyan]bot>[/cyan] {escape(text)}")
    for card in reply.cards:
        buttons = "  ".join(escape(f"[{b['text']}]") for b in card.get("buttons", []))
        console.print(f"     [dim]{escape(card['title'])}[/dim]  {buttons}")
    links = reply.session_state.get("sessionAttributes", {}).get(LINKS_ATTRIBUTE)
    for link in json.loads(links) if links else []:
        for kind in ("file", "results"):
            if kind in link:
                console.print(
                    f"     [dim]{kind}: {escape(link['media_id'])}[/dim] {link[kind]}",
                    soft_wrap=True,
                )


def load_suggestions(folder: Path, table: str, resource: Any) -> int | None:
    """Train the suggestions from mined rules and publish them into a catalog table.

    Reads the ``part-*`` JSON Lines the label-mining job writes (Spark's ``_SUCCESS`` and
    ``.crc`` files are skipped), keeps the rules over the default thresholds, and replaces
    the table's suggestions with them, as the pipeline's publication does.

    Parameters
    ----------
    folder : Path
        The mining job's ``related_labels`` output.
    table : str
        The catalog table.
    resource : DynamoDBServiceResource
        A DynamoDB resource reaching the table.

    Returns
    -------
    int | None
        Labels that now have suggestions; ``None`` when ``folder`` does not exist.

    Raises
    ------
    MalformedRulesError
        For a line the mining job would not have written.
    """
    if not folder.is_dir():
        return None
    rules = [
        rule
        for part in sorted(folder.glob("part-*"))
        if not part.name.endswith(".crc")
        for rule in parse_related(part.read_text().splitlines())
    ]
    related = suggestions_of(train(rules))
    DynamoDBRelatedLabels(table, resource=resource).replace(SUGGESTIONS_RUN, related)
    return len(related)


def _suggestions_note(aws: LocalAws, out: Path) -> str:
    """Load the suggestions ``make workflows`` mined, if any; say what happened in one line."""
    folder = out / RELATED_LABELS
    where = escape(str(folder))
    try:
        loaded = load_suggestions(
            folder, aws.resolver.ref("CatalogTable"), aws.resource("dynamodb")
        )
    except MalformedRulesError as error:
        return f"[yellow]Label suggestions not loaded from {where}: {escape(str(error))}[/yellow]"
    if loaded is None:
        return "No label suggestions yet: run make workflows first for 'you may also like'."
    if not loaded:
        return f"No rule in {where} is strong enough to suggest: no 'you may also like'."
    return (
        f"Label suggestions loaded for {loaded} labels from {where}: label searches end "
        "with 'you may also like'."
    )


def _messages(said: list[str], console: Console) -> Iterator[str]:
    if said:
        for text in said:
            console.print(f"[bold]you>[/bold] {escape(text)}")
            yield text
        return
    while True:
        try:
            text = console.input("[bold]you>[/bold] ")
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if text.strip().lower() in QUIT:
            return
        if text.strip():
            yield text


@contextlib.contextmanager
def web_chat(stack: OfflineStack, port: int = 0) -> Iterator[str]:
    """Serve the web chat over ``stack`` while the ``with`` block runs; yield its address.

    Parameters
    ----------
    stack : OfflineStack
        The analysed offline stack: its bot answers, its S3 serves the thumbnails.
    port : int, optional
        The page's port; 0 picks a free one.
    """
    lock = threading.RLock()
    resolver = stack.aws.resolver
    alias = template_alias(resolver, lambda function: stack.router.caller(function, lock))
    [group] = resolver.resources("AWS::Cognito::UserPoolGroup").values()
    with serving([alias]) as lex:
        served = serve(
            WebChatSetting(
                lex_endpoint=lex.endpoint,
                media_endpoint=stack.aws.endpoint,
                bot_id=alias.bot_id,
                bot_alias_id=alias.alias_id,
                chat_group=str(group["Properties"]["GroupName"]),
            ),
            port=port,
        )
        try:
            yield served.endpoint + "/"
        finally:
            served.stop()


def chat(
    folder: Path,
    console: Console,
    said: Iterable[str],
    *,
    speech: bool,
    trace: bool,
    web_port: int | None = None,
) -> int:
    """Analyse ``folder`` offline, then hold the conversation; return the exit code."""
    log_path = OUT / "chat.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    progress = progress_bar(console, transient=True)
    failures = 0
    # Lambda logs this for an answer that counted nothing; here it would interrupt the chat.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    with (
        log_path.open("w") as log,
        contextlib.redirect_stdout(log),
        contextlib.ExitStack() as resources,
    ):
        progress.start()
        try:
            stack = resources.enter_context(
                analysed(folder, progress, suggester=trained_suggester(OUT))
            )
        finally:
            progress.stop()

        bot = BotDefinition.from_template(load_template(), resolve=stack.aws.resolver.resolve)
        suggestions = _suggestions_note(stack.aws, OUT)
        if web_port is not None:
            address = resources.enter_context(web_chat(stack, web_port))
            console.print(
                f"{len(stack.drops)} files analysed into the offline catalog. The web chat is at "
                f"[bold]{address}[/bold] (sign-in is a local stand-in); Ctrl-C ends. "
                f"Handler logs: {log_path}"
            )
            console.print(suggestions)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                console.print()
            return 0

        session = LocalLexSession(
            bot,
            stack.router.caller(FUNCTION),
            today=lambda: datetime.now(UTC).date(),
            input_mode="Speech" if speech else "Text",
        )
        console.print(
            f"{len(stack.drops)} files analysed into the offline catalog. "
            f"Ask the bot (“help”, “show me photos with cats”, “is cat-and-rocket.mp4 done?”); "
            f"“quit” ends. Handler logs: {log_path}"
        )
        console.print(suggestions)
        for text in _messages(list(said), console):
            reply = session.send(text)
            failures += reply.error is not None
            render(reply, console, trace=trace)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``make chat`` (``ARGS="--say 'help'"`` runs a scripted conversation)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=SAMPLES)
    parser.add_argument(
        "--say", action="append", default=[], help="a message to send (repeat); then exit"
    )
    parser.add_argument("--speech", action="store_true", help="send messages as speech input")
    parser.add_argument("--trace", action="store_true", help="show the intent and slots matched")
    parser.add_argument(
        "--web", action="store_true", help="serve the web chat's page instead of a terminal chat"
    )
    parser.add_argument("--port", type=int, default=8765, help="the web chat's port (--web)")
    args = parser.parse_args(argv)
    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160)
    if not args.folder.is_dir():
        console.print(f"[red]{args.folder} is not a folder[/red]")
        return 2
    try:
        return chat(
            args.folder.resolve(),
            console,
            args.say,
            speech=args.speech,
            trace=args.trace,
            web_port=args.port if args.web else None,
        )
    except ModelMissingError as error:
        console.print(f"[red]{error}[/red]")
        return 3


if __name__ == "__main__":
    sys.exit(main())
