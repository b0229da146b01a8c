"""``out/report.html``: every image with its boxes and findings, in one static page."""

from __future__ import annotations

import base64
import html
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medialens_local.demo import Drop

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px; background: #f6f6f4; color: #222; }
h1 { font-size: 22px; }
.card { background: #fff; border-radius: 8px; padding: 16px; margin: 0 0 20px; display: flex;
        gap: 20px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
.frame { position: relative; flex: 0 0 auto; width: 420px; align-self: flex-start; }
.frame img { width: 100%; display: block; }
.frame svg { position: absolute; inset: 0; width: 100%; height: 100%; }
.frame rect { fill: none; vector-effect: non-scaling-stroke; }
.face { stroke: #ff3b30; stroke-width: 3px; }
.label { stroke: #34c759; stroke-width: 7px; }
.text { stroke: #007aff; stroke-width: 3px; }
.status-rejected { color: #b00020; font-weight: 600; }
.flagged { color: #b00020; font-weight: 600; }
dt { font-weight: 600; margin-top: 6px; }
"""


def _box(box: dict[str, float] | None, css: str, title: str) -> str:
    if not box:
        return ""
    return (
        f'<rect class="{css}" x="{box["left"]:.4f}" y="{box["top"]:.4f}" '
        f'width="{box["width"]:.4f}" height="{box["height"]:.4f}">'
        f"<title>{html.escape(title)}</title></rect>"
    )


def _overlay(document: dict[str, Any]) -> str:
    # Label instances (wide, green) under text lines (blue) under faces (red), so a face
    # box is never hidden by the Person instance drawn on the same pixels.
    shapes = [
        _box(box, "label", label["name"])
        for label in document["labels"]
        for box in label["instances"]
    ]
    shapes += [_box(t["box"], "text", t["text"]) for t in document["text"] if t["kind"] == "LINE"]
    shapes += [_box(face["box"], "face", "face") for face in document["faces"]]
    return (
        '<svg viewBox="0 0 1 1" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">'
        + "".join(shapes)
        + "</svg>"
    )


def _facts(meta: dict[str, Any] | None, document: dict[str, Any] | None) -> str:
    if meta is None:
        return '<p class="status-rejected">not in the catalog</p>'
    if meta["status"]["S"] == "REJECTED":
        reason = html.escape(meta["rejection_reason"]["S"])
        detail = html.escape(meta["rejection_detail"]["S"])
        return f'<p class="status-rejected">rejected: {reason}</p><p>{detail}</p>'
    assert document is not None
    labels = ", ".join(
        f"{html.escape(label['name'])} ({label['confidence']:.0f}%)" for label in document["labels"]
    )
    lines = "<br>".join(html.escape(t["text"]) for t in document["text"] if t["kind"] == "LINE")
    moderation = ", ".join(
        f"{html.escape(m['name'])} ({m['confidence']:.0f}%)" for m in document["moderation"]
    )
    flag = '<span class="flagged">flagged</span>' if document["flagged"] else "not flagged"
    notes = "<br>".join(html.escape(note) for note in document["notes"])
    return (
        "<dl>"
        f"<dt>labels</dt><dd>{labels or '-'}</dd>"
        f"<dt>text</dt><dd>{lines or '-'}</dd>"
        f"<dt>faces</dt><dd>{len(document['faces'])}</dd>"
        f"<dt>persons</dt><dd>{html.escape(', '.join(document['persons'])) or '-'}</dd>"
        f"<dt>moderation</dt><dd>{moderation or '-'}; {flag}</dd>"
        f"<dt>notes</dt><dd>{notes or '-'}</dd>"
        "</dl>"
    )


def write_report(
    rows: list[tuple[Drop, dict[str, Any] | None, dict[str, Any] | None]], target: Path
) -> Path:
    """Write the report and return its path."""
    cards = []
    for drop, meta, document in rows:
        mime = mimetypes.guess_type(drop.path.name)[0] or "application/octet-stream"
        data = base64.b64encode(drop.path.read_bytes()).decode()
        overlay = _overlay(document) if document else ""
        cards.append(
            '<section class="card">'
            f'<div class="frame"><img alt="{html.escape(drop.key)}" '
            f'src="data:{mime};base64,{data}">'
            f"{overlay}</div>"
            f"<div><h2>{html.escape(drop.key)}</h2>{_facts(meta, document)}</div>"
            "</section>"
        )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>medialens report</title>"
        f"<style>{STYLE}</style></head><body><h1>medialens, offline analysis</h1>"
        + "".join(cards)
        + "</body></html>"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page)
    return target
