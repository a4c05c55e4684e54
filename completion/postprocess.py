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
    after = line_after.strip()
    stripped = line_before.rstrip()
    if after and after not in (")", "]", "}", "):", ");", "},", "),", "})", "};"):
        return Decision(False, "mid-line")
    if after:  # only closers follow: fill in arguments on this line, a block inside {}
        if stripped.endswith("{"):
            return Decision(True, "inside braces")
        return Decision(False, "inside brackets")
    if not stripped.strip():
        return Decision(True, "empty line")
    if stripped.endswith(_BLOCK_OPENERS):
        return Decision(True, "opens a block")
    return Decision(False, "end of a statement")


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


def _cut_at_block_end(text: str, line_before: str) -> str:
    """Stop a multi-line completion where the block it is writing ends.

    - brackets left open on the cursor's line (``function f() {``): up to the line that
      closes them, included;
    - a Python-style block opener (``def f():``): while lines are indented deeper than the
      opener's line;
    - on an empty line: while lines stay at the cursor's indentation or deeper, and brackets
      opened in the completion are not over-closed.
    """
    lines = text.split("\n")
    opener = line_before.strip()
    base = _indent(line_before) if opener else len(line_before.expandtabs(4))
    open_depth = max(0, _bracket_delta(line_before))
    depth = open_depth + _bracket_delta(lines[0])
    out = [lines[0]]
    if open_depth and depth <= 0:
        return lines[0].rstrip()
    colon_block = bool(opener) and not open_depth and opener.endswith(":")
    # on an empty line, the completion's own first statement sets the level it may not leave
    first_indent = _indent(line_before + lines[0]) if not opener and lines[0].strip() else None
    for line in lines[1:]:
        if not line.strip():
            out.append(line)
            continue
        ind = _indent(line)
        delta = _bracket_delta(line)
        if open_depth:
            if ind < base and line.strip()[:1] not in _CLOSERS:
                break
            depth += delta
            out.append(line)
            if depth <= 0:
                break
            continue
        if colon_block and ind <= base:
            break
        if not colon_block and ind < base:
            break
        if first_indent is None and not colon_block and not opener:
            first_indent = ind
        if first_indent is not None and ind < first_indent:
            break
        if depth + delta < 0:
            break  # closes a bracket the completion did not open: the suffix's
        depth += delta
        out.append(line)
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
    """Drop the closing brackets/quotes at the end of a one-line completion that the rest of
    the line already has (the editor keeps them)."""
    rest = line_after.strip()
    t = text.rstrip()
    for k in range(len(rest), 0, -1):
        tail = rest[:k]
        if all(ch in ")]}\"';:," for ch in tail) and t.endswith(tail):
            return t[: -len(tail)]
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
    text = _cut_at_block_end(text, line_before)
    text = _drop_repeated_suffix(text, suffix)
    return text.rstrip()
