"""Code actions on a range of a file: explain it, add comments and docstrings, translate it.

Each action sends the model the range and the repository context it needs: the definitions
the range uses (resolved through the index, so an imported helper's real definition, not a
look-alike) and the definition that encloses the range. The language server's commands and
the HTTP server call these; lines are 1-based and inclusive.

:func:`add_comments` returns code for exactly the requested lines and guarantees the code
itself is unchanged: both versions are parsed with tree-sitter and must have the same syntax
tree once comments and docstrings are set aside. When the model changed anything else,
:class:`MangledCodeError` says what, and carries the original lines to fall back to.

No secret goes to the model: a range of a file that is a secret as a whole (``.env``, a
private key, a credentials file) is refused, secret values in the range are sent as
``<redacted:kind>`` (and put back in the commented or translated code the user gets), and the
context is packed by :func:`repolens.chat.packing.pack`, which filters the same way.
:func:`explain_prompt`, :func:`comments_prompt` and :func:`translate_prompt` build exactly
what each action sends, without calling the model.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..backends.base import CancelToken, ChatMessage, GenerationParams
from ..completion.engine import resolve_position
from ..errors import RepolensError, UsageError
from ..indexer import Definition, LanguageSpec, language_for_path
from ..indexer.build import facts_for_text
from ..indexer.discovery import file_kind
from ..indexer.languages import parser_for
from ..search.units import definitions_used
from ..secret_filter import Redaction, redact, secret_file
from ..types import Snippet
from .overview import fence_language
from .packing import PackItem, TokenCounter, pack, render_block
from .prompts import comments_messages, explain_messages, extract_code, translate_messages

if TYPE_CHECKING:
    from tree_sitter import Node

    from .qa import Repository  # what an action needs of the opened repository

__all__ = [
    "ActionPrompt",
    "CodeRange",
    "MangledCodeError",
    "add_comments",
    "check_only_comments",
    "comments_prompt",
    "explain",
    "explain_prompt",
    "load_range",
    "range_context",
    "translate",
    "translate_prompt",
]

_CONTEXT_CAP = 6000  # tokens of repository context for an action
_PROMPT_OVERHEAD = 400  # system prompt, instructions, template markers


class MangledCodeError(RepolensError):
    """The model changed code it was only asked to comment. Nothing should be applied:
    ``original`` holds the lines as they were, ``proposed`` what the model returned."""

    def __init__(self, message: str, original: str, proposed: str) -> None:
        super().__init__(message)
        self.original = original
        self.proposed = proposed


@dataclass(frozen=True)
class CodeRange:
    """Lines ``start_line``..``end_line`` (1-based, inclusive) of a repository file."""

    path: str  # relative to the repository root, with /
    start_line: int
    end_line: int
    code: str  # the lines, joined with "\n" (no trailing newline)
    file_text: str
    language: str  # tree-sitter language name, or "text"


@dataclass(frozen=True)
class ActionPrompt:
    """What an action sends the model: ``messages`` (secret values redacted), the answer's
    token limit, the range, and the redaction of its code (to put values back in answers)."""

    messages: list[ChatMessage]
    max_tokens: int
    range: CodeRange
    code: Redaction


def load_range(ws: Repository, path: str, start_line: int, end_line: int) -> CodeRange:
    """The range's text: an open editor buffer (index overlay) first, then the file on disk.

    Raises UsageError for a file that is a secret as a whole: none of it goes to a model."""
    rel = resolve_position(ws.root, path)
    text: str | None = None
    if ws.index.overlay_facts(rel) is not None:
        text = ws.index.text(rel)
    if text is None:
        full = ws.root / rel
        if full.is_file():
            text = full.read_bytes().decode("utf-8", "replace")
        else:
            text = ws.index.text(rel)
    if text is None:
        raise UsageError(f"{rel}: no such file in the repository")
    reason = secret_file(rel, text)
    if reason is not None:
        raise UsageError(f"{rel} is a secret file ({reason}): its content never goes to a model")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if not 1 <= start_line <= end_line <= len(lines):
        raise UsageError(
            f"{rel}: lines {start_line}-{end_line} are not inside the file (1-{len(lines)})"
        )
    kind = file_kind(rel) or "text"
    code = "\n".join(lines[start_line - 1 : end_line])
    return CodeRange(rel, start_line, end_line, code, text, kind)


# -- context -------------------------------------------------------------------------------


def _used_definitions(ws: Repository, rng: CodeRange) -> list[Definition]:
    """Definitions outside the range of the names the range uses, in order of first use."""
    if rng.language == "text":
        return []
    facts = facts_for_text(rng.path, rng.language, rng.file_text.encode("utf-8", "replace"))
    out = definitions_used(ws.index, rng.path, facts.references, rng.start_line, rng.end_line)
    # the definition the range sits in (its signature tells what the range is part of)
    enclosing = [
        d
        for d in facts.definitions
        if d.start_line < rng.start_line
        and rng.end_line <= d.end_line
        and d.kind not in ("variable", "field", "constant")
    ]
    if enclosing:
        inner = max(enclosing, key=lambda d: d.start_line)
        inner.path = rng.path
        out.insert(0, inner)
    return out


def range_context(
    ws: Repository, rng: CodeRange, budget: int, count: TokenCounter | None = None
) -> str:
    """Context blocks (``path:start-end`` headed) for what the range uses, within ``budget``."""
    if budget < 64:
        return ""
    counter = count or TokenCounter(ws.tokenizer)
    items: list[PackItem] = []
    texts: dict[str, list[str]] = {}
    for rank, d in enumerate(_used_definitions(ws, rng)):
        if d.path not in texts:
            text = rng.file_text if d.path == rng.path else ws.index.text(d.path)
            texts[d.path] = (text or "").split("\n")
        lines = texts[d.path]
        if d.start_line > len(lines):
            continue
        end = min(d.end_line, len(lines))
        if d.path == rng.path and d.start_line < rng.start_line <= end:
            end = rng.start_line - 1  # the enclosing definition: up to the range
        spec = language_for_path(d.path)
        doc_lines = d.doc.count("\n") + 3 if d.doc else 1
        items.append(
            PackItem(
                path=d.path,
                start_line=d.start_line,
                end_line=end,
                lines=lines[d.start_line - 1 : end],
                score=1.0 - rank / 100,
                source="definition",
                symbol=d.qualified_name,
                language=fence_language(d.path),
                comment=spec.line_comment if spec else "",
                head_lines=min(end - d.start_line + 1, d.name_line - d.start_line + doc_lines),
            )
        )
    result = pack(items, budget, counter, cut_top=len(items))
    return "".join(render_block(s, result.languages.get(_key(s), "")) for s in result.snippets)


def _key(s: Snippet) -> tuple[str, int, int]:
    return (s.path, s.start_line, s.end_line)


def _prepare(
    ws: Repository, path: str, start_line: int, end_line: int, output_tokens: int | None
) -> tuple[CodeRange, Redaction, str, int]:
    """The range, its code as sent (redacted), its context and the generation limit, fitted
    to the model's window."""
    rng = load_range(ws, path, start_line, end_line)
    code = redact(rng.code, rng.path)
    counter = TokenCounter(ws.tokenizer)
    code_tokens = counter(code.text)
    window = ws.model_info.context_window
    if output_tokens is None:
        output_tokens = ws.settings.chat.answer_tokens
    output_tokens = min(output_tokens, max(window // 2, 64))
    room = window - output_tokens - 2 * code_tokens - _PROMPT_OVERHEAD
    if code_tokens + _PROMPT_OVERHEAD + 64 > window - output_tokens:
        raise UsageError(
            f"{rng.path}:{start_line}-{end_line} is {code_tokens} tokens, too long for the "
            f"model's {window}-token window with room for the answer; choose a smaller range"
        )
    context = range_context(ws, rng, min(room, _CONTEXT_CAP), counter)
    return rng, code, context, output_tokens


def _output_tokens(ws: Repository, code: str) -> int:
    """Room for an answer that repeats the code with additions (comments, another syntax)."""
    return max(ws.settings.chat.answer_tokens, 2 * TokenCounter(ws.tokenizer)(code) + 64)


def _generate(
    ws: Repository, messages: Sequence[ChatMessage], max_tokens: int, cancel: CancelToken | None
) -> Iterator[str]:
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0, seed=0)
    return ws.model.chat(messages, params, cancel)


# -- actions -------------------------------------------------------------------------------


def explain_prompt(ws: Repository, path: str, start_line: int, end_line: int) -> ActionPrompt:
    """What :func:`explain` sends the model for lines ``start_line``..``end_line``."""
    rng, code, context, max_tokens = _prepare(ws, path, start_line, end_line, None)
    messages = explain_messages(
        ws.root.name, context, rng.path, start_line, end_line, fence_language(rng.path), code.text
    )
    return ActionPrompt(messages, max_tokens, rng, code)


def comments_prompt(ws: Repository, path: str, start_line: int, end_line: int) -> ActionPrompt:
    """What :func:`add_comments` sends the model for lines ``start_line``..``end_line``."""
    rng = load_range(ws, path, start_line, end_line)
    budget_out = _output_tokens(ws, rng.code)
    rng, code, context, max_tokens = _prepare(ws, path, start_line, end_line, budget_out)
    messages = comments_messages(
        ws.root.name, context, rng.path, start_line, end_line, fence_language(rng.path), code.text
    )
    return ActionPrompt(messages, max_tokens, rng, code)


def translate_prompt(
    ws: Repository, path: str, start_line: int, end_line: int, target_language: str
) -> ActionPrompt:
    """What :func:`translate` sends the model to translate the lines into ``target_language``."""
    target = target_language.strip()
    if not target:
        raise UsageError("name the language to translate into")
    rng = load_range(ws, path, start_line, end_line)
    budget_out = _output_tokens(ws, rng.code)
    rng, code, context, max_tokens = _prepare(ws, path, start_line, end_line, budget_out)
    messages = translate_messages(
        ws.root.name,
        context,
        rng.path,
        start_line,
        end_line,
        fence_language(rng.path),
        code.text,
        target,
    )
    return ActionPrompt(messages, max_tokens, rng, code)


def explain(
    ws: Repository,
    path: str,
    start_line: int,
    end_line: int,
    cancel: CancelToken | None = None,
) -> Iterator[str]:
    """Stream an explanation of lines ``start_line``..``end_line`` of ``path``."""
    prompt = explain_prompt(ws, path, start_line, end_line)
    yield from _generate(ws, prompt.messages, prompt.max_tokens, cancel)


def add_comments(
    ws: Repository,
    path: str,
    start_line: int,
    end_line: int,
    cancel: CancelToken | None = None,
) -> str:
    """The lines with comments and docstrings added, the code itself unchanged.

    Raises :class:`MangledCodeError` (with ``original`` to fall back to) when the model's
    version changes anything but comments and docstrings, or when it was cut off.
    """
    prompt = comments_prompt(ws, path, start_line, end_line)
    rng = prompt.range
    answer = "".join(_generate(ws, prompt.messages, prompt.max_tokens, cancel))
    # the model saw <redacted:kind> where the code has a secret: the user gets the real value
    proposed = _match_indentation(rng.code, prompt.code.restore(extract_code(answer)))
    problem = check_only_comments(rng.code, proposed, rng.language)
    if problem is not None:
        raise MangledCodeError(
            f"{rng.path}:{start_line}-{end_line}: the model changed the code, not only its "
            f"comments ({problem}); the original lines are kept",
            rng.code,
            proposed,
        )
    return proposed


def translate(
    ws: Repository,
    path: str,
    start_line: int,
    end_line: int,
    target_language: str,
    cancel: CancelToken | None = None,
) -> str:
    """Lines ``start_line``..``end_line`` of ``path`` translated into ``target_language``."""
    prompt = translate_prompt(ws, path, start_line, end_line, target_language)
    answer = "".join(_generate(ws, prompt.messages, prompt.max_tokens, cancel))
    code = prompt.code.restore(extract_code(answer))
    if not code.strip():
        raise RepolensError(
            f"the model returned no code for the translation into {target_language.strip()}"
        )
    return code


# -- the "code unchanged" check ----------------------------------------------------------


def _match_indentation(original: str, proposed: str) -> str:
    """Give the proposed lines the original's common indentation (models often drop it)."""

    def common(text: str) -> str:
        lines = [ln for ln in text.split("\n") if ln.strip()]
        if not lines:
            return ""
        indents = [ln[: len(ln) - len(ln.lstrip())] for ln in lines]
        prefix = indents[0]
        for indent in indents[1:]:
            while not indent.startswith(prefix):
                prefix = prefix[:-1]
        return prefix

    want, have = common(original), common(proposed)
    if want == have:
        return proposed
    body = textwrap.dedent(proposed)
    return "\n".join(want + ln if ln.strip() else ln for ln in body.split("\n"))


def _is_comment(node: Node) -> bool:
    return "comment" in node.type


def _is_docstring(node: Node, spec: LanguageSpec) -> bool:
    if spec.doc != "docstring" or node.type != "expression_statement":
        return False
    return node.named_child_count == 1 and node.named_children[0].type in (
        "string",
        "concatenated_string",
    )


def _significant(text: str, language: str, structure: bool) -> tuple[list[str], list[int], bool]:
    """Leaf tokens (and, with ``structure``, node boundaries) without comments/docstrings;
    and whether the parse had errors."""
    from ..indexer import language_spec

    spec = language_spec(language)
    body = textwrap.dedent(text)
    tree = parser_for(language).parse(body.encode("utf-8"))
    out: list[str] = []
    rows: list[int] = []
    stack: list[tuple[Node, bool]] = [(tree.root_node, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            out.append(")")
            rows.append(node.end_point.row + 1)
            continue
        if _is_comment(node) or _is_docstring(node, spec):
            continue
        if node.child_count == 0:
            raw = node.text or b""
            if not raw and not structure:
                continue  # a node error recovery made up
            out.append(f"{node.type}:{raw.decode('utf-8', 'replace')}")
            rows.append(node.start_point.row + 1)
            continue
        if structure and node.is_named:
            out.append(f"({node.type}")
            rows.append(node.start_point.row + 1)
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.children))
    return out, rows, tree.root_node.has_error


def check_only_comments(original: str, proposed: str, language: str) -> str | None:
    """None when ``proposed`` is ``original`` plus comments/docstrings; else what changed.

    Source languages are compared on their tree-sitter trees with comments and docstrings
    removed (the structure too, when the original parses cleanly: Python indentation counts);
    other files line by line (every original line must still be there, in order).
    """
    if not proposed.strip():
        return "the answer holds no code"
    if language == "text":
        return _check_lines(original, proposed)
    try:
        before, _, broken = _significant(original, language, structure=True)
        after, rows, _ = _significant(proposed, language, structure=True)
        if broken:  # a fragment: error recovery may differ, compare the tokens alone
            before, _, _ = _significant(original, language, structure=False)
            after, rows, _ = _significant(proposed, language, structure=False)
    except (LookupError, ValueError):
        return _check_lines(original, proposed)
    if before == after:
        return None
    tokens_before, _, _ = _significant(original, language, structure=False)
    tokens_after, _, _ = _significant(proposed, language, structure=False)
    if (
        len(tokens_after) < len(tokens_before)
        and tokens_before[: len(tokens_after)] == tokens_after
    ):
        missing = _show(tokens_before[len(tokens_after)])
        return f"code is missing from {missing} on (the answer may be cut off)"
    return _first_difference(before, after, rows)


def _first_difference(before: list[str], after: list[str], rows: list[int]) -> str:
    for i, (a, b) in enumerate(zip(before, after, strict=False)):
        if a != b:
            return f"line {rows[i]} of its version has {_show(b)} where the code has {_show(a)}"
    if len(after) < len(before):
        return f"code is missing from {_show(before[len(after)])} on (the answer may be cut off)"
    return f"line {rows[len(before)]} of its version adds {_show(after[len(before)])}"


def _show(token: str) -> str:
    if token == ")":
        return "the end of a block"
    if token.startswith("("):
        return f"a {token[1:]}"
    kind, _, text = token.partition(":")
    return repr(text) if text else f"an incomplete {kind}"


def _check_lines(original: str, proposed: str) -> str | None:
    wanted = [ln.rstrip() for ln in original.split("\n") if ln.strip()]
    it = iter(ln.rstrip() for ln in proposed.split("\n"))
    for line in wanted:
        if not any(candidate == line for candidate in it):
            return f"line {line.strip()!r} is missing or changed"
    return None
