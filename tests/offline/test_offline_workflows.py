"""`make workflows` end to end: the samples and generated media, through the real chain.

The offline stack analyses the samples; generated media go into the same catalog
table; moto's ExportTableToPointInTime exports it; the Spark job mines the export in
local mode; the real PublishSuggestionsFunction trains the model; the local Batch
Transform serves it; the real VerifyTransformFunction checks and combines the outputs.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest
from medialens_local import demo, stack, workflows
from medialens_local.template import ROOT
from rich.console import Console
from rich.progress import Progress

from jobs import synthetic_catalog

GENERATED = 600


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    out = tmp_path_factory.mktemp("out")
    printed = io.StringIO()
    console = Console(file=printed, width=200)
    code = workflows.run(ROOT / "samples", console, synthetic=GENERATED, out=out)
    return code, out / "workflows", printed.getvalue()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_chain_succeeds_and_every_media_item_gets_one_checked_line(
    ran: tuple[int, Path, str],
) -> None:
    code, work, printed = ran

    assert code == 0, printed
    read = [r for part in sorted((work / "mining" / "catalog").glob("part-*")) for r in lines(part)]
    combined = lines(work / "suggestions.jsonl")
    assert [r["media_id"] for r in combined] == [r["media_id"] for r in read]
    generated = {str(r["media_id"]) for r in synthetic_catalog.records(GENERATED)}
    assert generated <= {r["media_id"] for r in combined}
    assert all("SageMakerOutput" in r for r in combined)
    verified = re.search(r"Verified (\d+) \.out files: (\d+) of (\d+) lines, (\d+) failed", printed)
    assert verified is not None, printed
    assert int(verified[2]) == int(verified[3]) == len(read)
    assert re.search(rf"failed predictions, ok; combined into .*\({len(read)} lines\)", printed)


def test_the_export_is_dynamodbs_and_the_job_read_it_as_such(ran: tuple[int, Path, str]) -> None:
    _, work, _ = ran

    [data] = list((work / "export").iterdir())
    with data.open("rb") as raw:
        assert raw.read(2) == b"\x1f\x8b", "DynamoDB exports gzipped JSON Lines"
    samples = {r["media_id"] for r in lines(work / "suggestions.jsonl")} - {
        str(r["media_id"]) for r in synthetic_catalog.records(GENERATED)
    }
    assert "uploads/kitchen/coffee.jpg" in samples


def test_the_published_model_is_the_lambdas_and_suggests_the_known_rules(
    ran: tuple[int, Path, str],
) -> None:
    _, work, printed = ran

    with tarfile.open(work / "model.tar.gz") as tar:
        member = tar.extractfile("model.json")
        assert member is not None
        model = json.load(member)
    assert "sea" in [r["label"] for r in model["related"]["beach"]]
    beach_without_sea = [
        r
        for r in lines(work / "suggestions.jsonl")
        if {"Beach"} <= {label["name"] for label in r.get("labels", [])}
        and "Sea" not in {label["name"] for label in r.get("labels", [])}
    ]
    assert beach_without_sea
    assert all(
        "sea" in [s["label"] for s in r["SageMakerOutput"]["suggestions"]]
        for r in beach_without_sea
    )
    assert "may also show" in printed


def test_after_make_workflows_every_new_image_gets_the_endpoints_suggestions(
    ran: tuple[int, Path, str],
) -> None:
    code, work, printed = ran
    assert code == 0, printed
    assert re.search(r"(\d+) of \1 sample records answered by InvokeEndpoint exactly", printed)
    batch = {r["media_id"]: r["SageMakerOutput"] for r in lines(work / "suggestions.jsonl")}

    with stack.analysed(
        ROOT / "samples", Progress(disable=True), suggester=work / "model.tar.gz"
    ) as offline:
        documents = {
            drop.key: stack.result_document(offline.aws, drop.key) for drop in offline.drops
        }
        assert offline.suggester is not None
        ledger = offline.suggester.runtime.ledger

    images = {
        key: document
        for key, document in documents.items()
        if document is not None and document.get("kind") != "video" and document["labels"]
    }
    assert len(ledger) == len(images)
    assert all(call.outcome == "ok" for call in ledger)
    for key, document in images.items():
        # The same archive and inference code as the nightly batch, the same labels: the
        # same suggestions, now at upload time.
        expected = [s["label"] for s in batch[key]["suggestions"]]
        assert [s["name"] for s in document["suggested"]] == expected, key
    assert any(document["suggested"] for document in images.values())


def test_make_demo_shows_the_suggestions_once_make_workflows_has_run(
    ran: tuple[int, Path, str],
) -> None:
    _, work, _ = ran
    console = Console(record=True, width=250)

    assert demo.run(ROOT / "samples", console, out=work.parent) == 0

    text = console.export_text()
    answered = re.search(r"Label suggestions: (\d+) of (\d+) InvokeEndpoint calls answered", text)
    assert answered is not None, text
    assert answered[1] == answered[2] != "0"
    [coffee] = [line for line in text.splitlines() if "uploads/kitchen/co" in line]
    assert "cup" in coffee
