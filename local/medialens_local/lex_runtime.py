"""Lex V2 runtime's ``RecognizeText`` on a loopback port, over :mod:`medialens_local.lex`.

A boto3 ``lexv2-runtime`` client pointed at the served endpoint talks to the offline bot
as it talks to Amazon Lex: ``POST /bots/{botId}/botAliases/{botAliasId}/
botLocales/{localeId}/sessions/{sessionId}/text`` with ``{"text", "sessionState"?,
"requestAttributes"?}``, answered in RecognizeText's response shape (REST-JSON, the
shapes of botocore's ``lexv2-runtime`` service model). Each session id gets its own
:class:`~medialens_local.lex.LocalLexSession`. Only RecognizeText is served.

Errors come back as Lex sends them: the status code, an ``x-amzn-ErrorType`` header and
``{"message": ...}``. An unknown bot, alias or locale is ``ResourceNotFoundException``
(404), a malformed request ``ValidationException`` (400), a failing code hook
``DependencyFailedException`` (424), as Lex reports a Lambda error.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, urlsplit

from medialens_local.lex import (
    FALLBACK_INTENT,
    BotDefinition,
    BotReply,
    CodeHook,
    LocalLexSession,
)
from medialens_local.loopback import QuietHandler, Served, start
from medialens_local.template import Resolver

TEXT_PATH = re.compile(
    r"^/bots/(?P<bot>[^/]+)/botAliases/(?P<alias>[^/]+)/botLocales/(?P<locale>[^/]+)"
    r"/sessions/(?P<session>[^/]+)/text$"
)
SESSION_ID = re.compile(r"^[0-9a-zA-Z._:-]{2,100}$")
TEXT_LIMIT = 1024
DIALOG_ACTIONS = {"Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot", "None"}
MESSAGE_KEYS = ("contentType", "content", "imageResponseCard")
INTENT_KEYS = ("name", "slots", "state", "confirmationState")


class LexRuntimeError(Exception):
    """An error Lex V2's runtime would answer, by its error code and HTTP status."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _not_found(message: str) -> LexRuntimeError:
    return LexRuntimeError("ResourceNotFoundException", message, HTTPStatus.NOT_FOUND)


def _invalid(message: str) -> LexRuntimeError:
    return LexRuntimeError("ValidationException", message, HTTPStatus.BAD_REQUEST)


@dataclass(frozen=True)
class BotAlias:
    """A bot alias the runtime answers for: its bot's locales and its code hook.

    Attributes
    ----------
    bot_id, alias_id : str
        The identifiers callers put in the path (10 characters each on AWS).
    locales : Mapping[str, BotDefinition]
        The bot's definition by locale id (``en_US``).
    code_hook : CodeHook
        Invokes the alias's Lambda with a Lex V2 event and returns its answer; raising
        is a Lambda error.
    alias_name : str
        Sent to the code hook as ``bot.aliasName``.
    today : Callable[[], date]
        The date ``AMAZON.Date`` slots resolve against.
    idle_session_ttl_s : float
        A session idle this long is forgotten (the bot's ``IdleSessionTTLInSeconds``).
    """

    bot_id: str
    alias_id: str
    locales: Mapping[str, BotDefinition]
    code_hook: CodeHook
    alias_name: str = "live"
    today: Callable[[], date] = date.today
    idle_session_ttl_s: float = 300.0


@dataclass
class _Conversation:
    """One session: the dialog state, and the request attributes of the turn in flight."""

    session: LocalLexSession
    request_attributes: dict[str, str] = field(default_factory=dict)
    last_used: float = field(default_factory=time.monotonic)


class LexRuntime:
    """RecognizeText over the aliases given, one conversation per session id.

    Turns are answered one at a time: code hooks run handlers in this process, and a
    handler's environment is process-wide.
    """

    def __init__(self, aliases: Iterable[BotAlias]) -> None:
        self._aliases = {(alias.bot_id, alias.alias_id): alias for alias in aliases}
        self._conversations: dict[tuple[str, str, str, str], _Conversation] = {}
        self._lock = threading.Lock()

    def recognize_text(
        self, bot_id: str, alias_id: str, locale_id: str, session_id: str, body: Any
    ) -> dict[str, Any]:
        """Answer one RecognizeText request.

        Parameters
        ----------
        bot_id, alias_id, locale_id, session_id : str
            The request's path parameters, URL-decoded.
        body : Any
            The request's JSON body, decoded.

        Returns
        -------
        dict[str, Any]
            RecognizeText's response: ``messages``, ``sessionState``, ``interpretations``,
            ``sessionId`` and, when sent, ``requestAttributes``.

        Raises
        ------
        LexRuntimeError
            As Lex would answer: unknown bot, alias or locale; invalid request; a failed
            code hook.
        """
        alias = self._aliases.get((bot_id, alias_id))
        if alias is None:
            raise _not_found(f"Could not find bot {bot_id} with alias {alias_id}.")
        bot = alias.locales.get(locale_id)
        if bot is None:
            raise _not_found(f"Locale {locale_id} is not enabled for alias {alias_id}.")
        if not SESSION_ID.match(session_id):
            raise _invalid("sessionId must be 2-100 characters of [0-9a-zA-Z._:-].")
        text, state, attributes = _parse_body(body)
        with self._lock:
            key = (bot_id, alias_id, locale_id, session_id)
            conversation = self._conversations.get(key)
            now = time.monotonic()
            if conversation is None or now - conversation.last_used > alias.idle_session_ttl_s:
                conversation = self._start(alias, bot, session_id)
                self._conversations[key] = conversation
            conversation.last_used = now
            session = conversation.session
            if state is not None:
                _apply_session_state(session, bot, state)
            conversation.request_attributes = attributes or {}
            request_id = str(uuid.uuid4())
            reply = session.send(text)
            if reply.error is not None:
                raise LexRuntimeError(
                    "DependencyFailedException", reply.error, HTTPStatus.FAILED_DEPENDENCY
                )
            return _response(session, reply, request_id, attributes)

    def _start(self, alias: BotAlias, bot: BotDefinition, session_id: str) -> _Conversation:
        conversation: _Conversation

        def code_hook(event: dict[str, Any]) -> dict[str, Any]:
            event["bot"].update(
                {"id": alias.bot_id, "aliasId": alias.alias_id, "aliasName": alias.alias_name}
            )
            if conversation.request_attributes:
                event["requestAttributes"] = dict(conversation.request_attributes)
            return alias.code_hook(event)

        conversation = _Conversation(
            LocalLexSession(bot, code_hook, today=alias.today, session_id=session_id)
        )
        return conversation


def _string_map(value: Any, name: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(f"{name} must map non-empty strings to strings.")
    return dict(value)


def _parse_body(body: Any) -> tuple[str, dict[str, Any] | None, dict[str, str] | None]:
    """Check RecognizeText's body; return its text, session state and request attributes."""
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object.")
    unknown = set(body) - {"text", "sessionState", "requestAttributes"}
    if unknown:
        raise _invalid(f"Unknown request fields: {sorted(unknown)}.")
    text = body.get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= TEXT_LIMIT:
        raise _invalid(f"text must be a string of 1-{TEXT_LIMIT} characters.")
    state = body.get("sessionState")
    if state is not None and not isinstance(state, dict):
        raise _invalid("sessionState must be an object.")
    attributes = body.get("requestAttributes")
    if attributes is not None:
        attributes = _string_map(attributes, "requestAttributes")
    return text, state, attributes


def _apply_session_state(
    session: LocalLexSession, bot: BotDefinition, state: Mapping[str, Any]
) -> None:
    """Start the turn from the state the caller sent, as Lex does with ``sessionState``.

    The whole state is checked before any of it is taken: a refused request leaves the
    session as it was.
    """
    attributes = session.session_attributes
    if "sessionAttributes" in state:
        attributes = _string_map(state["sessionAttributes"], "sessionAttributes")
    intent = session.intent
    given = state.get("intent")
    if given is not None:
        if not isinstance(given, dict) or given.get("name") not in bot.intents:
            raise _invalid("sessionState.intent must name one of the bot's intents.")
        slots = given.get("slots") or {}
        if not isinstance(slots, dict):
            raise _invalid("sessionState.intent.slots must be an object.")
        intent = {
            "name": given["name"],
            "slots": dict(slots),
            "state": given.get("state", "InProgress"),
            "confirmationState": given.get("confirmationState", "None"),
        }
    awaiting, slot_to_elicit = session.awaiting, session.slot_to_elicit
    action = state.get("dialogAction")
    if action is not None:
        if not isinstance(action, dict) or action.get("type") not in DIALOG_ACTIONS:
            raise _invalid(
                f"sessionState.dialogAction.type must be one of {sorted(DIALOG_ACTIONS)}."
            )
        awaiting, slot_to_elicit = None, None
        if action["type"] == "ElicitSlot":
            slot_to_elicit = action.get("slotToElicit")
            if intent is None or not isinstance(slot_to_elicit, str):
                raise _invalid(
                    "ElicitSlot needs sessionState.intent and dialogAction.slotToElicit."
                )
            awaiting = "slot"
        elif action["type"] == "ConfirmIntent":
            if intent is None:
                raise _invalid("ConfirmIntent needs sessionState.intent.")
            awaiting = "confirm"
    session.session_attributes = attributes
    session.intent = intent
    session.awaiting, session.slot_to_elicit = awaiting, slot_to_elicit


def _intent(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {key: raw[key] for key in INTENT_KEYS if key in raw}


def _dialog_action(session: LocalLexSession, reply: BotReply) -> dict[str, Any]:
    """Report what Lex does next, as RecognizeText does."""
    if session.awaiting == "slot" and session.slot_to_elicit:
        return {"type": "ElicitSlot", "slotToElicit": session.slot_to_elicit}
    if session.awaiting == "confirm":
        return {"type": "ConfirmIntent"}
    returned = (reply.session_state.get("dialogAction") or {}).get("type")
    return {"type": returned if returned in ("Close", "ElicitIntent") else "Close"}


def _response(
    session: LocalLexSession,
    reply: BotReply,
    request_id: str,
    request_attributes: Mapping[str, str] | None,
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "dialogAction": _dialog_action(session, reply),
        "sessionAttributes": dict(reply.session_state.get("sessionAttributes") or {}),
        "originatingRequestId": request_id,
    }
    current = reply.session_state.get("intent")
    if current:
        state["intent"] = _intent(current)
    if reply.session_state.get("activeContexts"):
        state["activeContexts"] = reply.session_state["activeContexts"]
    interpretations: list[dict[str, Any]] = []
    matched = reply.interpretation
    if matched is not None:
        intent = (
            state["intent"]
            if current and current.get("name") == matched.intent
            else {
                "name": matched.intent,
                "slots": {
                    name: None if value is None else {"shape": "Scalar", "value": value}
                    for name, value in matched.slots.items()
                },
            }
        )
        interpretations.append(
            {
                "intent": intent,
                "nluConfidence": {"score": matched.confidence},
                "interpretationSource": "Lex",
            }
        )
    elif current:
        interpretations.append({"intent": state["intent"], "interpretationSource": "Lex"})
    if all(i["intent"]["name"] != FALLBACK_INTENT for i in interpretations):
        interpretations.append(
            {"intent": {"name": FALLBACK_INTENT, "slots": {}}, "interpretationSource": "Lex"}
        )
    response: dict[str, Any] = {
        "messages": [
            {key: message[key] for key in MESSAGE_KEYS if key in message}
            for message in reply.messages
        ],
        "sessionState": state,
        "interpretations": interpretations,
        "sessionId": session.session_id,
    }
    if request_attributes:
        response["requestAttributes"] = dict(request_attributes)
    return response


def serve(runtime: LexRuntime, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Answer RecognizeText for ``runtime`` on a loopback port."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            route = TEXT_PATH.match(urlsplit(self.path).path)
            if route is None:
                self._unknown()
                return
            try:
                try:
                    body = json.loads(raw) if raw else None
                except ValueError as error:
                    raise _invalid(f"The request body is not JSON: {error}") from error
                response = runtime.recognize_text(
                    unquote(route["bot"]),
                    unquote(route["alias"]),
                    unquote(route["locale"]),
                    unquote(route["session"]),
                    body,
                )
            except LexRuntimeError as error:
                self._reply(error.status, {"message": error.message}, error.code)
                return
            except Exception as error:  # noqa: BLE001 - answered as Lex would, not dropped
                message = f"local Lex runtime failed: {type(error).__name__}: {error}"
                self._reply(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"message": message},
                    "InternalServerException",
                )
                return
            self._reply(HTTPStatus.OK, response)

        def do_GET(self) -> None:
            self._unknown()

        def do_PUT(self) -> None:
            self._unknown()

        def do_DELETE(self) -> None:
            self._unknown()

        def do_OPTIONS(self) -> None:
            # A browser's preflight: a page on another origin (the web chat) signs its
            # calls, and the Authorization and X-Amz-* headers need the runtime's consent.
            self.send_response(HTTPStatus.OK)
            self._cors()
            self.send_header("Access-Control-Allow-Methods", "POST, PUT, GET, DELETE")
            self.send_header(
                "Access-Control-Allow-Headers",
                self.headers.get("Access-Control-Request-Headers") or "*",
            )
            self.send_header("Access-Control-Max-Age", "600")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin") or "*")
            self.send_header("Access-Control-Expose-Headers", "x-amzn-RequestId, x-amzn-ErrorType")
            self.send_header("Vary", "Origin")

        def _unknown(self) -> None:
            if self.headers.get("Content-Length"):
                self.rfile.read(int(self.headers["Content-Length"]))
            self._reply(
                HTTPStatus.NOT_FOUND,
                {
                    "message": f"{self.command} {self.path}: the local Lex runtime serves only "
                    "RecognizeText"
                },
                "UnknownOperationException",
            )

        def _reply(self, status: int, document: dict[str, Any], error: str | None = None) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            self._cors()
            if error is not None:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(payload)

    return start("lexv2-runtime", Handler, host, port)


LOCAL_BOT_ID = "LOCALBOTID"
LOCAL_BOT_ALIAS_ID = "LOCALALIAS"
"""The ids the local runtime answers the template's bot and live alias under (10 characters,
as on AWS)."""


def template_alias(
    resolver: Resolver, code_hook: Callable[[str], CodeHook], locale_id: str = "en_US"
) -> BotAlias:
    """Serve the template's bot behind its live alias, whose code hook the template names.

    Parameters
    ----------
    resolver : Resolver
        Resolves the template's references for the local stack.
    code_hook : Callable[[str], CodeHook]
        Makes the caller of a function by its logical id (``Router.caller``).
    locale_id : str, optional

    Returns
    -------
    BotAlias
    """
    [alias] = resolver.resources("AWS::Lex::BotAlias").values()
    [bot] = resolver.resources("AWS::Lex::Bot").values()
    [setting] = [
        s for s in alias["Properties"]["BotAliasLocaleSettings"] if s["LocaleId"] == locale_id
    ]
    hook = setting["BotAliasLocaleSetting"]["CodeHookSpecification"]["LambdaCodeHook"]
    function = hook["LambdaArn"]["Fn::GetAtt"][0]
    return BotAlias(
        bot_id=LOCAL_BOT_ID,
        alias_id=LOCAL_BOT_ALIAS_ID,
        alias_name=str(alias["Properties"]["BotAliasName"]),
        locales={
            locale_id: BotDefinition.from_template(
                resolver.template, locale_id, resolve=resolver.resolve
            )
        },
        code_hook=code_hook(function),
        idle_session_ttl_s=float(bot["Properties"]["IdleSessionTTLInSeconds"]),
    )


@contextmanager
def serving(aliases: Iterable[BotAlias]) -> Iterator[Served]:
    """Serve RecognizeText for ``aliases`` while the ``with`` block runs."""
    served = serve(LexRuntime(aliases))
    try:
        yield served
    finally:
        served.stop()
