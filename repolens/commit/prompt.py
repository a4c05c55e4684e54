"""The prompt that asks a model for a commit message, fitted to a token budget.

Pure apart from the token counter it is given. Layout: the rules and the repository's style
with its recent subjects in the system message (the same for every commit of a repository, so
a model server's prefix cache reuses it); then the diff, the commits of a range, the changed
files, the changed definitions with their signatures before and after, and the request last.
The summary sits between the diff and the request on purpose: small models answer about what
they read last, and a request right after a diff tends to be answered with more diff.

Budgeting uses exact counts from the model's tokenizer. The fixed parts are kept; the file
list, the definitions and the subjects get a capped share; the diff gets the rest. When the
whole diff does not fit, it is summarized per file: every file stays in the file list with its
status and line counts, and the hunks are shared out smallest-first ("water filling"), so
many small files are shown whole and a huge one is cut at a line boundary with a note of what
was left out.

No secret goes into the prompt: a file that is a secret as a whole (``.env``, ``id_rsa``,
``credentials.json``, a service-account key: :func:`repolens.secret_filter.secret_file`, by
its name or the content the diff shows) is listed by name with "secret file: content
withheld" and none of its lines; secret values in the other hunks, in the changed
definitions' signatures and in commit subjects are redacted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..backends.base import ChatMessage
from ..secret_filter import count_redactions, redact, secret_file
from ..types import Withheld
from .git import ChangeSet, FileChange
from .style import CommitStyle
from .symbols import SymbolChange

__all__ = ["ECHO_MARKERS", "CommitPrompt", "build_prompt", "fit_lines"]

Counter = Callable[[str], int]

#: Tokens reserved for the chat template's role markers around the messages.
TEMPLATE_TOKENS = 24
_MIN_PATCH_TOKENS = 24
_MAX_PATCH_CANDIDATES = 400
_MAX_SYMBOLS = 60
_REQUEST = (
    "Write the commit message for this change. "
    'Start with a one-line summary such as "Add X" or "Fix Y".'
)
#: Headings of the prompt; a line of the answer that starts with one is an echo.
ECHO_MARKERS = (
    "Recent subjects in this repository",
    "Commits in this range",
    "Changed files",
    "Changed definitions",
    "Diff",
    _REQUEST,
)


@dataclass(slots=True)
class CommitPrompt:
    messages: list[ChatMessage]
    tokens: int  # exact count of the messages' text, plus the template reserve
    budget: int
    summarized: bool  # some hunks were cut or left out
    files_in_diff: int  # files whose hunks are shown whole
    sections: dict[str, int] = field(default_factory=dict)  # tokens per section
    listed: list[str] = field(default_factory=list)  # lines of the file and definition lists
    withheld: list[Withheld] = field(default_factory=list)  # secret files: names only
    redactions: int = 0  # secret values replaced by <redacted:kind>


def _rules(style: CommitStyle) -> str:
    lines = [
        "You write git commit messages. Reply with the commit message only: no introduction, "
        "no quotes, no code fences.",
        "Line 1: a summary of what the change does, at most 72 characters, in the imperative "
        'mood ("Add", "Fix", "Remove"), without a period at the end.',
        "Line 2: empty.",
        "Then a body of one to five short lines: what changed and why.",
    ]
    if style.conventional:
        types = ", ".join(style.types[:6] or ("feat", "fix", "docs", "refactor", "test"))
        scope = "(scope)" if style.uses_scopes else ""
        lines.append(
            f"This repository uses Conventional Commits: line 1 is `type{scope}: summary`, "
            f"with a type such as {types}."
        )
    if style.lowercase:
        lines.append("Start the summary with a lower-case letter.")
    return "\n".join(lines)


def _file_line(f: FileChange) -> str:
    status = {"type_changed": "type changed"}.get(f.status, f.status)
    if f.status in ("renamed", "copied") and f.old_path:
        status += f" from {f.old_path}"
    counts = "binary" if f.binary else f"+{f.added} -{f.deleted}"
    if f.withheld:
        return f"{f.path} ({status}, {counts}; secret file: content withheld)"
    return f"{f.path} ({status}, {counts})"


def _side(hunks: str, mark: str) -> str:
    """One side of a file's hunks (``mark`` "+" for the new one, "-" for the old)."""
    return "\n".join(line[1:] for line in hunks.split("\n") if line[:1] in (mark, " "))


def _without_secrets(
    files: Sequence[FileChange], symbols: Sequence[SymbolChange]
) -> tuple[list[FileChange], list[SymbolChange]]:
    """Secret files without their hunks (marked ``withheld``), the rest with secret values
    redacted; the changed definitions of secret files dropped, the others' signatures
    redacted."""
    out: list[FileChange] = []
    secret: set[str] = set()
    for f in files:
        reason = secret_file(f.path, _side(f.hunks, "-" if f.status == "deleted" else "+"))
        if reason is None and f.old_path:
            reason = secret_file(f.old_path, _side(f.hunks, "-"))
        if reason is not None:
            secret.add(f.path)
            out.append(replace(f, hunks="", hunks_truncated=False, withheld=reason))
            continue
        result = redact(f.hunks, f.path)
        out.append(replace(f, hunks=result.text) if result.replacements else f)
    kept = []
    for s in symbols:
        if s.path in secret:
            continue
        old = redact(s.old_signature, s.path).text if s.old_signature else s.old_signature
        new = redact(s.new_signature, s.path).text if s.new_signature else s.new_signature
        kept.append(replace(s, old_signature=old, new_signature=new))
    return out, kept


def _symbol_line(s: SymbolChange) -> str:
    if s.change == "signature":
        return f"{s.path}: changed {s.kind} {s.old_signature}  ->  {s.new_signature}"
    signature = s.old_signature if s.change == "removed" else s.new_signature
    return f"{s.path}: {s.change} {s.kind} {signature}"


def fit_lines(text: str, limit: int, count: Counter) -> tuple[str, int]:
    """The longest run of whole first lines of ``text`` within ``limit`` tokens, and its count."""
    if limit <= 0 or not text:
        return "", 0
    # Never count more than a generous character cap: a token is rarely over 8 characters.
    capped = text[: limit * 8]
    n = count(capped)
    if n <= limit and len(capped) == len(text):
        return text, n
    lines = capped.split("\n")
    lo, hi, best, best_n = 0, len(lines), "", 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        candidate = "\n".join(lines[:mid])
        c = count(candidate)
        if c <= limit:
            lo, best, best_n = mid, candidate, c
        else:
            hi = mid - 1
    return best, best_n


def _listing(
    title: str, items: Sequence[str], limit: int, count: Counter, more: Callable[[int], str]
) -> tuple[str, int]:
    """``title`` and as many ``items`` as fit in ``limit`` tokens, then a "more" line."""
    if not items or limit <= 0:
        return "", 0
    text = f"{title}:\n" + "\n".join(items)
    n = count(text)
    if n <= limit:
        return text, n
    lo, hi = 0, len(items)
    best, best_n = "", 0
    while lo < hi:
        mid = (lo + hi + 1) // 2
        candidate = f"{title}:\n" + "\n".join(items[:mid]) + "\n" + more(len(items) - mid)
        c = count(candidate)
        if c <= limit:
            lo, best, best_n = mid, candidate, c
        else:
            hi = mid - 1
    return best, best_n


def _patch_block(f: FileChange, hunks: str, hidden_lines: int) -> str:
    head = f"--- {_file_line(f)}"
    if hidden_lines > 0:
        lines = "line" if hidden_lines == 1 else "lines"
        note = f"[... {hidden_lines} more {lines} of this file's diff]"
        return f"{head}\n{hunks}\n{note}".replace("\n\n[", "\n[")
    return f"{head}\n{hunks}".rstrip("\n")


def _cut_block(f: FileChange, room: int, count: Counter) -> tuple[str, int] | None:
    """The first lines of a file's hunks within ``room`` tokens, with a note of the rest."""
    head = _patch_block(f, "", 0)
    hunk_room = room - count(head) - 16  # the "more lines" note
    if hunk_room < _MIN_PATCH_TOKENS:
        return None
    hunks, _ = fit_lines(f.hunks.rstrip("\n"), hunk_room, count)
    if not hunks.strip():
        return None
    shown = sum(1 for line in hunks.split("\n") if line.startswith(("+", "-")))
    block = _patch_block(f, hunks, max(f.added + f.deleted - shown, 1))
    n = count(block)
    return (block, n) if n <= room else None


def _pack_diff(files: Sequence[FileChange], limit: int, count: Counter) -> tuple[str, int, bool]:
    """Hunks of as many files as fit in ``limit`` tokens: (text, files shown whole, summarized).

    Whole patches first, smallest first, up to 70% of the limit when not everything fits;
    the rest of the limit is shared out among the remaining files, biggest change first,
    whose hunks are cut at a line boundary (each gets at least a useful slice, or nothing).
    """
    with_hunks = [f for f in files if f.hunks.strip() and not f.binary]
    shown = [f for f in files if not f.binary and f.changed_lines and not f.withheld]
    summarized = len(with_hunks) < len(shown)
    if not with_hunks or limit <= 0:
        return "", 0, summarized or bool(with_hunks)
    ordered = sorted(with_hunks, key=lambda f: len(f.hunks))
    if len(ordered) > _MAX_PATCH_CANDIDATES:  # the largest files are only listed
        ordered, summarized = ordered[:_MAX_PATCH_CANDIDATES], True
    blocks: dict[int, str] = {}
    costs: dict[int, int] = {}
    for f in ordered:
        full = _patch_block(f, f.hunks.rstrip("\n"), 0)
        # a patch that clearly cannot fit is not counted, only cut
        if len(full) <= limit * 8 and not f.hunks_truncated:
            blocks[id(f)], costs[id(f)] = full, count(full) + 1
    everything = len(costs) == len(ordered) and sum(costs.values()) <= limit
    whole_limit = limit if everything else int(limit * 0.7)
    chosen: dict[int, str] = {}
    used = 0
    for f in ordered:
        cost = costs.get(id(f))
        if cost is not None and used + cost <= whole_limit:
            chosen[id(f)] = blocks[id(f)]
            used += cost
    whole = len(chosen)
    # the biggest of the remaining changes matter most: they get the first slices
    rest = sorted((f for f in ordered if id(f) not in chosen), key=lambda f: -f.changed_lines)
    if rest:
        summarized = True
    remaining = limit - used
    for i, f in enumerate(rest):
        share = max(remaining // (len(rest) - i), _MIN_PATCH_TOKENS * 3)
        if remaining < _MIN_PATCH_TOKENS * 2:
            break
        cut = _cut_block(f, min(share, remaining), count)
        if cut is None:
            continue
        chosen[id(f)] = cut[0]
        remaining -= cut[1] + 1
    text = "\n".join(chosen[id(f)] for f in files if id(f) in chosen)
    return text, whole, summarized


def build_prompt(
    changes: ChangeSet,
    symbols: Sequence[SymbolChange],
    style: CommitStyle,
    *,
    budget: int,
    count: Counter,
) -> CommitPrompt:
    """The chat messages for ``changes`` within ``budget`` tokens (exact counts via ``count``)."""
    files, symbols = _without_secrets(changes.files, symbols)
    changes = replace(
        changes,
        files=files,
        range_subjects=[redact(s).text for s in changes.range_subjects],
    )
    system = _rules(style)
    request = _REQUEST
    fixed = count(system) + count(request) + TEMPLATE_TOKENS + 8
    room = max(budget - fixed, 0)
    sections: dict[str, int] = {"rules": count(system)}

    examples = [f"- {redact(s).text}" for s in style.examples[:6]]
    subjects, n_subjects = _listing(
        "Recent subjects in this repository, for their style",
        examples,
        min(room // 10, 120),
        count,
        lambda n: "",
    )
    if subjects:
        system = f"{system}\n\n{subjects.rstrip()}"
    room -= n_subjects
    sections["recent_subjects"] = n_subjects

    range_items = [f"- {s}" for s in changes.range_subjects[:40]]
    commits, n_commits = _listing(
        "Commits in this range (oldest last)",
        range_items if len(range_items) > 1 else [],
        min(room // 8, 400),
        count,
        lambda n: f"- ... and {n} more commits",
    )
    room -= n_commits
    sections["range_commits"] = n_commits

    title = f"Changed files ({len(changes.files)}, +{changes.added} -{changes.deleted})"
    file_room = max(room // 4, 48)
    file_items = [_file_line(f) for f in changes.files[:400]]
    file_list, n_files = _listing(title, file_items, file_room, count, lambda n: "")
    all_listed = bool(file_list) and len(changes.files) <= 400 and n_files > 0
    all_listed = all_listed and file_list.count("\n") >= len(changes.files)
    if not all_listed:  # the biggest changes first, then a count of the rest
        ranked = sorted(changes.files, key=lambda f: -f.changed_lines)[:400]
        file_list, n_files = _listing(
            title,
            [_file_line(f) for f in ranked],
            file_room,
            count,
            lambda n: f"... and {n + len(changes.files) - len(ranked)} more files",
        )
    room -= n_files
    sections["files"] = n_files

    symbol_items = [_symbol_line(s) for s in list(symbols)[:_MAX_SYMBOLS]]
    defs, n_defs = _listing(
        "Changed definitions",
        symbol_items,
        room // 4,
        count,
        lambda n: f"... and {n} more",
    )
    room -= n_defs
    sections["definitions"] = n_defs

    shortened = "Diff (shortened to fit; every file is listed above)"
    if not all_listed:
        shortened = "Diff (shortened to fit)"
    diff_title = "Diff"
    diff_text, whole, summarized = _pack_diff(changes.files, room - 16, count)
    if summarized and diff_text:
        diff_title = shortened
    parts = [f"{diff_title}:\n{diff_text}"] if diff_text else []
    parts += [p for p in (commits, file_list, defs) if p]
    parts.append(request)
    user = "\n\n".join(parts)
    messages = [ChatMessage("system", system), ChatMessage("user", user)]
    total = count(system) + count(user) + TEMPLATE_TOKENS
    # Counts of parts do not add up exactly across joins: trim the diff until the whole fits.
    shrink = 0
    while total > budget and diff_text and shrink < 4:
        shrink += 1
        over = total - budget
        diff_text, whole, summarized = _pack_diff(
            changes.files, count(diff_text) - over - 32 * shrink, count
        )
        summarized = True
        parts = [f"{shortened}:\n{diff_text}"] if diff_text else []
        parts += [p for p in (commits, file_list, defs) if p]
        parts.append(request)
        user = "\n\n".join(parts)
        messages = [ChatMessage("system", system), ChatMessage("user", user)]
        total = count(system) + count(user) + TEMPLATE_TOKENS
    sections["diff"] = count(diff_text) if diff_text else 0
    listed = [line for part in (commits, file_list, defs) for line in part.split("\n")[1:]]
    return CommitPrompt(
        listed=[line for line in listed if not line.startswith("...")],
        messages=messages,
        tokens=total,
        budget=budget,
        summarized=summarized,
        files_in_diff=whole,
        sections=sections,
        withheld=[Withheld(f.path, f.withheld) for f in files if f.withheld],
        redactions=count_redactions(system) + count_redactions(user),
    )
