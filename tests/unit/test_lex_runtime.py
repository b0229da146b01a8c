"""The local Lex V2 runtime, driven by a real boto3 ``lexv2-runtime`` client.

botocore serialises every request and parses every answer, so the wire shapes are
Lex's; each successful answer's raw JSON is also checked against RecognizeText's output
shape in botocore's service model (its parser would silently drop a misspelt key).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import StructureShape
from botocore.validate import ParamValidator
from medialens_local.lex import BotDefinition
from medialens_local.lex_runtime import BotAlias, serving
from medialens_local.loopback import Served

from tests.support.service_model import unknown_keys


def recognize_text_output() -> StructureShape:
    model = botocore.session.get_session().get_service_model("lexv2-runtime")
    shape = model.operation_model("RecognizeText").output_shape
    assert shape is not None
    return shape


OUTPUT = recognize_text_output()
BOT_ID = "GREETBOT01"
ALIAS_ID = "LIVEALIAS1"
LOCALE = "en_US"


def prompt(text: str) -> dict[str, Any]:
    return {"MessageGroupsList": [{"Message": {"PlainTextMessage": {"Value": text}}}]}


TEMPLATE = {
    "Resources": {
        "Bot": {
            "Type": "AWS::Lex::Bot",
            "Properties": {
                "Name": "greeter",
                "BotLocales": [
                    {
                        "LocaleId": LOCALE,
                        "SlotTypes": [
                            {
                                "Name": "PersonName",
                                "ValueSelectionSetting": {"ResolutionStrategy": "ORIGINAL_VALUE"},
                                "SlotTypeValues": [{"SampleValue": {"Value": "ada"}}],
                            }
                        ],
                        "Intents": [
                            {
                                "Name": "Greet",
                                "DialogCodeHook": {"Enabled": True},
                                "FulfillmentCodeHook": {"Enabled": True},
                                "SampleUtterances": [
                                    {"Utterance": "hello {Name}"},
                                    {"Utterance": "hello"},
                                ],
                                "Slots": [
                                    {
                                        "Name": "Name",
                                        "SlotTypeName": "PersonName",
                                        "ValueElicitationSetting": {
                                            "SlotConstraint": "Required",
                                            "PromptSpecification": prompt("Who are you?"),
                                        },
                                    }
                                ],
                            },
                            {
                                "Name": "Card",
                                "FulfillmentCodeHook": {"Enabled": True},
                                "SampleUtterances": [{"Utterance": "show a card"}],
                            },
                            {
                                "Name": "Broken",
                                "FulfillmentCodeHook": {"Enabled": True},
                                "SampleUtterances": [{"Utterance": "break"}],
                            },
                            {"Name": "FallbackIntent", "SampleUtterances": []},
                        ],
                    }
                ],
            },
        }
    }
}


class Hook:
    """A code hook that answers like the fulfilment Lambda would, and keeps its events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        state = event["sessionState"]
        intent = state["intent"]
        if event["invocationSource"] == "DialogCodeHook":
            return {"sessionState": {**state, "dialogAction": {"type": "Delegate"}}}
        if intent["name"] == "Broken":
            raise RuntimeError("the handler fell over")
        closed = {**intent, "state": "Fulfilled"}
        answer: dict[str, Any] = {
            "sessionState": {**state, "intent": closed, "dialogAction": {"type": "Close"}}
        }
        if intent["name"] == "Card":
            card = {"title": "Pick one", "buttons": [{"text": "A", "value": "a"}]}
            answer["messages"] = [{"contentType": "ImageResponseCard", "imageResponseCard": card}]
            return answer
        name = intent["slots"]["Name"]["value"]["interpretedValue"]
        said = state["sessionAttributes"].get("mood", "")
        answer["messages"] = [{"contentType": "PlainText", "content": f"Hello {name}{said}"}]
        return answer


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def served(hook: Hook) -> Iterator[Served]:
    bot = BotDefinition.from_template(TEMPLATE)
    alias = BotAlias(bot_id=BOT_ID, alias_id=ALIAS_ID, locales={LOCALE: bot}, code_hook=hook)
    with serving([alias]) as server:
        yield server


def checked_against_model(http_response: Any, parsed: dict[str, Any], **_: Any) -> None:
    """Every successful answer's JSON must fit RecognizeText's output shape.

    Lex sends an unfilled slot as ``null``, which botocore parses to ``None`` but its
    validator (written for requests) refuses: those are left out of the check.
    """
    if http_response.status_code != 200:
        return
    raw = json.loads(http_response.content)
    assert unknown_keys(raw, OUTPUT, "RecognizeText") == []
    report = ParamValidator().validate(without_nulls(raw), OUTPUT)
    assert not report.has_errors(), report.generate_report()


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


@pytest.fixture
def lex(served: Served) -> Any:
    client = served.client(config=Config(retries={"total_max_attempts": 1}))
    client.meta.events.register("after-call.lex-runtime-v2.RecognizeText", checked_against_model)
    return client


def say(lex: Any, text: str, session: str = "session-1", **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = lex.recognize_text(
        botId=BOT_ID,
        botAliasId=ALIAS_ID,
        localeId=LOCALE,
        sessionId=session,
        text=text,
        **extra,
    )
    return answer


def texts(answer: dict[str, Any]) -> list[str]:
    return [m["content"] for m in answer["messages"] if m["contentType"] == "PlainText"]


def test_a_message_is_answered_in_recognize_texts_shape(lex: Any, hook: Hook) -> None:
    answer = say(lex, "hello ada")

    assert texts(answer) == ["Hello ada"]
    state = answer["sessionState"]
    assert state["dialogAction"] == {"type": "Close"}
    assert state["intent"]["name"] == "Greet"
    assert state["intent"]["state"] == "Fulfilled"
    assert state["intent"]["slots"]["Name"]["value"]["interpretedValue"] == "ada"
    assert answer["sessionId"] == "session-1"
    top, *others = answer["interpretations"]
    assert top["intent"]["name"] == "Greet"
    assert 0 < top["nluConfidence"]["score"] <= 1
    assert [i["intent"]["name"] for i in others] == ["FallbackIntent"]
    # The code hook saw the path's bot and alias, as Lex's event carries them.
    assert {hook.events[0]["bot"][k] for k in ("id", "aliasId")} == {BOT_ID, ALIAS_ID}
    assert [e["invocationSource"] for e in hook.events] == [
        "DialogCodeHook",
        "FulfillmentCodeHook",
    ]


def test_a_session_keeps_its_dialog_and_sessions_are_apart(lex: Any) -> None:
    asked = say(lex, "hello", session="first")

    assert asked["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "Name"}
    assert asked["sessionState"]["intent"]["slots"] == {"Name": None}
    assert texts(asked) == ["Who are you?"]
    # Another session knows nothing of the question.
    assert say(lex, "ada", session="second")["sessionState"]["intent"]["name"] == "FallbackIntent"
    assert texts(say(lex, "ada", session="first")) == ["Hello ada"]


def test_an_idle_session_is_forgotten(hook: Hook) -> None:
    bot = BotDefinition.from_template(TEMPLATE)
    alias = BotAlias(
        bot_id=BOT_ID,
        alias_id=ALIAS_ID,
        locales={LOCALE: bot},
        code_hook=hook,
        idle_session_ttl_s=0,
    )
    with serving([alias]) as server:
        lex = server.client()
        assert say(lex, "hello")["sessionState"]["dialogAction"]["type"] == "ElicitSlot"

        answer = say(lex, "ada")

    assert answer["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_request_attributes_reach_the_code_hook_and_come_back(lex: Any, hook: Hook) -> None:
    answer = say(lex, "hello ada", requestAttributes={"channel": "e2e"})

    assert answer["requestAttributes"] == {"channel": "e2e"}
    assert {e["requestAttributes"]["channel"] for e in hook.events} == {"e2e"}


def test_a_session_state_sent_with_the_text_is_where_the_turn_starts(lex: Any) -> None:
    answer = say(
        lex,
        "ada",
        sessionState={
            "sessionAttributes": {"mood": "!"},
            "intent": {"name": "Greet", "slots": {}, "state": "InProgress"},
            "dialogAction": {"type": "ElicitSlot", "slotToElicit": "Name"},
        },
    )

    assert texts(answer) == ["Hello ada!"]
    assert answer["sessionState"]["sessionAttributes"] == {"mood": "!"}


def test_a_refused_session_state_leaves_the_session_as_it_was(lex: Any, served: Served) -> None:
    say(lex, "hello")
    unchecked = served.client(config=Config(parameter_validation=False))
    with pytest.raises(unchecked.exceptions.ValidationException):
        say(
            unchecked,
            "ada",
            sessionState={"sessionAttributes": {"mood": "!"}, "dialogAction": {"type": "Dance"}},
        )

    assert texts(say(lex, "ada")) == ["Hello ada"]


def test_response_cards_are_passed_through(lex: Any) -> None:
    [message] = say(lex, "show a card")["messages"]

    assert message["contentType"] == "ImageResponseCard"
    assert message["imageResponseCard"]["buttons"] == [{"text": "A", "value": "a"}]


@pytest.mark.parametrize(
    ("bot", "alias", "locale"),
    [
        pytest.param("OTHERBOT01", ALIAS_ID, LOCALE, id="bot"),
        pytest.param(BOT_ID, "TSTALIASID", LOCALE, id="alias"),
        pytest.param(BOT_ID, ALIAS_ID, "fr_FR", id="locale"),
    ],
)
def test_an_unknown_bot_alias_or_locale_is_not_found(
    lex: Any, bot: str, alias: str, locale: str
) -> None:
    with pytest.raises(lex.exceptions.ResourceNotFoundException) as raised:
        lex.recognize_text(
            botId=bot, botAliasId=alias, localeId=locale, sessionId="session-1", text="hello"
        )

    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert error["Error"]["Message"]


def test_a_failing_code_hook_is_a_dependency_failure(lex: Any) -> None:
    with pytest.raises(lex.exceptions.DependencyFailedException) as raised:
        say(lex, "break")

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert "the handler fell over" in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"text": "x" * 1025}, id="text-too-long"),
        pytest.param({"text": "hi", "sessionId": "x"}, id="session-id-too-short"),
        pytest.param({"text": "hi", "sessionId": "no spaces"}, id="session-id-pattern"),
        pytest.param(
            {"text": "hi", "sessionState": {"dialogAction": {"type": "Dance"}}}, id="action"
        ),
        pytest.param({"text": "hi", "sessionState": {"intent": {"name": "Nope"}}}, id="intent"),
    ],
)
def test_an_invalid_request_is_a_validation_error(served: Served, extra: dict[str, Any]) -> None:
    # Without botocore's own checks, so that the server is what refuses.
    lex = served.client(config=Config(parameter_validation=False))
    request = {"sessionId": "session-1", **extra}

    with pytest.raises(lex.exceptions.ValidationException) as raised:
        lex.recognize_text(botId=BOT_ID, botAliasId=ALIAS_ID, localeId=LOCALE, **request)

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("body", [b"{not json", b'["text"]', b'{"text": 3}', b""])
def test_a_malformed_body_is_a_validation_error_in_lexs_error_shape(
    served: Served, body: bytes
) -> None:
    path = f"/bots/{BOT_ID}/botAliases/{ALIAS_ID}/botLocales/{LOCALE}/sessions/s1/text"
    request = urllib.request.Request(served.endpoint + path, data=body, method="POST")

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)

    assert raised.value.code == 400
    assert raised.value.headers["x-amzn-ErrorType"] == "ValidationException"
    assert set(json.loads(raised.value.read())) == {"message"}


def test_other_operations_are_refused(lex: Any) -> None:
    with pytest.raises(ClientError) as raised:
        lex.get_session(botId=BOT_ID, botAliasId=ALIAS_ID, localeId=LOCALE, sessionId="s1")

    assert raised.value.response["Error"]["Code"] == "UnknownOperationException"


def test_a_browsers_preflight_and_answer_carry_cors_headers(served: Served) -> None:
    """A page on another origin (the web chat) may call the runtime, as browsers call Lex."""
    import urllib.request

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    path = f"/bots/{BOT_ID}/botAliases/{ALIAS_ID}/botLocales/{LOCALE}/sessions/browser-1/text"
    origin = "http://127.0.0.1:8765"
    preflight = urllib.request.Request(
        served.endpoint + path,
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-date",
        },
    )
    with direct.open(preflight, timeout=10) as answer:
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert "POST" in answer.headers["Access-Control-Allow-Methods"]
        assert "authorization" in answer.headers["Access-Control-Allow-Headers"]

    request = urllib.request.Request(
        served.endpoint + path,
        method="POST",
        data=json.dumps({"text": "hello bob"}).encode(),
        headers={"Origin": origin, "Content-Type": "application/json"},
    )
    with direct.open(request, timeout=10) as answer:
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert "x-amzn-RequestId" in answer.headers["Access-Control-Expose-Headers"]
