"""``out/report.html``: every image with its boxes, every video with its timeline, one page."""

from __future__ import annotations

import base64
import html
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medialens_local.stack import Drop

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
.frame video { width: 100%; display: block; }
.frame svg.timeline { position: static; width: 100%; height: auto; margin-top: 8px; }
.timeline text { font-size: 11px; }
.timeline .seen { fill: #34c759; }
.timeline .word { fill: #007aff; }
.timeline .person { fill: #ff3b30; }
.timeline .moderation { fill: #b00020; }
.timeline .axis { stroke: #999; stroke-width: 1; }
"""
TIMELINE_KINDS = {"LABEL": "seen", "WORD": "word", "PERSON": "person", "MODERATION": "moderation"}
TIMELINE_ROWS = 14
ROW_HEIGHT = 16
LABEL_WIDTH = 130
TRACK_WIDTH = 290


def _timeline(document: dict[str, Any]) -> str:
    """One row per finding (labels first), a mark at every second it was seen."""
    rows = [(kind, term) for kind in TIMELINE_KINDS for term in document["terms"].get(kind, [])][
        :TIMELINE_ROWS
    ]
    duration = max(
        [document["duration_s"], *(t["seconds"][-1] + 1 for _, t in rows if t["seconds"])]
    )
    scale = TRACK_WIDTH / max(duration, 1.0)
    marks = []
    for row, (kind, term) in enumerate(rows):
        y = row * ROW_HEIGHT
        name = f"{term['value']} ({term['confidence']:.0f}%)"
        marks.append(f'<text x="0" y="{y + 11}">{html.escape(name)}</text>')
        for second in term["seconds"]:
            marks.append(
                f'<rect class="{TIMELINE_KINDS[kind]}" x="{LABEL_WIDTH + second * scale:.1f}" '
                f'y="{y + 2}" width="{max(scale - 1, 2):.1f}" height="{ROW_HEIGHT - 4}">'
                f"<title>{html.escape(term['value'])} at {second} s</title></rect>"
            )
    height = len(rows) * ROW_HEIGHT + 18
    axis_y = len(rows) * ROW_HEIGHT + 2
    marks.append(
        f'<line class="axis" x1="{LABEL_WIDTH}" y1="{axis_y}" '
        f'x2="{LABEL_WIDTH + TRACK_WIDTH}" y2="{axis_y}"/>'
        f'<text x="{LABEL_WIDTH}" y="{axis_y + 13}">0 s</text>'
        f'<text x="{LABEL_WIDTH + TRACK_WIDTH - 30}" y="{axis_y + 13}">{duration:.0f} s</text>'
    )
    return (
        f'<svg class="timeline" viewBox="0 0 {LABEL_WIDTH + TRACK_WIDTH} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(marks)}</svg>'
    )


def _video_facts(meta: dict[str, Any] | None, document: dict[str, Any]) -> str:
    status = html.escape(meta["status"]["S"]) if meta else "missing"
    jobs = ", ".join(
        f"{html.escape(name.lower())}: {html.escape(state.lower())}"
        for name, state in sorted(document["jobs"].items())
    )
    flag = '<span class="flagged">flagged</span>' if document["flagged"] else "not flagged"
    return f"<dl><dt>status</dt><dd>{status}; {flag}</dd><dt>jobs</dt><dd>{jobs}</dd></dl>"


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
    suggested = ", ".join(
        f"{html.escape(s['name'])} ({s['confidence']:.0%}, from {html.escape(s['because'])})"
        for s in document.get("suggested", [])
    )
    return (
        "<dl>"
        f"<dt>labels</dt><dd>{labels or '-'}</dd>"
        f"<dt>suggested</dt><dd>{suggested or '-'} <small>(not detected)</small></dd>"
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
        if document is not None and document.get("kind") == "video":
            cards.append(
                '<section class="card video">'
                f'<div class="frame"><video controls muted src="data:{mime};base64,{data}">'
                f"</video>{_timeline(document)}</div>"
                f"<div><h2>{html.escape(drop.key)}</h2>{_video_facts(meta, document)}</div>"
                "</section>"
            )
            continue
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
