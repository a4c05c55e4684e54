"""repolens: a local-first, repository-aware coding assistant backend."""

__version__ = "0.1.0"
