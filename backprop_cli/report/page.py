"""A self-contained HTML page: inline CSS, images as data: URIs, no script, nothing fetched from anywhere.

Readable on a phone: the viewport meta tag, images that shrink to the screen, wide tables that scroll
inside their own box. Every image carries an alt text; headings go h1 (the page) then h2 (sections).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field

CSS = """
body { font-family: system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 1100px; color: #1a1a1a;
       line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; }
.note { color: #555; font-style: italic; }
.fail { color: #b00020; font-weight: bold; }
"""


@dataclass
class Section:
    title: str
    parts: list[str] = field(default_factory=list)  # HTML fragments, already escaped


def text(value: object) -> str:
    return html.escape(str(value))


def paragraph(words: str, css: str | None = None) -> str:
    return f'<p class="{css}">{text(words)}</p>' if css else f"<p>{text(words)}</p>"


def preformatted(body: str) -> str:
    return f"<pre>{text(body)}</pre>"


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{text(alt)}">'


def table(header: Sequence[str], rows: Sequence[Sequence[object]], caption: str | None = None) -> str:
    head = "".join(f'<th scope="col">{text(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    cap = f"<caption>{text(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return text(f"{value:.4g}")
    return text(value)


def page(title: str, sections: Sequence[Section]) -> str:
    body = "".join(f"<section><h2>{text(s.title)}</h2>{''.join(s.parts)}</section>" for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{CSS}</style></head>"
        f"<body><main><h1>{text(title)}</h1>{body}</main></body></html>\n"
    )
