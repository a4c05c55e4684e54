"""An LRU of completions keyed on the text around the cursor.

Besides exact hits it serves a user *typing through* a shown suggestion: if the new prefix is
an old prefix plus characters that match the start of that old suggestion, the rest of the
suggestion is still right and needs no model call.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["CompletionCache"]

_PREFIX_KEY_CHARS = 4000
_SUFFIX_KEY_CHARS = 1000


def _key(path: str, prefix: str, suffix: str) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(path.encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(prefix[-_PREFIX_KEY_CHARS:].encode("utf-8", "surrogatepass"))
    h.update(b"\0")
    h.update(suffix[:_SUFFIX_KEY_CHARS].encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@dataclass
class _Shown:
    prefix: str
    suffix: str
    text: str


class CompletionCache:
    def __init__(self, capacity: int = 256) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._shown: dict[str, _Shown] = {}  # per path: the last suggestion
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, path: str, prefix: str, suffix: str) -> str | None:
        with self._lock:
            key = _key(path, prefix, suffix)
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            shown = self._shown.get(path)
            if shown is None or not shown.text or not prefix.startswith(shown.prefix):
                return None
            typed = prefix[len(shown.prefix) :]
            if (
                typed
                and shown.text.startswith(typed)
                and len(typed) < len(shown.text)
                and suffix == shown.suffix
            ):
                return shown.text[len(typed) :]
            return None

    def put(self, path: str, prefix: str, suffix: str, text: str) -> None:
        with self._lock:
            key = _key(path, prefix, suffix)
            self._items[key] = text
            self._items.move_to_end(key)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)
            self._shown[path] = _Shown(prefix, suffix, text)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._shown.clear()
