"""The ``prepare-commit-msg`` hook: install, uninstall, and what it runs.

``repolens hook install`` writes a small ``sh`` script into the repository's hooks folder
(``git rev-parse --git-path hooks``, so ``core.hooksPath`` is honoured). The script records
the absolute path of the Python that installed it, so it works when ``repolens`` is not on the
``PATH`` git gives hooks (GUI clients, IDEs), and runs ``python -P -m
repolens.commit.hook MSGFILE [SOURCE [SHA]]``. A hook that was there before is moved to
``repolens-chained/prepare-commit-msg`` (same file name, for dispatchers that look at ``$0``),
run first with the same arguments (its exit status is kept: it may still stop a commit, as it
did before), and put back by ``repolens hook uninstall``.

What the hook promises:

- It writes a message only for a plain ``git commit``: git's ``SOURCE`` argument is empty.
  Messages given with ``-m``/``-F`` (``message``), templates (``template``), merges
  (``merge``), squashes (``squash``) and ``--amend``/``-c``/``-C`` (``commit``) are left alone,
  and so is a message file that already holds anything but comments.
- It never blocks a commit: everything is bounded by ``REPOLENS_HOOK_TIMEOUT`` seconds
  (default 20, or the ``--timeout`` given at install), after which the process exits 0 at once;
  the model's own timeouts are lowered to fit. When the model is down, slow or fails, the
  message file is not touched and a one-line note goes to stderr. When it answers with
  nothing usable (small models do), the message built from the change summary is written
  instead, and stderr says so.
- It never loses what the user wrote: the new file is written beside git's and moved into
  place only when complete (an atomic rename), after checking that the file is still what git
  wrote; git's comment lines (help text, ``git commit -v``'s diff) stay below the message.
- ``REPOLENS_HOOK=0`` skips it for one command.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CHAINED_DIR",
    "DEFAULT_TIMEOUT_S",
    "HOOK_NAME",
    "MARKER",
    "HookResult",
    "has_user_text",
    "hook_script",
    "hooks_dir",
    "install_hook",
    "merge_message",
    "run_hook",
    "uninstall_hook",
    "write_message",
]

log = logging.getLogger("repolens.commit.hook")  # also when run as __main__

HOOK_NAME = "prepare-commit-msg"
CHAINED_DIR = "repolens-chained"
MARKER = "repolens-prepare-commit-msg-hook"
DEFAULT_TIMEOUT_S = 20.0
TIMEOUT_ENV = "REPOLENS_HOOK_TIMEOUT"
DISABLE_ENV = "REPOLENS_HOOK"
BUDGET_ENV = "REPOLENS_HOOK_BUDGET"
#: Prompt tokens for the embedded model in the hook: ~100-200 tokens/s of prompt evaluation
#: on two cores, so the message arrives well within the default timeout.
EMBEDDED_HOOK_BUDGET = 1024
EMBEDDED_HOOK_ANSWER = 128
#: git's SOURCE argument values for which the user (or git) already chose the message.
SKIPPED_SOURCES = frozenset({"message", "template", "merge", "squash", "commit"})
_SCISSORS = "------------------------ >8 ------------------------"
_AUTO_COMMENT_CHARS = "#;@!$%^&|:"


@dataclass(frozen=True, slots=True)
class HookResult:
    """What ``install``/``uninstall`` did, for the CLI to print."""

    path: Path
    changed: bool
    message: str
    chained: Path | None = None


# --------------------------------------------------------------------------- install


def hooks_dir(root: Path) -> Path:
    from .git import git_path, open_repo

    return git_path(open_repo(root), "hooks")


def hook_script(python: str, timeout_s: float) -> str:
    """The ``sh`` script git runs; ``python`` is the interpreter that has repolens."""
    return f"""#!/bin/sh
# {MARKER}
# Installed by `repolens hook install`; `repolens hook uninstall` removes it and puts back
# the hook it replaced. It writes a generated message only for a plain `git commit` whose
# message is still empty, and never blocks or fails a commit.
# REPOLENS_HOOK=0 skips it for one command; REPOLENS_HOOK_TIMEOUT bounds it (seconds).
chained="$(dirname -- "$0")/{CHAINED_DIR}/{HOOK_NAME}"
if [ -x "$chained" ]; then
    "$chained" "$@" || exit $?
fi
python={shlex.quote(python)}
[ -x "$python" ] || exit 0
{TIMEOUT_ENV}="${{{TIMEOUT_ENV}:-{timeout_s:g}}}" "$python" -P -m repolens.commit.hook "$@" \\
    </dev/null || true
exit 0
"""


def _is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return MARKER.encode() in fh.read(4096)
    except OSError:
        return False


def _write_executable(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _check_python(python: str) -> None:
    import subprocess

    from ..errors import RepolensError

    try:
        proc = subprocess.run(
            [python, "-P", "-c", "import repolens.commit.hook"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=tempfile.gettempdir(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RepolensError(f"{python} cannot run the hook: {exc}") from None
    if proc.returncode != 0:
        raise RepolensError(
            f"{python} cannot import repolens ({proc.stderr.strip().splitlines()[-1:]}); "
            "install the hook with the Python that has repolens installed"
        )


def install_hook(
    root: Path, *, python: str | None = None, timeout_s: float | None = None
) -> HookResult:
    """Install (or refresh) the hook; an existing foreign hook is kept and chained."""
    from ..errors import RepolensError

    python = python or sys.executable
    if not python or not os.path.isabs(python):
        raise RepolensError(f"cannot record the Python interpreter ({python!r}) for the hook")
    _check_python(python)
    timeout = timeout_s if timeout_s is not None else DEFAULT_TIMEOUT_S
    if timeout <= 0:
        raise RepolensError("--timeout must be a positive number of seconds")
    directory = hooks_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / HOOK_NAME
    chained_dir = directory / CHAINED_DIR
    chained = chained_dir / HOOK_NAME
    script = hook_script(python, timeout)
    if os.path.lexists(hook) and not _is_ours(hook):
        if os.path.lexists(chained):
            raise RepolensError(
                f"{hook} is not repolens's and {chained} already exists; move one of them "
                "away, then install again"
            )
        chained_dir.mkdir(exist_ok=True)
        os.replace(hook, chained)
        _write_executable(hook, script)
        return HookResult(
            hook,
            True,
            f"installed {hook}; the hook that was there runs first (moved to {chained})",
            chained,
        )
    existed = os.path.lexists(hook)
    _write_executable(hook, script)
    keeps = chained if os.path.lexists(chained) else None
    verb = "updated" if existed else "installed"
    note = f"; it runs {keeps} first" if keeps else ""
    return HookResult(hook, True, f"{verb} {hook}{note}", keeps)


def uninstall_hook(root: Path) -> HookResult:
    """Remove the hook and put back the one it replaced; a foreign hook is left alone."""
    directory = hooks_dir(root)
    hook = directory / HOOK_NAME
    chained_dir = directory / CHAINED_DIR
    chained = chained_dir / HOOK_NAME
    if not os.path.lexists(hook) or not _is_ours(hook):
        what = "is not repolens's" if os.path.lexists(hook) else "does not exist"
        return HookResult(hook, False, f"{hook} {what}; nothing to uninstall")
    if os.path.lexists(chained):
        os.replace(chained, hook)
        with contextlib.suppress(OSError):
            chained_dir.rmdir()
        return HookResult(hook, True, f"removed repolens's hook; restored the previous {hook}")
    hook.unlink()
    with contextlib.suppress(OSError):
        chained_dir.rmdir()
    return HookResult(hook, True, f"removed {hook}")


# --------------------------------------------------------------------------- the message file


def _comment_chars(root: Path) -> str:
    from .git import config_value, open_repo

    try:
        value = config_value(open_repo(root), "core.commentChar")
    except Exception:
        value = None
    if value is None:
        return "#"
    if value == "auto":
        return _AUTO_COMMENT_CHARS
    return value[:1] or "#"


def has_user_text(content: str, comment_chars: str = "#") -> bool:
    """Whether git's message file holds anything besides comments and blank lines."""
    for line in content.split("\n"):
        if _SCISSORS in line:
            break
        stripped = line.strip()
        if stripped and not line.startswith(tuple(comment_chars)):
            return True
    return False


def merge_message(message: str, original: str) -> str:
    """The message above git's comment lines (which keep their blank line before them)."""
    message = message.rstrip("\n") + "\n"
    if not original.strip():
        return message
    return message + ("" if original.startswith("\n") else "\n") + original


def write_message(path: Path, message: str, original: bytes) -> bool:
    """Put ``message`` above the comments of ``path`` atomically; False when the file changed
    meanwhile (then it is left as it is)."""
    merged = merge_message(message, original.decode("utf-8", "replace"))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.repolens-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(merged.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        if path.read_bytes() != original:
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
        return True
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- running


def _timeout(environ: Mapping[str, str]) -> float:
    try:
        value = float(environ.get(TIMEOUT_ENV, "") or DEFAULT_TIMEOUT_S)
    except ValueError:
        value = DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


def _say(text: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"repolens: {text}\n")
        sys.stderr.flush()


def _hook_settings(root: Path, timeout: float, environ: Mapping[str, str]) -> Any:
    from ..settings import load_settings

    settings, _warnings = load_settings(root, lenient=True, environ=dict(environ))
    model = settings.model
    overrides: dict[str, Any] = {
        "model": {
            "timeout_s": max(0.5, min(model.timeout_s, timeout)),
            "connect_timeout_s": max(0.2, min(model.connect_timeout_s, timeout / 4)),
        }
    }
    budget = environ.get(BUDGET_ENV, "")
    if budget.isdigit() and int(budget) >= 256:
        overrides["chat"] = {"budget_tokens": int(budget)}
    elif model.backend == "embedded":
        chat = settings.chat
        overrides["chat"] = {
            "budget_tokens": min(chat.budget_tokens or EMBEDDED_HOOK_BUDGET, EMBEDDED_HOOK_BUDGET),
            "answer_tokens": min(chat.answer_tokens, EMBEDDED_HOOK_ANSWER),
        }
    merged, _ = settings.merged(overrides, lenient=True)
    return merged


def run_hook(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """What the hook script runs: ``MSGFILE [SOURCE [SHA]]``. Always returns 0."""
    env = os.environ if environ is None else environ
    if not argv:
        return 0
    if env.get(DISABLE_ENV, "").strip().lower() in {"0", "off", "false", "no"}:
        log.debug("skipped: %s=%s", DISABLE_ENV, env.get(DISABLE_ENV))
        return 0
    source = argv[1] if len(argv) > 1 else ""
    if source in SKIPPED_SOURCES:
        log.debug("skipped: git already has the message (source %s)", source)
        return 0
    timeout = _timeout(env)
    started = time.monotonic()

    def give_up() -> None:
        _say(f"no commit message after {timeout:g} s ({TIMEOUT_ENV}); git's message is unchanged")
        os._exit(0)

    watchdog = threading.Timer(timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        path = Path(argv[0])
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            original = path.read_bytes()
        except OSError:
            return 0
        from .git import open_repo

        repo = open_repo(Path.cwd())
        root = Path(repo.working_tree_dir or Path.cwd())
        comment_chars = _comment_chars(root)
        if has_user_text(original.decode("utf-8", "replace"), comment_chars):
            log.debug("skipped: the message file already has text")
            return 0
        if sys.stderr.isatty():
            _say(f"writing a commit message (at most {timeout:g} s; {DISABLE_ENV}=0 skips)")
        from .message import commit_message

        remaining = max(timeout - (time.monotonic() - started), 0.5)
        message = commit_message(root, staged=True, settings=_hook_settings(root, remaining, env))
        if message.fallback and message.fallback_kind != "unusable":
            _say(f"no commit message: {message.fallback_reason}")  # down, slow or failing
            return 0
        if message.fallback:  # it answered, but with nothing usable: the summary stands in
            _say(f"{message.fallback_reason}; wrote one built from the diff summary")
        if message.subject.startswith(tuple(comment_chars)):
            _say("no commit message: git would take its subject for a comment")
            return 0
        # git removes lines that start with its comment character (core.commentChar)
        text = "\n".join(
            line for line in message.text.split("\n") if not line.startswith(tuple(comment_chars))
        )
        watchdog.cancel()
        if not write_message(path, text, original):
            _say("the message file changed meanwhile; left it as it is")
        else:
            log.debug(
                "wrote a %d-character message in %.1f s",
                len(message.text),
                time.monotonic() - started,
            )
        return 0
    except BaseException as exc:  # the hook never fails a commit
        if not isinstance(exc, KeyboardInterrupt | SystemExit):
            _say(f"no commit message: {exc}")
        return 0
    finally:
        watchdog.cancel()


def main(argv: Sequence[str] | None = None) -> None:
    try:
        from .._log import configure_logging

        configure_logging(-1)  # warnings would clutter every commit; REPOLENS_LOG=info shows them
        code = run_hook(list(sys.argv[1:] if argv is None else argv))
    except BaseException:
        code = 0
    sys.stdout.flush()
    os._exit(code)  # no waiting for model threads or atexit handlers


if __name__ == "__main__":
    main()
