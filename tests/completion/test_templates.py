"""One golden prompt per template (regenerate with REPOLENS_UPDATE_GOLDEN=1 and review the
diff), and the model-name detection rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repolens.completion.templates import TEMPLATES, choose_template, detect_template
from repolens.types import Snippet

GOLDEN = Path(__file__).parent / "golden"

SNIPPETS = [
    Snippet(
        "app/models/user.py",
        19,
        30,
        "class User(Person):\n    def is_admin(self) -> bool: ...",
        14,
        "type",
    ),
    Snippet(
        "app/util.py",
        6,
        8,
        'def render_template(name: str, **values: str) -> str:\n    """Fill it."""\n    ...',
        20,
        "import",
    ),
]
PREFIX = "from app import User\n\n\ndef check(user: User) -> bool:\n    return user."
SUFFIX = "\n\n\nprint(check(User('a', 'b')))\n"


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_golden_prompt(name: str) -> None:
    template = TEMPLATES[name]
    prompt = template.render(
        repo_name="python_app",
        path="main.py",
        language="python",
        comment="#",
        snippets=SNIPPETS,
        prefix=PREFIX,
        suffix=SUFFIX,
        multiline=False,
    )
    golden = GOLDEN / f"{name}.txt"
    if os.environ.get("REPOLENS_UPDATE_GOLDEN") == "1":
        golden.write_text(prompt, encoding="utf-8")
    assert prompt == golden.read_text(encoding="utf-8")
    # the cursor is where the model continues: nothing of ours after the middle marker
    if template.supports_suffix:
        assert prompt.endswith(template.middle_marker + template.wrap_end) or name == "codegeex4"
    else:
        assert prompt.endswith(PREFIX)
    # snippets come first, current file last (prefix-cache friendly)
    assert prompt.index("render_template") < prompt.index("def check")


def test_every_template_documents_its_model_and_stops() -> None:
    for t in TEMPLATES.values():
        assert t.model_card and t.stop


@pytest.mark.parametrize(
    ("model", "template"),
    [
        ("Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf", "qwen2.5-coder"),
        ("Qwen/Qwen2.5-Coder-1.5B", "qwen2.5-coder"),
        ("codegeex4-all-9b", "codegeex4"),
        ("bigcode/starcoder2-3b", "starcoder2"),
        ("deepseek-coder-6.7b-base", "deepseek-coder"),
        ("mistralai/Codestral-22B-v0.1", "codestral"),
        ("codellama-7b.Q4_K_M.gguf", "codellama"),
    ],
)
def test_detection(model: str, template: str) -> None:
    choice = detect_template(model)
    assert choice.template.name == template
    assert choice.warning is None


def test_qwen_coder_wins_over_plain_qwen() -> None:
    assert detect_template("qwen2.5-coder-1.5b").template.name == "qwen2.5-coder"
    plain = detect_template("Qwen2.5-7B-Instruct")
    assert plain.template.name == "prefix-only"
    assert plain.warning and "no fill-in-the-middle tokens" in plain.warning


def test_instruct_model_without_fim_warns() -> None:
    choice = detect_template("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert choice.template.name == "prefix-only"
    assert choice.warning and "Qwen2.5-Coder" in choice.warning


def test_explicit_template_and_unknown_names() -> None:
    assert choose_template("starcoder2", "whatever").template.name == "starcoder2"
    bad = choose_template("nope", "qwen2.5-coder-7b")
    assert (
        bad.template.name == "qwen2.5-coder" and bad.warning and "unknown template" in bad.warning
    )
    unknown = detect_template("my-private-model")
    assert unknown.warning and "model.template" in unknown.warning
