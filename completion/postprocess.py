"""Turning what the model generated into what the editor shows (pure functions).

- single- or multi-line by the cursor's context: mid-line -> one line; end of a line that
  opens a block, or an empty line -> a block;
- a block stops where it ends: indentation falls below where it started, or a closing bracket
  closes more than the completion opened;
- text that repeats what follows the cursor is dropped (the model re-typing the next lines);
- closing brackets already in the rest of the line are not duplicated;
- trailing whitespace trimmed; nothing but whitespace -> no suggestion.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Decision", "decide_mode", "postprocess"]

_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_BLOCK_OPENERS = (":", "{", "(", "[", "=>", "->")


@dataclass(frozen=True)
class Decision:
    multiline: bool
    reason: str


def decide_mode(line_before: str, line_after: str) -> Decision:
    """Whether a suggestion may span lines."""
    if line_after.strip() and line_after.strip() not in (")", "]", "}", "):", ");", "},", "),"):
        return Decision(False, "mid-line")
    stripped = line_before.rstrip()
    if not stripped.strip():
        return Decision(True, "empty line")
    if stripped.endswith(_BLOCK_OPENERS):
        return Decision(True, "opens a block")
    return Decision(False, "end of a statement")


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


def _cut_at_block_end(text: str, line_before: str, first_line_indent: int | None) -> str:
    """Stop a multi-line completion where its block ends."""
    lines = text.split("\n")
    base = _indent(line_before) if line_before.strip() else len(line_before.expandtabs(4))
    out = [lines[0]]
    depth = _bracket_delta(lines[0])
    body_indent = first_line_indent
    for line in lines[1:]:
        if not line.strip():
            out.append(line)
            continue
        ind = _indent(line)
        if body_indent is None:
            body_indent = ind
        if ind < base or (
            body_indent is not None and ind < min(body_indent, base + 1) and depth <= 0
        ):
            # dedented past the block we were completing (a closing bracket at the block's
            # own level is kept: it belongs to the block)
            if line.strip()[:1] in _CLOSERS and ind >= base - 4 and depth > 0:
                out.append(line)
            break
        depth += _bracket_delta(line)
        out.append(line)
        if depth < 0:
            break
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def _bracket_delta(line: str) -> int:
    delta = 0
    quote = ""
    for ch in line:
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in _OPENERS:
            delta += 1
        elif ch in _CLOSERS:
            delta -= 1
    return delta


def _drop_repeated_suffix(text: str, suffix: str) -> str:
    """Cut the completion where it starts repeating the lines that follow the cursor."""
    following = [ln.strip() for ln in suffix.split("\n")[1:] if ln.strip()][:3]
    if not following:
        return text
    lines = text.split("\n")
    for i in range(1, len(lines)):
        if lines[i].strip() and lines[i].strip() == following[0]:
            rest = [ln.strip() for ln in lines[i:] if ln.strip()]
            if rest[: len(following)] == following[: len(rest)]:
                return "\n".join(lines[:i]).rstrip()
    return text


def _dedupe_closers(text: str, line_after: str) -> str:
    """Drop closing brackets/quotes at the end of a one-line completion that the rest of the
    line already has (the editor keeps them)."""
    rest = line_after.strip()
    if not rest:
        return text
    t = text.rstrip()
    while t and rest and t[-1] == rest[0] and t[-1] in ")]}\"';:,":
        # only when the completion would otherwise leave them unbalanced
        t = t[:-1]
        rest = rest[1:]
    return t


def postprocess(raw: str, line_before: str, line_after: str, suffix: str, multiline: bool) -> str:
    """The suggestion to show for ``raw`` model output ("" for none)."""
    text = raw.replace("\r\n", "\n")
    if not text.strip():
        return ""
    if not line_before.strip():
        # on an empty line the model often re-emits the indentation we already have
        indent = line_before
        if indent and text.startswith(indent):
            text = text[len(indent) :]
    if not multiline:
        text = text.split("\n", 1)[0]
        if not text.strip() and "\n" in raw:
            # the model started a new line: take that line instead
            rest = raw.lstrip("\n").split("\n", 1)[0]
            text = rest if rest.strip() else ""
        text = _dedupe_closers(text.rstrip(), line_after)
        return text.rstrip()
    text = _cut_at_block_end(text, line_before, None)
    text = _drop_repeated_suffix(text, suffix)
    return text.rstrip()
