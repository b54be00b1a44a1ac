"""The periodic report drawn: the domain's report (tthc.report) laid out once as blocks
(layout.py), charts by matplotlib (charts.py), written as DOCX (python-docx, word.py) or PDF
(WeasyPrint from HTML, pdf.py)."""
