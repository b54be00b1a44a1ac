"""Thủ tục hành chính: the domain of Decision 766/QĐ-TTg scores, pure Python, no I/O."""
