"""Vietnamese text for matching: a name found with or without its accents ("bu nho" → "Bù Nho")."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower case, without tone marks or diacritics, đ as d, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(bare.lower().split())


def matches(query: str, *texts: str) -> bool:
    """Every word of the query is in one of the texts, accents optional."""
    words = fold(query).split()
    haystack = " ".join(fold(t) for t in texts)
    return bool(words) and all(w in haystack for w in words)
