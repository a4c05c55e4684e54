"""The one token counter: exact counts remembered in a bounded LRU, batches, the calibrated
estimate, and counts kept between processes in a file per model."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import numpy as np

from repolens.backends.base import ModelInfo
from repolens.tokens import TokenCounter, counts_file


class WordTokenizer:
    """One token per word; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def count(self, text: str) -> int:
        self.calls += 1
        return len(text.split())

    def count_many(self, texts: list[str]) -> list[int]:
        return [self.count(t) for t in texts]


def info(name: str = "coder.gguf", location: str = "/models/coder.gguf") -> ModelInfo:
    return ModelInfo(backend="embedded", name=name, context_window=4096, location=location)


def test_counts_are_remembered_in_a_bounded_lru() -> None:
    tok = WordTokenizer()
    counter = TokenCounter(tok, size=2)
    assert counter("a b") == 2 and counter("a b") == 2
    assert tok.calls == 1
    counter("c")
    counter("a b")  # most recently used again
    counter("d e f")  # evicts "c", the least recently used
    calls = tok.calls
    assert counter("a b") == 2 and tok.calls == calls
    assert counter("c") == 1 and tok.calls == calls + 1
    assert counter("") == 0 and counter.count_many(["", "x"]) == [0, 1]


def test_count_many_counts_only_what_is_new_on_threads() -> None:
    tok = WordTokenizer()
    counter = TokenCounter(tok)
    texts = [f"w{i} " * i for i in range(1, 9)]
    assert counter.count_many(texts) == list(range(1, 9))
    assert tok.calls == 8
    assert counter.count_many([*texts, "new one"]) == [*range(1, 9), 2]
    assert tok.calls == 9
    assert counter.counted_chars == sum(len(t) for t in texts) + len("new one")


def test_estimate_errs_high_until_and_after_calibration() -> None:
    counter = TokenCounter(WordTokenizer())
    line = "x" * 26
    assert counter.estimate(line) == int(26 / 2.6) + 1  # 2.6 characters a token, uncalibrated
    assert counter.estimate("") == 0
    counter("a b")
    assert counter.estimate("a b") == 2  # a short text already counted: its exact count
    word = "abcd "  # 5 characters per token
    for i in range(50):
        counter(word * 20 + str(i))  # long texts calibrate: 101-102 characters, 21 tokens
    ratio = counter._counts.chars / counter._counts.tokens
    text = "y" * 1000
    assert counter.estimate(text) == int(1000 / (ratio * 0.85)) + 1
    assert counter.estimate(text) > 1000 / ratio  # still errs high


def test_counts_and_calibration_survive_a_save_and_load(tmp_path: Path) -> None:
    path = tmp_path / "counts.npz"
    first = TokenCounter(WordTokenizer())
    texts = ["one two", "three four five " * 10, "six"]
    first.count_many(texts)
    first.save(path)
    tok = WordTokenizer()
    second = TokenCounter(tok)
    second.load(path)
    assert second.count_many(texts) == [2, 30, 1] and tok.calls == 0
    assert second.estimate("z" * 100) == first.estimate("z" * 100)
    # a smaller counter keeps the most recently used of what was saved
    small = TokenCounter(tok, size=1)
    small.load(path)
    assert small("six") == 1 and tok.calls == 0
    assert small("one two") == 2 and tok.calls == 1


def test_a_missing_or_broken_file_is_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    old = tmp_path / "old.npz"
    np.savez(old, something=np.array([1]))
    for path in (tmp_path / "missing.npz", broken, old):
        counter = TokenCounter(WordTokenizer(), path=path)
        assert counter("a b") == 2


def test_a_counter_with_a_file_saves_when_dropped_and_loads_when_made(tmp_path: Path) -> None:
    path = tmp_path / "counts.npz"
    counter = TokenCounter(WordTokenizer(), path=path)
    counter("a b c")
    del counter
    gc.collect()
    assert path.exists()
    tok = WordTokenizer()
    again = TokenCounter(tok, path=path)
    assert again("a b c") == 3 and tok.calls == 0
    before = path.stat().st_mtime_ns
    again.save(path)  # nothing new: not written again
    assert path.stat().st_mtime_ns == before


def test_a_counter_with_a_file_saves_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "counts.npz"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from repolens.tokens import TokenCounter\n"
        "class T:\n"
        "    def count(self, t): return len(t.split())\n"
        "    def count_many(self, ts): return [self.count(t) for t in ts]\n"
        "c = TokenCounter(T(), path=Path(sys.argv[1]))\n"
        "c('kept between processes')\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    tok = WordTokenizer()
    assert TokenCounter(tok, path=path)("kept between processes") == 3 and tok.calls == 0


def test_each_model_has_its_own_file(tmp_path: Path) -> None:
    store = tmp_path / "repo.sqlite"
    a = counts_file(store, info(), "qa")
    assert a == counts_file(store, info(), "qa")
    assert a.parent == tmp_path and a.name.startswith("repo.sqlite.qa-tokens-coder_gguf-")
    assert counts_file(store, info(), "completion") != a
    assert counts_file(store, info(name="coder-gguf"), "qa") != a  # same once sanitized
    assert counts_file(store, info(location="/other/coder.gguf"), "qa") != a
    server = ModelInfo("openai", "coder.gguf", 4096, "http://127.0.0.1:8080/v1")
    assert counts_file(store, server, "qa") != a
    # another file under the same path and name
    gguf = tmp_path / "coder.gguf"
    gguf.write_bytes(b"one")
    before = counts_file(store, info(location=str(gguf)), "qa")
    gguf.write_bytes(b"other model")
    assert counts_file(store, info(location=str(gguf)), "qa") != before


def test_a_tokenizer_that_batches_gets_the_texts_not_remembered_in_one_call() -> None:
    class Batching(WordTokenizer):
        batches_counts = True

        def __init__(self) -> None:
            super().__init__()
            self.batches: list[list[str]] = []

        def count_many(self, texts: list[str]) -> list[int]:
            self.batches.append(list(texts))
            return [len(t.split()) for t in texts]

    tok = Batching()
    counter = TokenCounter(tok)
    assert counter("a") == 1  # remembered: not asked again
    assert counter.count_many(["a", "b c", "d e f", "", "g"]) == [1, 2, 3, 0, 1]
    assert tok.batches == [["b c", "d e f", "g"]]
    assert tok.calls == 1  # the single count() above; the rest went in one batch
    assert counter.count_many(["b c", "g"]) == [2, 1] and len(tok.batches) == 1
