"""The catalog is data that must stay honest: each entry's template follows from its file name,
pins are well-formed, and what repolens pins itself is exactly what it knows."""

from __future__ import annotations

import re

from repolens.completion.templates import TEMPLATES, detect_template
from repolens.modelstore import CATALOG, find_entry

QWEN_05B_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


def test_names_are_unique_and_found_case_insensitively() -> None:
    names = [e.name for e in CATALOG]
    assert len(names) == len(set(names))
    assert find_entry("Qwen2.5-Coder-1.5B") is find_entry("qwen2.5-coder-1.5b") is not None
    assert find_entry("nope") is None


def test_the_issue_s_families_are_there() -> None:
    names = {e.name for e in CATALOG}
    assert {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-3b"} <= names
    assert {"qwen2.5-coder-7b", "codegeex4-9b"} <= names
    assert any(e.template in ("starcoder2", "deepseek-coder") for e in CATALOG)


def test_each_template_follows_from_the_file_name_and_can_infill() -> None:
    for entry in CATALOG:
        detected = detect_template(entry.file)
        assert detected.template.name == entry.template, entry
        assert detected.warning is None, entry
        assert TEMPLATES[entry.template].supports_suffix, entry


def test_pins_are_well_formed_and_labelled() -> None:
    for entry in CATALOG:
        assert entry.file.endswith(".gguf") and re.fullmatch(r"[\w.-]+/[\w.-]+", entry.repo)
        assert entry.model_card.startswith("https://"), entry
        if entry.sha256 is None:
            assert entry.pin_source == "hub" and not entry.pinned_by_repolens, entry
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), entry
            assert entry.size and entry.size > 100_000_000, entry
            assert entry.pin_source in ("checked", "published"), entry
        assert entry.revision is None, "no commit id was seen from here: resolve and record"


def test_only_the_file_repolens_hashed_itself_is_marked_checked() -> None:
    checked = [e for e in CATALOG if e.pin_source == "checked"]
    assert [(e.name, e.sha256, e.size) for e in checked] == [
        ("qwen2.5-coder-0.5b", QWEN_05B_SHA256, 491_400_064)
    ]
    # and at least one entry relies on the hub's hash, as the issue's data allows
    assert any(e.sha256 is None for e in CATALOG)
