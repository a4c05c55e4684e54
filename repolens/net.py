"""Small network facts shared by the servers and the model client."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

__all__ = ["is_loopback", "load_or_create_token"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ``::1``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_or_create_token(path: Path) -> str:
    """The secret kept in ``path``: read, or created once (0600, URL-safe) if it is missing
    or empty. Two processes creating it at once end up with the same one (the file appears
    whole, by a hard link, or not at all)."""
    import secrets  # 5 ms of hashlib: not on every CLI start
    import tempfile

    try:
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
        path.unlink()  # empty: replace it
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        try:
            os.link(temp, path)
        except FileExistsError:  # another process was faster: use its token
            return path.read_text(encoding="utf-8").strip()
    finally:
        os.unlink(temp)
    return token
