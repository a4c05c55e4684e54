"""A commit message's shape: cleaning what a model wrote, and a message built without one.

Pure functions. :func:`clean_message` turns a model's answer into ``(subject, body)``: chatter
("Here is the commit message:"), labels ("Subject:"), code fences, quotes, markdown, echoed
diff lines and repetition loops go; the subject fits in 72 characters (a longer first line is
cut at a word boundary and kept whole in the body, so nothing the model said is lost); the body
is wrapped at 72 columns; the repository's style (Conventional Commits prefix, lower- or
upper-case start) is applied. :func:`fallback_message` describes a change from its file list
and changed symbols alone, for when the model is down, slow or says nothing usable.
"""

from __future__ import annotations

import posixpath
import re
import textwrap
from collections.abc import Sequence

from .git import FileChange
from .style import (
    CommitStyle,
    common_dir,
    infer_scope,
    infer_type,
    is_doc_path,
    is_test_path,
    split_conventional,
)
from .symbols import SymbolChange

__all__ = [
    "BODY_WIDTH",
    "SUBJECT_LIMIT",
    "apply_style",
    "clean_message",
    "fallback_message",
    "imperative",
    "is_trivial",
    "looping",
    "shorten_subject",
    "summary_body",
    "wrap_body",
]

SUBJECT_LIMIT = 72
BODY_WIDTH = 72
MAX_BODY_LINES = 24
_TRIVIAL_LINES = 6

_FENCE = re.compile(r"^\s*(```|~~~)")
_LABEL = re.compile(
    r"^\s*(?:\*\*|__)?(?:(?:git\s+)?commit(?:\s+message)?|subject(?:\s+line)?|title|summary(?:\s+line)?"
    r"|header|message|body|description|details|explanation|changes?|overview|notes?|"
    r"motivation|context|what changed|why)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*",
    re.IGNORECASE,
)
_CHATTER_START = re.compile(
    r"^\s*(?:here(?:'s| is| are)|sure\b|certainly|of course|okay|ok\b|below is|i (?:have|'ve)|"
    r"the following|(?:this is )?(?:a|the|my) (?:git )?commit message)",
    re.IGNORECASE,
)
_CHATTER_END = re.compile(
    r"^\s*(?:let me know|i hope|hope this|feel free|this commit message|note:|this message)",
    re.IGNORECASE,
)
_DIFF_HEADER = re.compile(r"^(?:diff --git |index [0-9a-f]+\.\.|--- |\+\+\+ |@@ |-{3,}\s*$)")
# a +/- line that is code rather than a bullet
_CODE_LINE = re.compile(
    r"^[+-]\s*(?:(?:def|class|import|from|return|if|elif|else|for|while|try|except|function|"
    r"const|let|var|func|fn|pub|public|private|static|package|struct|impl|use)\b|[@{}#/)\]]|$)"
    r"|[;{}(,=]\s*$|\)\s*:\s*$|^[+-]\s*\w+\s*=\s"
)
_BULLET = re.compile(r"^(\s*)([-*•]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])")
# "This commit adds x", "The change to a.py is to add x" -> "adds x", "add x" (then imperative)
_OPENER = re.compile(
    r"^(?:this|the)\s+(?:commit|change|changes|patch|diff|pr|pull request|update)"
    r"(?:\s+(?:to|in)\s+(?:the\s+)?\S+(?:\s+file)?)?\s+(?:is\s+to\s+|are\s+to\s+|will\s+)?"
    r"(?=[a-z]+\b)",
    re.IGNORECASE,
)
_ANY_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WS = re.compile(r"[ \t]+")


def _strip_markup(line: str) -> str:
    line = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), line)
    line = re.sub(r"\[([^\]]+)\]\((?:https?://|/)[^)\s]*\)", r"\1", line)  # [text](url)
    return line.rstrip()


def _unbalanced(text: str) -> str:
    """Drop a quote or backtick the text starts or ends with but never closes or opens."""
    for mark in ('"', "`", "'"):
        if text.count(mark) % 2 == 1:
            if text.endswith(mark) and mark != "'":
                text = text[:-1].rstrip()
            elif text.startswith(mark):
                text = text[1:].lstrip()
    return text


def _unquote(text: str) -> str:
    text = text.strip()
    for _ in range(2):
        if len(text) < 2:
            break
        same = text[0] == text[-1] and text[0] in "\"'`" and text.count(text[0]) == 2
        curly = text[0] in "“‘" and text[-1] in "”’"
        if not (same or curly):
            break
        text = text[1:-1].strip()
    return text


def _is_heading(line: str) -> bool:
    return line.lstrip().startswith("#")


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text).strip().lower()


def shorten_subject(subject: str, limit: int = SUBJECT_LIMIT) -> tuple[str, bool]:
    """``subject`` cut to ``limit`` characters (at the end of its first sentence, else of a
    clause, else of a word); True when it was cut."""
    subject = _WS.sub(" ", subject).strip()
    if len(subject) <= limit:
        return subject, False
    sentence = _SENTENCE_END.split(subject, maxsplit=1)[0].rstrip(".")
    if 10 <= len(sentence) <= limit:
        return sentence, True
    head = subject[: limit + 1]
    clause = max(head.rfind(", "), head.rfind("; "), head.rfind(" - "), head.rfind(" ("))
    if clause >= 12:
        return head[:clause].rstrip(" ,;:-("), True
    space = head.rfind(" ")
    cut = head[:space] if space >= limit // 3 else subject[:limit]
    return cut.rstrip(" ,;:-(").rstrip(), True


_IMPERATIVE = {
    word: base
    for base, forms in {
        "add": "added adds adding",
        "fix": "fixed fixes fixing",
        "remove": "removed removes removing",
        "update": "updated updates updating",
        "change": "changed changes changing",
        "implement": "implemented implements implementing",
        "refactor": "refactored refactors refactoring",
        "rename": "renamed renames renaming",
        "move": "moved moves moving",
        "improve": "improved improves improving",
        "introduce": "introduced introduces introducing",
        "delete": "deleted deletes deleting",
        "replace": "replaced replaces replacing",
        "bump": "bumped bumps bumping",
        "correct": "corrected corrects correcting",
        "document": "documented documents documenting",
        "allow": "allowed allows allowing",
        "enable": "enabled enables enabling",
        "disable": "disabled disables disabling",
        "create": "created creates creating",
        "convert": "converted converts converting",
        "simplify": "simplified simplifies simplifying",
        "clean": "cleaned cleans cleaning",
        "drop": "dropped drops dropping",
        "use": "used uses using",
        "make": "made makes making",
        "support": "supported supports supporting",
        "handle": "handled handles handling",
        "avoid": "avoided avoids avoiding",
        "ensure": "ensured ensures ensuring",
        "extend": "extended extends extending",
        "split": "splits splitting",
        "deprecate": "deprecated deprecates deprecating",
        "reduce": "reduced reduces reducing",
        "return": "returned returns returning",
        "raise": "raised raises raising",
    }.items()
    for word in forms.split()
}

_VERBS = frozenset(_IMPERATIVE.values())


def _strip_opener(text: str) -> str:
    """``This commit adds x`` -> ``adds x`` (when what follows is a verb we know)."""
    match = _OPENER.match(text)
    if match is None:
        return text
    rest = text[match.end() :]
    verb = rest.split(" ", 1)[0].lower()
    return rest if verb in _IMPERATIVE or verb in _VERBS else text


def imperative(text: str) -> str:
    """``Added x`` -> ``Add x``: a subject says what the commit does, not what was done."""
    first, sep, rest = text.partition(" ")
    base = _IMPERATIVE.get(first.lower())
    if base is None:
        return text
    if first[:1].isupper():
        base = base.capitalize()
    return base + sep + rest


def wrap_body(text: str, width: int = BODY_WIDTH) -> str:
    """Re-flow paragraphs and bullets at ``width``; indented (code) lines stay as they are."""
    out: list[str] = []
    paragraph: list[str] = []
    bullet: tuple[str, list[str]] | None = None

    def flush() -> None:
        nonlocal paragraph, bullet
        if bullet is not None:
            marker, words = bullet
            indent = " " * len(marker)
            out.extend(
                textwrap.wrap(
                    " ".join(words),
                    width,
                    initial_indent=marker,
                    subsequent_indent=indent,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
                or [marker.rstrip()]
            )
            bullet = None
        if paragraph:
            out.extend(
                textwrap.wrap(
                    " ".join(paragraph), width, break_long_words=False, break_on_hyphens=False
                )
            )
            paragraph = []

    for raw in text.split("\n"):
        line = raw.rstrip()
        if not line.strip():
            flush()
            if out and out[-1] != "":
                out.append("")
            continue
        match = _BULLET.match(line)
        if match:
            flush()
            marker = f"{match.group(1)}{'-' if match.group(2) in '-*•' else match.group(2)} "
            bullet = (marker, [line[match.end() :].strip()])
        elif line.startswith(("    ", "\t")):  # code: kept as it is
            flush()
            out.append(line)
        elif bullet is not None and line.startswith(" "):
            bullet[1].append(line.strip())
        else:
            if bullet is not None:
                flush()
            paragraph.append(line.strip())
    flush()
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out)


def _dedupe(lines: list[str], subject: str) -> list[str]:
    """Drop repeated lines and sentences (small models loop), and lines that repeat the subject."""
    seen: set[str] = {_norm(subject)} if subject else set()
    out: list[str] = []
    for line in lines:
        if not line.strip():
            out.append("")
            continue
        kept: list[str] = []
        for sentence in _ANY_SENTENCE_END.split(line):
            key = _norm(sentence)
            if key and key in seen:
                continue
            if key:
                seen.add(key)
            kept.append(sentence)
        if kept:
            prefix = _BULLET.match(line)
            text = " ".join(kept)
            if prefix and not _BULLET.match(text):
                text = prefix.group(0) + text
            out.append(text)
    return out


def _drop_partial_tail(lines: list[str]) -> list[str]:
    """Remove the unfinished sentence a generation cut by ``max_tokens`` ends with."""
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return lines
    last = lines[-1].rstrip()
    if re.search(r"[.!?:;)\]`'\"]$", last):
        return lines
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", last)]
    if ends:
        lines[-1] = last[: ends[-1]]
    else:
        lines.pop()
    return lines


def apply_style(
    subject: str,
    style: CommitStyle,
    *,
    paths: Sequence[str] = (),
    adds: bool = False,
    limit: int = SUBJECT_LIMIT,
) -> str:
    """The subject with the repository's Conventional Commits prefix and letter case."""
    parsed = split_conventional(subject)
    if style.conventional:
        if parsed is None:
            kind = infer_type(paths, adds=adds, summary=subject, known=style.types)
            scope = infer_scope(paths, style)
            description, bang = subject, False
        else:
            kind, scope, bang, description = parsed
        prefix = f"{kind}({scope})" if scope else kind
        prefix += "!:" if bang else ":"
        description = _case(imperative(description), style.lowercase)
        room = max(limit - len(prefix) - 1, 16)
        description, _ = shorten_subject(description, room)
        return f"{prefix} {description}"
    if parsed is not None:  # a conventional prefix in a repository that does not use them
        description = parsed[3]
        return shorten_subject(_case(imperative(description), style.lowercase), limit)[0]
    return shorten_subject(_case(imperative(subject), style.lowercase), limit)[0]


def _case(text: str, lowercase: bool) -> str:
    if not text:
        return text
    first = text.split(" ", 1)[0]
    if lowercase:
        # keep identifiers and acronyms (``HTTPClient``, ``README``) as they are
        if (first[:1].isupper() and first[1:].islower()) or len(first) == 1:
            return text[0].lower() + text[1:]
        return text
    return text[0].upper() + text[1:] if text[0].islower() and first.isalpha() else text


def _tidy_bullet(line: str) -> str | None:
    """``- 1. text`` -> ``- text``; None for a bullet without text."""
    match = _BULLET.match(line)
    if not match:
        return line
    rest = line[match.end() :]
    while _BULLET.match(rest):
        rest = _BULLET.sub("", rest, count=1)
    rest = rest.strip()
    if not re.search(r"[^\W\d_]", rest):
        return None
    return f"{match.group(0)}{rest}"


# phrases of our instructions: a line with one is the model repeating the request
_INSTRUCTION_ECHO = re.compile(
    r"one-line summary|a blank line|imperative mood|at most 72|starts? with a verb|"
    r"reply with the commit message|write the commit message|uses conventional commits|"
    r"line [12]:|line 1 is|type\(scope\)|recent subjects|begins? with a verb|"
    r"\b(?:add|fix) \"?[xy]\"?(?=[\s\".,]|$)|"
    # talk about the task instead of the change
    r"\b(?:the|this|a|my) commit message\b|^\W*(?:the|this) code (?:is|was|has)\b|"
    r"\bthe diff (?:between|above|below)\b",
    re.IGNORECASE,
)


def _usable_subject(subject: str) -> bool:
    """At least two words ("A", "Fix" or "..." say nothing about the change)."""
    return len(re.findall(r"[^\W\d_]{2,}", subject)) >= 2


def looping(text: str) -> bool:
    """Whether a generation went into a loop: its last line came three times already, or
    its end repeats a short piece over and over."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) >= 3 and text.endswith("\n") and lines.count(lines[-1]) >= 3:
        return True
    match = re.search(r"(.{1,40}?)\1{6,}$", text[-240:], re.DOTALL)
    return match is not None and len(match.group(0)) >= 40


def _drop_echoes(
    lines: list[str], headings: Sequence[str], known: Sequence[str], listed: Sequence[str]
) -> list[str]:
    """Remove what the model copied from the prompt: a heading of ours and the lines under it
    up to the next blank line, lines of our file and definition lists, and lines that repeat
    a recent subject (except as the subject: repositories do repeat subjects)."""
    keys = [_norm(h)[:14] for h in headings if _norm(h)]
    known_keys = {_norm(k) for k in known if _norm(k)}
    listed_keys = {_norm(k) for k in listed if _norm(k)}
    out: list[str] = []
    skipping = False
    for line in lines:
        key = _norm(line)
        if skipping:
            if not line.strip():
                skipping = False
            continue
        heading = line.rstrip().endswith(":")
        if key and any(key == k or (key.startswith(k) and (heading or len(k) >= 10)) for k in keys):
            skipping = True
            continue
        if key and (key in listed_keys or (key in known_keys and out)):
            continue
        out.append(line)
    return out


def clean_message(
    raw: str,
    style: CommitStyle,
    *,
    paths: Sequence[str] = (),
    adds: bool = False,
    truncated: bool = False,
    comment_char: str = "#",
    echo_headings: Sequence[str] = (),
    echo_lines: Sequence[str] = (),
) -> tuple[str, str]:
    """``(subject, body)`` from a model's answer; ``("", "")`` when nothing usable is left.

    ``truncated``: the answer stopped at the token limit, so its last sentence is unfinished
    and dropped. ``comment_char``: lines starting with it would be removed by git, so none do.
    ``echo_headings``: headings of the prompt, whose sections the answer must not copy;
    ``echo_lines``: lines of the prompt's lists (changed files, definitions), never copied.
    """
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    raw_lines = text.split("\n")
    # a copied diff: its +/- lines are code, not bullets
    echoed_diff = any(_DIFF_HEADER.match(line) for line in raw_lines)
    lines: list[str] = []
    for line in raw_lines:
        if _FENCE.match(line):
            continue
        if _is_heading(line):
            line = line.lstrip().lstrip("#").strip()
            if not line or _LABEL.fullmatch(line + ":"):
                continue
        if _DIFF_HEADER.match(line) or (line.startswith(("+", "-")) and _CODE_LINE.search(line)):
            continue
        if line.startswith("+ "):  # an added line of a diff; bullets use "-" and "*"
            continue
        if echoed_diff and line.startswith(("+", "-")) and not line.startswith("- "):
            continue
        if line.startswith(("+", "-")) and line[1:2] != " ":  # "-text" and "+text" bullets
            line = "- " + line[1:].strip()
        if _INSTRUCTION_ECHO.search(line):
            continue
        lines.append(_strip_markup(line))
    lines = _drop_echoes(lines, echo_headings, style.examples, echo_lines)
    # leading chatter and labels
    while lines and (not lines[0].strip() or _CHATTER_START.match(lines[0])):
        first = lines.pop(0)
        label = first.rstrip().endswith(":")
        if not label and first.strip() and ":" in first:
            rest = first.split(":", 1)[1].strip()
            if rest:  # "Here is the message: Fix x" -> keep "Fix x"
                lines.insert(0, rest)
                break
    lines = [_LABEL.sub("", line, count=1) if _LABEL.match(line) else line for line in lines]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return "", ""
    # trailing chatter
    while lines and (not lines[-1].strip() or _CHATTER_END.match(lines[-1])):
        lines.pop()
    if truncated:
        lines = _drop_partial_tail(lines)
    lines = [tidy for tidy in map(_tidy_bullet, lines) if tidy is not None]
    # an introduction or heading ("Changes:") is not a subject
    while len(lines) > 1 and (lines[0].rstrip().endswith(":") or not lines[0].strip()):
        lines.pop(0)
    if not lines or lines[0].rstrip().endswith(":"):
        return "", ""
    first = _unquote(lines[0])
    while _BULLET.match(first):
        first = _BULLET.sub("", first, count=1).strip()
    first = first.lstrip(comment_char + "#").strip().rstrip(".").strip()
    first = _strip_opener(_unbalanced(_unquote(first)))
    body_lines = lines[1:]
    subject, cut = shorten_subject(first)
    if cut:
        body_lines = [first + ("" if first.endswith((".", "!", "?")) else "."), "", *body_lines]
    body_lines = _dedupe([_unquote(b) if b.strip() else b for b in body_lines], subject)
    body_lines = [b for b in body_lines if not b.lstrip().startswith(comment_char)]
    body = wrap_body("\n".join(body_lines))
    body_out = body.split("\n")[:MAX_BODY_LINES] if body else []
    if len(body.split("\n")) > MAX_BODY_LINES:
        body_out = _drop_partial_tail(body_out)
    while body_out and not body_out[-1].strip():
        body_out.pop()
    subject = subject.rstrip(":").strip()
    if not _usable_subject(subject):
        return "", ""
    subject = apply_style(subject, style, paths=paths, adds=adds)
    return subject, "\n".join(body_out)


# --------------------------------------------------------------------------- fallback


def is_trivial(files: Sequence[FileChange]) -> bool:
    """One file with a handful of changed lines (or a pure rename): a subject says it all."""
    if len(files) != 1:
        return False
    f = files[0]
    if f.binary:
        return f.status in ("added", "deleted", "renamed")
    return f.changed_lines <= _TRIVIAL_LINES


def _short_path(path: str, room: int) -> str:
    if len(path) <= room:
        return path
    name = posixpath.basename(path)
    return name if len(name) <= room else name[: max(room - 3, 1)] + "..."


def _names(symbols: Sequence[SymbolChange], room: int) -> str:
    names: list[str] = []
    for s in symbols:
        label = s.name.rsplit(".", 1)[-1] if len(s.name) > 30 else s.name
        if s.kind in ("function", "method"):
            label += "()"
        if label not in names:
            names.append(label)
    for k in range(len(names), 0, -1):
        if k == len(names):
            text = names[0] if k == 1 else ", ".join(names[: k - 1]) + " and " + names[k - 1]
        else:
            text = ", ".join(names[:k]) + f" and {len(names) - k} more"
        if len(text) <= room:
            return text
    return names[0] if names else ""


def _file_phrase(f: FileChange, symbols: Sequence[SymbolChange], room: int) -> str:
    """What happened to one file, in at most about ``room`` characters."""
    if f.status == "added":
        return f"Add {_short_path(f.path, room - 4)}"
    if f.status == "deleted":
        return f"Remove {_short_path(f.path, room - 7)}"
    if f.status == "renamed" and f.old_path:
        half = (room - 11) // 2
        return f"Rename {_short_path(f.old_path, half)} to {_short_path(f.path, half)}"
    name = _short_path(f.path, min(30, room // 2))
    mine = [s for s in symbols if s.path == f.path]
    changes = {s.change for s in mine}
    if mine and changes == {"added"}:
        return f"Add {_names(mine, room - 8 - len(name))} to {name}"
    if mine and changes == {"removed"}:
        return f"Remove {_names(mine, room - 13 - len(name))} from {name}"
    if len(mine) == 1 and mine[0].change == "signature":
        return f"Change the signature of {_names(mine, room - 28 - len(name))} in {name}"
    if mine:
        return f"Update {_names(mine, room - 11 - len(name))} in {name}"
    return f"Update {_short_path(f.path, room - 7)}"


def _fallback_subject(files: Sequence[FileChange], symbols: Sequence[SymbolChange]) -> str:
    if len(files) == 1:
        return _file_phrase(files[0], symbols, 64)
    statuses = {f.status for f in files}
    if len(statuses) == 1 and statuses & {"added", "deleted", "renamed"}:
        verb = {"added": "Add", "deleted": "Remove", "renamed": "Rename"}[statuses.pop()]
        subject = f"{verb} {len(files)} files"
        where = common_dir([f.path for f in files])
        if where and len(subject) + len(where) + 4 <= SUBJECT_LIMIT:
            subject += f" in {where}"
        return subject
    # the biggest change to code (not tests or docs), then a count of the rest
    primary = max(
        files,
        key=lambda f: (not (is_test_path(f.path) or is_doc_path(f.path)), f.changed_lines),
    )
    total = sum(f.changed_lines for f in files)
    if primary.changed_lines * 2 < total and not any(s.path == primary.path for s in symbols):
        subject = f"Update {len(files)} files"  # many similar changes: say where
        where = common_dir([f.path for f in files])
        if where and len(subject) + len(where) + 4 <= SUBJECT_LIMIT:
            subject += f" in {where}"
        return subject
    others = len(files) - 1
    tail = f" and {others} more file{'s' if others > 1 else ''}"
    phrase = _file_phrase(primary, symbols, SUBJECT_LIMIT - len(tail))
    if len(phrase) + len(tail) > SUBJECT_LIMIT or len(phrase) < 12:
        phrase = _file_phrase(primary, [], SUBJECT_LIMIT - len(tail))
    return phrase + tail


def summary_body(
    files: Sequence[FileChange], symbols: Sequence[SymbolChange], *, max_files: int = 12
) -> str:
    """A bullet per file (status, line counts, changed definitions), wrapped at 72."""
    bullets: list[str] = []
    by_path: dict[str, list[SymbolChange]] = {}
    for s in symbols:
        by_path.setdefault(s.path, []).append(s)
    ranked = sorted(files, key=lambda f: -f.changed_lines)[:max_files]
    shown = {id(f) for f in ranked}
    for f in files:
        if id(f) not in shown:
            continue
        what = f.status.replace("_", " ")
        if f.status in ("renamed", "copied") and f.old_path:
            what += f" from {f.old_path}"
        if f.binary:
            what += ", binary"
        elif f.changed_lines:
            what += f", +{f.added} -{f.deleted}"
        line = f"- {f.path}: {what}"
        mine = by_path.get(f.path, [])
        if mine:
            parts = []
            for change in ("signature", "added", "removed", "modified"):
                group = [s for s in mine if s.change == change]
                if group:
                    label = "changed signature of" if change == "signature" else change
                    parts.append(f"{label} {_names(group, 60)}")
            line += " (" + "; ".join(parts) + ")"
        bullets.append(line)
    hidden = len(files) - len(ranked)
    if hidden > 0:
        rest = [f for f in files if id(f) not in shown]
        added = sum(f.added for f in rest)
        deleted = sum(f.deleted for f in rest)
        bullets.append(f"- and {hidden} more files (+{added} -{deleted})")
    return wrap_body("\n".join(bullets))


def fallback_message(
    files: Sequence[FileChange],
    symbols: Sequence[SymbolChange],
    style: CommitStyle,
) -> tuple[str, str]:
    """``(subject, body)`` describing the change from its summary alone (no model)."""
    subject = _fallback_subject(files, symbols)
    adds = any(f.status == "added" for f in files) or any(s.change == "added" for s in symbols)
    subject = apply_style(subject, style, paths=[f.path for f in files], adds=adds)
    body = "" if is_trivial(files) else summary_body(files, symbols)
    return subject, body
