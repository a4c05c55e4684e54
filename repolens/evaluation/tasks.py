"""Completion tasks made from the repository itself: a span of a real line is hidden and the
model has to write it back.

Kinds (Python files; the places where cross-file context should matter):

- ``call``: the cursor right after ``name(`` where ``name`` is imported from another file of
  the repository; the rest of the line is hidden (the arguments);
- ``member``: the cursor right after ``v.`` where ``v`` was bound to an instance of a class
  imported from another file (``v = Imported(...)`` earlier in the function); the rest of the
  line is hidden (the member and what follows);
- ``statement``: the cursor at the start of a statement that calls such a name; the whole
  statement is hidden (the next statement, as when it is about to be typed);
- ``commit``: a line a recent commit added (``--commits N``), in the file as that commit left
  it; the line is hidden after its indentation.

``call`` and ``member`` are the tasks where a definition should decide. A task records whether
the answer's first identifier is already in the current file (``in_file``), and whether it is
in the part of the file a prompt shows (``in_view``: 2,000 characters before the cursor, 500
after): where it is not, the file cannot give the answer away and only cross-file context can.
The figures are reported for each group.
"""

from __future__ import annotations

import random
import re
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..secret_filter import secret_file

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..indexer import RepoIndex

__all__ = ["DECIDING", "KINDS", "EvalTask", "first_identifier", "make_tasks"]

KINDS = ("call", "member", "statement", "commit")
#: The kinds where the definition of an imported name decides the answer.
DECIDING = frozenset({"call", "member"})

_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\(")
_MEMBER = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.([A-Za-z_]\w*)")
_BIND = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?::[^=]+)?=\s*([A-Za-z_][\w.]*)\(")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_SKIP = ("#", "import ", "from ", "@", "def ", "class ", "async def ", '"""', "'''")
#: What a prompt shows of the current file, in characters (eval's default 512 prefix tokens and
#: 128 suffix tokens, at ~4 characters a token).
VIEW_BEFORE = 2000
_SAME_ANSWER = 2  # tasks of one kind with the same hidden text, at most
VIEW_AFTER = 500


@dataclass(frozen=True, slots=True)
class EvalTask:
    """One completion to make: ``text`` is the buffer with ``expected`` hidden, the cursor at
    1-based ``line``/``column``."""

    kind: str
    path: str
    line: int
    column: int
    text: str
    expected: str
    in_file: bool  # the answer's first identifier appears elsewhere in ``text``
    commit: str | None = None
    # ... within what a prompt shows of the file: the VIEW_BEFORE characters before the cursor
    # and VIEW_AFTER after it (where it is not, only cross-file context can give it)
    in_view: bool = True

    @property
    def id(self) -> str:
        at = f"@{self.commit[:10]}" if self.commit else ""
        return f"{self.path}:{self.line}:{self.column}:{self.kind}{at}"

    @property
    def deciding(self) -> bool:
        return self.kind in DECIDING

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "expected": self.expected,
            "in_file": self.in_file,
            "in_view": self.in_view,
            "commit": self.commit,
        }


def first_identifier(text: str) -> str:
    m = _IDENT.search(text)
    return m.group(0) if m else ""


def _task(
    kind: str, path: str, lines: list[str], n: int, cut: int, commit: str | None = None
) -> EvalTask | None:
    """Hide ``lines[n][cut:]`` (the cursor at ``cut``); None when nothing worth guessing is
    left to write."""
    line = lines[n]
    expected = line[cut:].rstrip()
    if len(expected.strip()) < 2 or not _IDENT.search(expected):
        return None
    buffer = "\n".join([*lines[:n], line[:cut], *lines[n + 1 :]])
    ident = first_identifier(expected)
    word = re.compile(rf"(?<!\w){re.escape(ident)}(?!\w)")
    in_file = bool(ident) and word.search(buffer) is not None
    at = sum(len(x) + 1 for x in lines[:n]) + cut
    view = buffer[max(0, at - VIEW_BEFORE) : at + VIEW_AFTER]
    in_view = in_file and word.search(view) is not None
    return EvalTask(kind, path, n + 1, cut + 1, buffer, expected, in_file, commit, in_view)


def _file_candidates(index: RepoIndex, path: str, text: str) -> dict[str, list[EvalTask]]:
    """The tasks of the three code kinds in one file."""
    imported = {
        i.local
        for i in index.imports(path)
        if i.local and i.target and i.target != path  # bound from another file of the repo
    }
    found: dict[str, list[EvalTask]] = defaultdict(list)
    if not imported:
        return found
    lines = text.split("\n")
    for n, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith(_SKIP):
            continue
        for m in _CALL.finditer(line):
            if m.group(1).split(".")[0] not in imported:
                continue
            task = _task("call", path, lines, n, m.end(1) + 1)  # after "name("
            if task is not None:
                found["call"].append(task)
            before = line[: m.start()]
            if before.strip() in ("", "return") or re.match(r"^\s*[\w.]+\s*=\s*$", before):
                indent = len(line) - len(line.lstrip())
                task = _task("statement", path, lines, n, indent)
                if task is not None:
                    found["statement"].append(task)
        for m in _MEMBER.finditer(line):
            var = m.group(1)
            if var in imported or var == "self":
                continue  # a module or class attribute, or the current class: not this kind
            for back in range(n - 1, max(-1, n - 60), -1):
                bound = _BIND.match(lines[back])
                if bound and bound.group(1) == var:
                    if bound.group(2).split(".")[0] in imported:
                        task = _task("member", path, lines, n, m.start(2))  # after "v."
                        if task is not None:
                            found["member"].append(task)
                    break
                if lines[back].lstrip().startswith(("def ", "async def ")):
                    break
    return found


def _commit_candidates(index: RepoIndex, commits: int) -> list[EvalTask]:
    """Lines the last ``commits`` commits added to indexed Python files, each in the file as
    its commit left it."""
    indexed = set(index.files())

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(index.root), *args], capture_output=True, text=True, errors="replace"
        )
        return proc.stdout if proc.returncode == 0 else ""

    found: list[EvalTask] = []
    for sha in git("log", f"-n{commits}", "--no-merges", "--format=%H").split():
        diff = git("show", "--unified=0", "--no-color", "--format=", sha, "--", "*.py")
        path = None
        added: dict[str, list[int]] = defaultdict(list)
        for row in diff.split("\n"):
            if row.startswith("+++ "):
                path = row[6:] if row.startswith("+++ b/") else None
            elif row.startswith("@@") and path in indexed:
                m = re.search(r"\+(\d+)(?:,(\d+))?", row)
                if m:
                    start, count = int(m.group(1)), int(m.group(2) or "1")
                    added[path].extend(range(start - 1, start - 1 + count))
        for file, numbers in added.items():
            content = git("show", f"{sha}:{file}")
            if secret_file(file, content) is not None:
                continue
            lines = content.split("\n")
            for n in numbers:
                if n >= len(lines):
                    continue
                stripped = lines[n].strip()
                if len(stripped) < 8 or stripped.startswith(_SKIP):
                    continue
                indent = len(lines[n]) - len(lines[n].lstrip())
                task = _task("commit", file, lines, n, indent, sha)
                if task is not None:
                    found.append(task)
    return found


def make_tasks(
    index: RepoIndex,
    n: int,
    *,
    seed: int = 0,
    kinds: Sequence[str] = ("call", "member", "statement"),
    commits: int = 0,
    unseen: bool = False,
) -> list[EvalTask]:
    """``n`` tasks, spread evenly over ``kinds`` (a kind with too few candidates leaves its
    share to the others) and over the files (one task from every file that has one before a
    second from any); the same for the same repository state and ``seed``. ``unseen``: only
    tasks whose answer is not in what the prompt shows of the file (``in_view``), where only
    cross-file context can give it."""
    rng = random.Random(seed)
    pools: dict[str, list[EvalTask]] = {k: [] for k in kinds}
    code_kinds = [k for k in kinds if k != "commit"]
    if code_kinds:
        per_file: dict[str, list[list[EvalTask]]] = defaultdict(list)
        for path in sorted(p for p in index.files() if p.endswith(".py")):
            text = index.text(path)
            if not text or secret_file(path, text) is not None:
                continue  # completion never runs in a secret file: neither does eval
            for kind, tasks in _file_candidates(index, path, text).items():
                if kind in pools:
                    if unseen:
                        tasks = [t for t in tasks if not t.in_view]
                    rng.shuffle(tasks)
                    per_file[kind].append(tasks)
        for kind, files in per_file.items():
            answers: Counter[str] = Counter()
            for r in range(max((len(f) for f in files), default=0)):
                row = [f[r] for f in files if r < len(f)]
                rng.shuffle(row)
                for task in row:
                    # a line the repository repeats (`app = Flask(__name__)` in every test
                    # module) counts at most twice: one habit must not make the figures
                    answers[task.expected.strip()] += 1
                    if answers[task.expected.strip()] <= _SAME_ANSWER:
                        pools[kind].append(task)
    if "commit" in pools and commits > 0:
        pool = _commit_candidates(index, commits)
        if unseen:
            pool = [t for t in pool if not t.in_view]
        pool.sort(key=lambda t: t.id)
        rng.shuffle(pool)
        pools["commit"] = pool
    chosen: list[EvalTask] = []
    taken: Counter[str] = Counter()
    while len(chosen) < n and any(taken[k] < len(pools[k]) for k in kinds):
        for kind in kinds:
            if len(chosen) >= n:
                break
            if taken[kind] < len(pools[kind]):
                chosen.append(pools[kind][taken[kind]])
                taken[kind] += 1
    return chosen
