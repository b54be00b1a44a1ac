"""The report as DOCX (python-docx): A4, Times New Roman 13, the official margins."""

from __future__ import annotations

import io

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import _Cell

from services.api.report import layout

CENTER, RIGHT, JUSTIFY = (
    WD_ALIGN_PARAGRAPH.CENTER,
    WD_ALIGN_PARAGRAPH.RIGHT,
    WD_ALIGN_PARAGRAPH.JUSTIFY,
)


def _line(cell: _Cell, text: str, *, bold: bool = False, italic: bool = False, first: bool = False,
          align: WD_ALIGN_PARAGRAPH = CENTER, size: float = 13) -> None:  # fmt: skip
    paragraph = cell.paragraphs[0] if first else cell.add_paragraph()
    paragraph.alignment = align
    run = paragraph.add_run(text)
    run.bold, run.italic, run.font.size = bold, italic, Pt(size)


def _masthead(document: DocumentObject, block: layout.Masthead) -> None:
    table = document.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(6.5), Cm(9.5)
    _line(left, block.issuer, bold=True, first=True, size=12)
    _line(left, block.number, size=12)
    _line(right, block.nation, bold=True, first=True, size=12)
    _line(right, block.motto, bold=True)
    _line(right, block.dateline, italic=True)


def _table(document: DocumentObject, block: layout.Table) -> None:
    caption = document.add_paragraph()
    caption.alignment = CENTER
    caption.add_run(block.caption).bold = True
    table = document.add_table(rows=1, cols=len(block.headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, header in zip(table.rows[0].cells, block.headers, strict=True):
        _line(cell, header, bold=True, first=True, size=11)
    for row in block.rows:
        cells = table.add_row().cells
        for index, (cell, value) in enumerate(zip(cells, row, strict=True)):
            align = RIGHT if index in block.numeric else WD_ALIGN_PARAGRAPH.LEFT
            _line(cell, value, first=True, align=align, size=11)


def _draw(document: DocumentObject, block: layout.Block) -> None:
    if isinstance(block, layout.Masthead):
        _masthead(document, block)
    elif isinstance(block, layout.Title):
        for text, bold in ((block.text, True), (block.subtitle, False)):
            paragraph = document.add_paragraph()
            paragraph.alignment = CENTER
            run = paragraph.add_run(text)
            run.bold, run.italic = bold, not bold
    elif isinstance(block, layout.Heading):
        document.add_paragraph().add_run(block.text).bold = True
    elif isinstance(block, layout.Paragraph):
        paragraph = document.add_paragraph()
        paragraph.alignment = JUSTIFY
        paragraph.paragraph_format.first_line_indent = Cm(1)
        paragraph.add_run(block.text).italic = block.italic
    elif isinstance(block, layout.Table):
        _table(document, block)
    elif isinstance(block, layout.Picture):
        document.add_picture(io.BytesIO(block.png), width=Cm(16))
        document.paragraphs[-1].alignment = CENTER
        caption = document.add_paragraph()
        caption.alignment = CENTER
        caption.add_run(block.caption).italic = True
    else:
        table = document.add_table(rows=1, cols=2)
        left, right = table.rows[0].cells
        _line(left, block.lines[0], bold=True, italic=True, first=True,
              align=WD_ALIGN_PARAGRAPH.LEFT, size=12)  # fmt: skip
        for text in block.lines[1:]:
            _line(left, text, align=WD_ALIGN_PARAGRAPH.LEFT, size=11)
        _line(right, block.signer, bold=True, first=True)


def to_docx(blocks: list[layout.Block]) -> bytes:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = (Cm(x) for x in layout.PAGE_CM)
    (section.top_margin, section.right_margin, section.bottom_margin, section.left_margin) = (
        Cm(m) for m in layout.MARGINS_CM
    )
    normal = document.styles["Normal"]
    normal.font.name = layout.FONT
    normal.font.size = Pt(layout.FONT_PT)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), layout.FONT)
    for block in blocks:
        _draw(document, block)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
