"""The report as PDF: the blocks as HTML, printed by WeasyPrint (Pango lays out the text)."""

from __future__ import annotations

import base64
from html import escape

from weasyprint import HTML

from services.api.report import layout

_MARGINS = " ".join(f"{m:g}cm" for m in layout.MARGINS_CM)
# Liberation Serif is Times New Roman's metric twin on Debian.
_PAGE = f"""
@page {{ size: A4; margin: {_MARGINS};
        @bottom-center {{ content: counter(page); font-size: 10pt; }} }}
body {{ font-family: "{layout.FONT}", "Liberation Serif", "DejaVu Serif", serif;
       font-size: {layout.FONT_PT}pt; line-height: 1.3; }}"""
STYLE = (
    _PAGE
    + """
.masthead { width: 100%; border-collapse: collapse; margin-bottom: 1em; }
.masthead td { text-align: center; vertical-align: top; border: none; font-size: 12pt; }
.masthead .left { width: 36%; } .motto { font-size: 13pt; }
.masthead .motto:after { content: ""; display: block; width: 55%; margin: 2pt auto 0;
                         border-top: 0.6pt solid black; }
.dateline { font-style: italic; font-size: 13pt; padding-top: 6pt; }
h1 { text-align: center; font-size: 13pt; margin: 1em 0 0; }
.subtitle { text-align: center; font-style: italic; margin: 0 0 1em; }
h2 { font-size: 13pt; margin: 1em 0 0.4em; }
p { text-align: justify; text-indent: 1cm; margin: 0 0 0.4em; }
.caption { text-align: center; font-weight: bold; text-indent: 0; margin-top: 0.8em; }
table.data { width: 100%; border-collapse: collapse; font-size: 10pt; }
table.data th, table.data td { border: 0.6pt solid black; padding: 1.5pt 3pt;
                               overflow-wrap: anywhere; }
table.data th { text-align: center; } td.n { text-align: right; white-space: nowrap; }
thead { display: table-header-group; } tr { page-break-inside: avoid; }
figure { margin: 0.8em 0; text-align: center; page-break-inside: avoid; }
figure img { width: 16cm; } figcaption { font-style: italic; }
.recipients { width: 100%; margin-top: 2em; page-break-inside: avoid; }
.recipients td { vertical-align: top; width: 50%; font-size: 11pt; }
.recipients .signer { text-align: center; font-weight: bold; font-size: 13pt; }
"""
)


def _table(block: layout.Table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in block.headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(v)}</td>' if i in block.numeric else f"<td>{escape(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in block.rows
    )
    return (
        f'<p class="caption">{escape(block.caption)}</p>'
        f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def _html(block: layout.Block) -> str:
    if isinstance(block, layout.Masthead):
        return (
            '<table class="masthead"><tr>'
            f'<td class="left"><b>{escape(block.issuer)}</b><br>{escape(block.number)}</td>'
            f"<td><b>{escape(block.nation)}</b><br>"
            f'<b class="motto">{escape(block.motto)}</b>'
            f'<div class="dateline">{escape(block.dateline)}</div></td>'
            "</tr></table>"
        )
    if isinstance(block, layout.Title):
        return f'<h1>{escape(block.text)}</h1><p class="subtitle">{escape(block.subtitle)}</p>'
    if isinstance(block, layout.Heading):
        return f"<h2>{escape(block.text)}</h2>"
    if isinstance(block, layout.Paragraph):
        text = escape(block.text)
        return f"<p><i>{text}</i></p>" if block.italic else f"<p>{text}</p>"
    if isinstance(block, layout.Table):
        return _table(block)
    if isinstance(block, layout.Picture):
        data = base64.b64encode(block.png).decode("ascii")
        return (
            f'<figure><img src="data:image/png;base64,{data}">'
            f"<figcaption>{escape(block.caption)}</figcaption></figure>"
        )
    first, *rest = block.lines
    lines = "<br>".join(escape(line) for line in rest)
    return (
        '<table class="recipients"><tr>'
        f"<td><b><i>{escape(first)}</i></b><br>{lines}</td>"
        f'<td class="signer">{escape(block.signer)}</td></tr></table>'
    )


def to_html(blocks: list[layout.Block]) -> str:
    body = "\n".join(_html(b) for b in blocks)
    return (
        '<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def to_pdf(blocks: list[layout.Block]) -> bytes:
    pdf: bytes = HTML(string=to_html(blocks)).write_pdf()  # bytes when given no target
    return pdf
