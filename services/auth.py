"""API keys scoped to subtrees of units: who may send (or read) what.

A key is a high-entropy random string handed to one integration (the province's one-stop-shop,
a district's kiosk vendor, a dashboard viewer). We keep only its SHA-256: with 256 random bits a
fast hash is as safe as a slow one and keeps each request cheap. Each key is scoped to one or
more units; it covers their subtrees (today's units under them and the historical units merged
into them, see :meth:`tthc.units.UnitTree.subtree`). A key may also be bound to CloudEvents
``source`` values, so that one integration cannot write (or shadow, by taking its ids first)
another integration's events.

Key documents, TOML or JSON::

    [[keys]]
    name = "mot-cua-tinh"              # the integration; shown in logs, never the key
    sha256 = "9f86d0…"                 # hash_key(key)
    scope = "75"                       # or a list: ["26068", "26071"]
    sources = ["mot-cua", "kiosk/*"]   # optional; "*" at the end matches a prefix
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tthc.units import UnitTree

__all__ = [
    "ApiKey",
    "Grant",
    "KeyRing",
    "generate_key",
    "hash_key",
    "load_keys",
    "parse_keys",
    "weak_key",
]

KEY_PREFIX = "tthc_"

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$", to_lower=True)]


def generate_key() -> str:
    """A new random key (256 bits): give it to the integration, store only ``hash_key`` of it."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


MIN_KEY_BITS = 128  # an unsalted fast hash is safe only for keys no one can guess


def weak_key(key: str) -> str | None:
    """Why ``key`` is too guessable to be stored as a plain SHA-256, or None.

    An upper bound of its entropy: its length times the bits of the character classes it
    uses, counted only for distinct characters (``aaaa…`` or a word repeated is not random).
    """
    classes = [
        (str.islower, 26),
        (str.isupper, 26),
        (str.isdigit, 10),
        (lambda c: not c.isalnum(), 32),
    ]
    alphabet = sum(size for test, size in classes if any(test(c) for c in key))
    distinct = len(set(key))
    bits = min(len(key), distinct * 2) * math.log2(max(alphabet, 2))
    if len(key) < 24 or distinct < 12 or bits < MIN_KEY_BITS:
        return (
            f"khóa quá dễ đoán / the key is too guessable (at most {bits:.0f} bits; "
            f"{MIN_KEY_BITS} needed): make one with `tthc keys new`"
        )
    return None


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256, lowercase hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKey(BaseModel):
    """One configured key: its name, its hash and what it may touch."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    sha256: Sha256Hex
    scope: tuple[str, ...] = Field(min_length=1, description="unit codes whose subtrees it covers")
    sources: tuple[str, ...] | None = Field(
        None, description="allowed CloudEvents sources; a trailing '*' matches a prefix"
    )

    @field_validator("scope", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    def allows_source(self, source: str) -> bool:
        if self.sources is None:
            return True
        return any(_matches(s, source) for s in self.sources)


def _matches(pattern: str, source: str) -> bool:
    return source.startswith(pattern[:-1]) if pattern.endswith("*") else source == pattern


class Grant:
    """An authenticated key with its scope expanded to unit codes, and the sources other keys
    are bound to (which a key bound to none may not use: it would take their event ids)."""

    __slots__ = ("key", "reserved", "units")

    def __init__(self, key: ApiKey, units: frozenset[str], reserved: tuple[str, ...] = ()) -> None:
        self.key = key
        self.units = units
        self.reserved = reserved

    @property
    def name(self) -> str:
        return self.key.name

    def covers(self, unit: str) -> bool:
        """True when ``unit`` (a code of the tree, current or historical) is in scope."""
        return unit in self.units

    def allows_source(self, source: str) -> bool:
        if self.key.sources is not None:
            return self.key.allows_source(source)
        return not any(_matches(pattern, source) for pattern in self.reserved)


class KeyRing:
    """The configured keys, checked against a unit tree once, looked up in constant time."""

    def __init__(self, keys: Iterable[ApiKey], tree: UnitTree) -> None:
        self._grants: list[tuple[bytes, Grant]] = []
        names: set[str] = set()
        digests: set[str] = set()
        keys = list(keys)
        bound = tuple(sorted({s for key in keys for s in key.sources or ()}))
        for key in keys:
            if key.name in names:
                raise ValueError(f"API key {key.name!r} is configured twice")
            if key.sha256 in digests:
                raise ValueError(f"API key {key.name!r} has the same hash as another key")
            names.add(key.name)
            digests.add(key.sha256)
            units: set[str] = set()
            for code in key.scope:
                if code not in tree:
                    raise ValueError(
                        f"API key {key.name!r}: scope unit {code!r} is not in the tree"
                    )
                units |= tree.subtree(code)
            grant = Grant(key, frozenset(units), () if key.sources is not None else bound)
            self._grants.append((bytes.fromhex(key.sha256), grant))

    def __len__(self) -> int:
        return len(self._grants)

    def authenticate(self, presented: str) -> Grant | None:
        """The grant of a presented key, or None. Compares with every key, in constant time."""
        digest = hashlib.sha256(presented.encode("utf-8", "surrogatepass")).digest()
        found: Grant | None = None
        for stored, grant in self._grants:
            if hmac.compare_digest(stored, digest):
                found = grant
        return found


def parse_keys(document: Mapping[str, Any] | list[Any]) -> list[ApiKey]:
    """Keys from a decoded document: ``{"keys": [...]}`` or a bare list."""
    items = document.get("keys", []) if isinstance(document, Mapping) else document
    if not isinstance(items, list):
        raise ValueError("a key document needs a 'keys' list")
    return [ApiKey.model_validate(item) for item in items]


def load_keys(path: str | Path) -> list[ApiKey]:
    """Keys from a TOML (``*.toml``) or JSON file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    document = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    return parse_keys(document)
