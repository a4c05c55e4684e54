"""Identifier-aware terms for full-text search.

``getUserById`` and ``get_user_by_id`` should both match a question about "user by id", and
the whole identifier should still match exactly. The FTS5 column therefore holds every
identifier in lower case followed by its camelCase/snake_case parts.
"""

from __future__ import annotations

import functools
import re

__all__ = ["identifier_parts", "identifiers", "symbol_terms", "terms_for_text"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_MAX_IDENT = 80


@functools.lru_cache(maxsize=200_000)
def identifier_parts(identifier: str) -> tuple[str, ...]:
    """Lower-case parts: ``parseHTTPResponse_v2`` -> parse, http, response, v, 2."""
    parts: list[str] = []
    for piece in identifier.split("_"):
        if piece:
            parts.extend(p.lower() for p in _PARTS.findall(piece))
    return tuple(parts)


@functools.lru_cache(maxsize=200_000)
def _expansion(identifier: str) -> str:
    whole = identifier.lower().strip("_")
    parts = identifier_parts(identifier)
    if len(parts) <= 1:
        return whole
    return whole + " " + " ".join(parts)


def identifiers(text: str) -> list[str]:
    """Identifier-like words of a text, in order (keywords included)."""
    return _IDENT.findall(text)


_EXPANSIONS: dict[str, str] = {}


def terms_for_text(text: str) -> str:
    """The FTS5 document for a piece of code or prose.

    Each distinct identifier counts once (whole, then its parts): a chunk that says
    ``session`` forty times is not forty times more about sessions, and the index stays small.
    """
    tokens = list(dict.fromkeys(_IDENT.findall(text)))
    cache = _EXPANSIONS
    missing = set(tokens).difference(cache)
    if missing:
        if len(cache) > 500_000:
            cache.clear()
            missing = set(tokens)
        for ident in missing:
            cache[ident] = _expansion(ident) if len(ident) <= _MAX_IDENT else ""
    return " ".join(map(cache.__getitem__, tokens))


def symbol_terms(symbol: str) -> str:
    """Terms of a (dotted) symbol name: ``Session.get_bind`` -> session get_bind get bind."""
    return " ".join(_expansion(part) for part in symbol.split(".") if part)
