"""Fill-in-the-middle prompt templates, one per model family.

Each template knows how its model family wants repository context (a repo-level file format
where the model was trained on one, comment-headed snippets otherwise), the prefix and the
suffix, and which stop strings end a completion. Templates are chosen by configuration or
detected from the model name; detection order is explicit so ``qwen2.5-coder`` wins over
``qwen``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..types import Snippet

__all__ = [
    "TEMPLATES",
    "FimTemplate",
    "TemplateChoice",
    "choose_template",
    "detect_template",
]


@dataclass(frozen=True)
class FimTemplate:
    """How one model family is prompted for infilling."""

    name: str
    model_card: str
    prefix_marker: str
    suffix_marker: str
    middle_marker: str
    stop: tuple[str, ...]
    suffix_first: bool = False  # SPM order (suffix before prefix)
    repo_header: str = ""  # "{repo}" formatted once before the context files
    file_header: str = ""  # "{path}" formatted before each context file; "" = comment header
    supports_suffix: bool = True
    wrap_start: str = ""  # text before everything (chat wrappers like CodeGeeX4's <|user|>)
    wrap_end: str = ""  # text after the middle marker

    def render(
        self,
        *,
        repo_name: str,
        path: str,
        language: str,
        comment: str,
        snippets: Sequence[Snippet],
        prefix: str,
        suffix: str,
        multiline: bool,
    ) -> str:
        """The whole prompt; snippets first (stable), then the current file, cursor last."""
        if self.name == "codegeex4":
            return _render_codegeex4(self, path, language, snippets, prefix, suffix, multiline)
        parts: list[str] = [self.wrap_start]
        if self.file_header:
            if self.repo_header:
                parts.append(self.repo_header.format(repo=repo_name))
            for s in snippets:
                parts.append(self.file_header.format(path=s.path))
                parts.append(s.text.rstrip("\n") + "\n")
            parts.append(self.file_header.format(path=path))
        else:
            for s in snippets:
                parts.append(_comment_header(comment, s))
                parts.append(s.text.rstrip("\n") + "\n\n")
            if snippets:
                parts.append(f"{comment} Path: {path}\n")
        if not self.supports_suffix:
            parts.append(prefix)
        elif self.suffix_first:
            parts.append(f"{self.suffix_marker}{suffix}{self.prefix_marker}{prefix}")
            parts.append(self.middle_marker)
        else:
            parts.append(f"{self.prefix_marker}{prefix}{self.suffix_marker}{suffix}")
            parts.append(self.middle_marker)
        parts.append(self.wrap_end)
        return "".join(parts)


def _comment_header(comment: str, snippet: Snippet) -> str:
    return f"{comment} Path: {snippet.path} (lines {snippet.start_line}-{snippet.end_line})\n"


_LANGUAGE_TAGS = {
    "python": "Python",
    "javascript": "JavaScript",
    "typescript": "TypeScript",
    "tsx": "TypeScript",
    "go": "Go",
    "rust": "Rust",
    "java": "Java",
    "c": "C",
    "cpp": "C++",
}


def _render_codegeex4(
    t: FimTemplate,
    path: str,
    language: str,
    snippets: Sequence[Snippet],
    prefix: str,
    suffix: str,
    multiline: bool,
) -> str:
    """CodeGeeX4's cross-file infilling format (suffix first, ###REFERENCE blocks)."""
    parts = ["<|user|>\n"]
    for s in snippets:
        parts.append(f"###REFERENCE:\n###PATH:{s.path}\n{s.text.rstrip()}\n")
    parts.append(f"###PATH:{path}\n###LANGUAGE:{_LANGUAGE_TAGS.get(language, '')}\n")
    parts.append(f"###MODE:{'BLOCK' if multiline else 'LINE'}\n")
    parts.append(f"{t.suffix_marker}{suffix}{t.prefix_marker}{prefix}{t.middle_marker}")
    parts.append("<|assistant|>\n")
    return "".join(parts)


TEMPLATES: dict[str, FimTemplate] = {
    t.name: t
    for t in [
        FimTemplate(
            name="qwen2.5-coder",
            model_card="https://huggingface.co/Qwen/Qwen2.5-Coder-7B",
            prefix_marker="<|fim_prefix|>",
            suffix_marker="<|fim_suffix|>",
            middle_marker="<|fim_middle|>",
            stop=(
                "<|endoftext|>",
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
                "<|fim_pad|>",
                "<|repo_name|>",
                "<|file_sep|>",
                "<|im_start|>",
                "<|im_end|>",
            ),
            repo_header="<|repo_name|>{repo}\n",
            file_header="<|file_sep|>{path}\n",
        ),
        FimTemplate(
            name="codegeex4",
            model_card="https://github.com/THUDM/CodeGeeX4/blob/main/guides/Infilling_guideline.md",
            prefix_marker="<|code_prefix|>",
            suffix_marker="<|code_suffix|>",
            middle_marker="<|code_middle|>",
            stop=("<|endoftext|>", "<|user|>", "<|observation|>", "<|code_middle|>"),
            suffix_first=True,
        ),
        FimTemplate(
            name="starcoder2",
            model_card="https://huggingface.co/bigcode/starcoder2-15b",
            prefix_marker="<fim_prefix>",
            suffix_marker="<fim_suffix>",
            middle_marker="<fim_middle>",
            stop=("<|endoftext|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>", "<file_sep>"),
            repo_header="<repo_name>{repo}",
            file_header="<file_sep>{path}\n",
        ),
        FimTemplate(
            name="deepseek-coder",
            model_card="https://huggingface.co/deepseek-ai/deepseek-coder-6.7b-base",
            prefix_marker="<｜fim▁begin｜>",
            suffix_marker="<｜fim▁hole｜>",
            middle_marker="<｜fim▁end｜>",
            stop=(
                "<｜end▁of▁sentence｜>",
                "<｜fim▁begin｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁end｜>",
                "<|EOT|>",
            ),
        ),
        FimTemplate(
            name="codestral",
            model_card="https://huggingface.co/mistralai/Codestral-22B-v0.1",
            prefix_marker="[PREFIX]",
            suffix_marker="[SUFFIX]",
            middle_marker="",
            stop=("</s>", "[PREFIX]", "[SUFFIX]", "[INST]"),
            suffix_first=True,
        ),
        FimTemplate(
            name="codellama",
            model_card="https://huggingface.co/codellama/CodeLlama-7b-hf",
            prefix_marker="<PRE> ",
            suffix_marker=" <SUF>",
            middle_marker=" <MID>",
            stop=("<EOT>", "</s>", "<PRE>", "<SUF>", "<MID>"),
        ),
        FimTemplate(
            name="prefix-only",
            model_card="(models without fill-in-the-middle tokens, e.g. SmolLM2)",
            prefix_marker="",
            suffix_marker="",
            middle_marker="",
            stop=("<|endoftext|>", "<|im_end|>", "<|im_start|>", "</s>"),
            supports_suffix=False,
        ),
    ]
}

# Name patterns, checked in this order: the first match wins.
_DETECTION: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"qwen[-_ ]?2(\.5)?[-_ ]?coder|qwen[-_ ]?coder|codeqwen", re.I), "qwen2.5-coder"),
    (re.compile(r"codegeex[-_ ]?4", re.I), "codegeex4"),
    (re.compile(r"starcoder", re.I), "starcoder2"),
    (re.compile(r"deepseek[-_ ]?coder", re.I), "deepseek-coder"),
    (re.compile(r"codestral", re.I), "codestral"),
    (re.compile(r"code[-_ ]?llama", re.I), "codellama"),
]
_NO_FIM = re.compile(
    r"smollm|qwen|llama|mistral|phi|gemma|instruct|chat|gpt|hermes|tinyllama", re.I
)


@dataclass(frozen=True)
class TemplateChoice:
    template: FimTemplate
    warning: str | None = None


def detect_template(model_name: str) -> TemplateChoice:
    """The template for a model name, with a warning when the model has no FIM training."""
    for pattern, name in _DETECTION:
        if pattern.search(model_name):
            choice = TEMPLATES[name]
            warning = None
            if re.search(r"instruct|chat", model_name, re.I) and name in ("codellama",):
                warning = (
                    f"{model_name} is an instruct model; Code Llama's infilling works only with "
                    "the base models — suggestions may be poor"
                )
            return TemplateChoice(choice, warning)
    if _NO_FIM.search(model_name):
        return TemplateChoice(
            TEMPLATES["prefix-only"],
            f"{model_name} has no fill-in-the-middle tokens: completions see only the code "
            "before the cursor and are often weak. For real completions use a code model "
            "trained for infilling (`repolens model pull qwen2.5-coder-1.5b`, or Qwen2.5-Coder "
            "1.5B-7B, CodeGeeX4, StarCoder2, DeepSeek-Coder) or set model.template if yours is "
            "one under another name.",
        )
    return TemplateChoice(
        TEMPLATES["prefix-only"],
        f"no fill-in-the-middle template is known for {model_name!r}; using prefix-only "
        f"prompts. Set model.template to one of: {', '.join(TEMPLATES)}",
    )


def choose_template(setting: str, model_name: str) -> TemplateChoice:
    """``setting`` is a template name or "auto" (detect from ``model_name``)."""
    if setting and setting != "auto":
        template = TEMPLATES.get(setting)
        if template is None:
            return TemplateChoice(
                detect_template(model_name).template,
                f"unknown template {setting!r} (known: {', '.join(TEMPLATES)}); detected one "
                "from the model name instead",
            )
        return TemplateChoice(template)
    return detect_template(model_name)
