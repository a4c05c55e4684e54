"""The models ``repolens model pull NAME`` knows: FIM-capable code GGUFs, as data.

Each entry names the Hugging Face repository, the file, and what the file is pinned by. An
entry with ``sha256`` (and ``size``) is checked against repolens's own pin: the pull fails when
the hub reports or serves anything else. An entry with ``sha256=None`` has no pin of
repolens's own: the pull checks the file against the SHA-256 and size the hub reports for it
(the ``X-Linked-Etag`` / ``X-Linked-Size`` of an LFS file), records that hash and the commit it
came from, and says that the file is pinned by the hub's hash, not by repolens's.

``revision`` is ``None`` for every entry: no commit id of these repositories was seen from
here, and a wrong one would break the pull while adding nothing to the content check the
SHA-256 already gives. The pull resolves ``main`` and records the commit the hub served.

Where the pins come from (``pin_source``):

- ``checked``: repolens downloaded this exact file and hashed it itself
  (``../shared/tools/fim-model`` checks it against Qwen's release);
- ``published``: the size and SHA-256 that several independent public projects pin for this
  file (they agree, and some quote the hub's own ``lfs.sha256``); repolens has not downloaded it
  here. The pull verifies the file against it all the same, so a wrong pin can only make a
  pull fail, never let another file through.

``template`` is the FIM template family (:mod:`repolens.completion.templates`) that the file's
name selects; a test checks that the two agree, so a pulled model's template follows from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CATALOG", "CatalogEntry", "find_entry"]

PinSource = Literal["checked", "published", "hub"]


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    name: str
    repo: str
    file: str
    template: str
    model_card: str
    license: str
    description: str
    sha256: str | None = None
    size: int | None = None
    revision: str | None = None  # None: "main", and the commit served is recorded
    pin_source: PinSource = "hub"

    @property
    def pinned_by_repolens(self) -> bool:
        """True when repolens holds the SHA-256 the file must have (not just the hub's)."""
        return self.sha256 is not None


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        name="qwen2.5-coder-0.5b",
        repo="Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        template="qwen2.5-coder",
        model_card="https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
        license="Apache-2.0",
        description="smallest real FIM model; ~100 tokens/s prefill on 2 CPU cores",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        pin_source="checked",
    ),
    CatalogEntry(
        name="qwen2.5-coder-1.5b",
        repo="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        template="qwen2.5-coder",
        model_card="https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
        license="Apache-2.0",
        description="good completions on a laptop CPU",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
        pin_source="published",
    ),
    CatalogEntry(
        name="qwen2.5-coder-3b",
        repo="Qwen/Qwen2.5-Coder-3B-Instruct-GGUF",
        file="qwen2.5-coder-3b-instruct-q4_k_m.gguf",
        template="qwen2.5-coder",
        model_card="https://huggingface.co/Qwen/Qwen2.5-Coder-3B-Instruct-GGUF",
        license="Qwen Research License",
        description="better completions; wants 4+ cores",
        sha256="724fb256bec1ff062b2f65e4569e871ad2e95ab2a3989723d1769c54294730b7",
        size=2_104_932_800,
        pin_source="published",
    ),
    CatalogEntry(
        name="qwen2.5-coder-7b",
        repo="Qwen/Qwen2.5-Coder-7B-Instruct-GGUF",
        file="qwen2.5-coder-7b-instruct-q4_k_m.gguf",
        template="qwen2.5-coder",
        model_card="https://huggingface.co/Qwen/Qwen2.5-Coder-7B-Instruct-GGUF",
        license="Apache-2.0",
        description="the best Qwen2.5-Coder for CPU use; slow without a GPU",
        sha256="509287f78cb4d4cf6b3843734733b914b2c158e43e22a7f4bf5e963800894d3c",
        size=4_683_073_536,
        pin_source="published",
    ),
    CatalogEntry(
        name="codegeex4-9b",
        repo="zai-org/codegeex4-all-9b-GGUF",  # formerly THUDM/; the hub redirects the old name
        file="codegeex4-all-9b-Q4_K_M.gguf",
        template="codegeex4",
        model_card="https://huggingface.co/zai-org/codegeex4-all-9b-GGUF",
        license="CodeGeeX4 license (see the model card)",
        description="CodeGeeX4-ALL-9B, 128K context; needs a strong CPU or a GPU",
    ),
    CatalogEntry(
        name="deepseek-coder-1.3b",
        repo="TheBloke/deepseek-coder-1.3b-base-GGUF",
        file="deepseek-coder-1.3b-base.Q4_K_M.gguf",
        template="deepseek-coder",
        model_card="https://huggingface.co/TheBloke/deepseek-coder-1.3b-base-GGUF",
        license="DeepSeek license (see the model card)",
        description="DeepSeek-Coder 1.3B base (the base model is the one trained to infill)",
    ),
)


def find_entry(name: str) -> CatalogEntry | None:
    """The catalog entry called ``name`` (case-insensitive), else None."""
    wanted = name.strip().lower()
    for entry in CATALOG:
        if entry.name == wanted:
            return entry
    return None
