"""The HTTP/WebSocket transport (``repolens serve``), a peer of :mod:`repolens.lsp`."""

from .lanes import LaneLimits
from .server import ServerConfig, create_app, is_loopback, load_or_create_token, token_problem

__all__ = [
    "LaneLimits",
    "ServerConfig",
    "create_app",
    "is_loopback",
    "load_or_create_token",
    "token_problem",
]
