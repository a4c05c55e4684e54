"""``repolens doctor``: check everything repolens needs, and say how to fix what is missing."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import find_repo_root, print_json, settings_for

__all__ = ["register"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    data: dict[str, Any] | None = None  # structured facts for --json (the completion model)

    def as_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "fix": self.fix,
            "required": self.required,
        }
        if self.data is not None:
            out["data"] = self.data
        return out


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the installation, the index and the model, with fixes",
        description="Check Python, the tree-sitter grammars, SQLite, the cache directory, git, "
        "the repository's index and the configured model; print how to fix each problem.",
    )
    p.add_argument("--repo", type=Path, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-model", action="store_true", help="skip loading/calling the model")
    p.set_defaults(func=run)


def _check(name: str, fn: Callable[[], tuple[bool, str, str]], required: bool = True) -> Check:
    try:
        ok, detail, fix = fn()
    except Exception as exc:  # a doctor must report, not crash
        ok, detail, fix = False, f"{type(exc).__name__}: {exc}", "see the error above"
    return Check(name, ok, detail, fix, required)


def _python() -> tuple[bool, str, str]:
    v = sys.version_info
    ok = v >= (3, 11)
    return (
        ok,
        f"Python {v.major}.{v.minor}.{v.micro} at {sys.executable}",
        ("" if ok else "install Python 3.11 or newer"),
    )


def _grammars() -> tuple[bool, str, str]:
    from ..indexer.languages import all_languages, combined_query, parser_for

    loaded, broken = [], []
    for spec in all_languages():
        try:
            parser_for(spec.name).parse(b"x")
            combined_query(spec.name)
            loaded.append(spec.name)
        except Exception as exc:
            broken.append(f"{spec.name} ({exc})")
    if broken:
        return False, "broken: " + ", ".join(broken), "pip install -e . (grammar wheels)"
    return True, f"{len(loaded)} grammars: {', '.join(loaded)}", ""


def _sqlite() -> tuple[bool, str, str]:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, detail=column)")
    except sqlite3.OperationalError as exc:
        return (
            False,
            f"SQLite {sqlite3.sqlite_version} lacks FTS5 ({exc})",
            ("use a Python built with a SQLite that has FTS5"),
        )
    finally:
        conn.close()
    return True, f"SQLite {sqlite3.sqlite_version} with FTS5", ""


def _cache_dir() -> tuple[bool, str, str]:
    from ..indexer import default_cache_dir

    path = default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path):
        pass
    return True, f"{path} is writable", ""


def _git() -> tuple[bool, str, str]:
    exe = shutil.which("git")
    if exe is None:
        return False, "git not found", "install git (file lists and commit messages use it)"
    return True, exe, ""


def _completion_model(model_settings: Any) -> Check:
    """Which model serves completion (model.gguf, a pulled model, the bundled SmolLM2 or a
    server) and whether it can infill; read from the settings and the pull record, without
    loading the model, so it runs with --no-model too."""
    from .model import completion_model_line, completion_model_report

    try:
        report = completion_model_report(model_settings)
    except Exception as exc:  # a doctor must report, not crash
        return Check("completion model", False, f"{type(exc).__name__}: {exc}", required=False)
    detail = completion_model_line(report)
    if report["warning"] and report["path"] is not None:
        detail += f" — {report['warning']}"
    fix = ""
    if not report["can_infill"]:
        fix = (
            "repolens model pull qwen2.5-coder-1.5b (a FIM code model; it becomes the "
            "completion model)"
        )
        if report["source"] == "server":
            fix = "serve a FIM code model (Qwen2.5-Coder, CodeGeeX4), or set model.template"
    ok = bool(report["can_infill"]) and not report["warning"]
    return Check("completion model", ok, detail, fix, required=False, data=report)


def run(args: argparse.Namespace) -> int:
    root = find_repo_root(args.repo or Path("."))
    checks = [
        _check("python", _python),
        _check("grammars", _grammars),
        _check("sqlite", _sqlite),
        _check("cache directory", _cache_dir),
        _check("git", _git),
    ]
    settings = settings_for(root)
    checks.append(_completion_model(settings.model))

    def index_check() -> tuple[bool, str, str]:
        from .common import open_index

        index = open_index(root, settings)
        stats = index.stats()
        if stats["files"] == 0:
            return False, f"no index yet for {root}", f"repolens index {root}"
        return (
            True,
            (
                f"{stats['files']} files, {stats['symbols']} symbols, {stats['skipped']} skipped "
                f"({index.store.path})"
            ),
            "",
        )

    checks.append(_check("index", index_check, required=False))
    if not args.no_model:

        def model_check() -> tuple[bool, str, str]:
            from ..backends import describe_model

            status = describe_model(settings.model, check=True)
            statuses.append(status)
            detail = f"{status.backend}: {status.model} at {status.location} — {status.message}"
            return status.answers, detail, "" if status.answers else "see `repolens model status`"

        def template_check() -> tuple[bool, str, str]:
            # the most common cause of "autocomplete silently does nothing": a template that
            # does not fit the model, or a chat/instruct model without infilling
            from ..completion.templates import choose_template

            name = (statuses[0].model if statuses else None) or settings.model.model or ""
            choice = choose_template(settings.model.template, name)
            detail = f"{choice.template.name} for {name or 'an unnamed model'}"
            if choice.warning:
                fix = "set model.template, or use a code model"
                return False, f"{detail}: {choice.warning}", fix
            return True, detail, ""

        def process_check() -> tuple[bool, str, str]:
            # the local model process: is it up, in which CPU mode, what crashed
            process = statuses[0].details.get("process") if statuses else None
            if not isinstance(process, dict):
                return False, "no record of the local model process", "see `repolens model status`"
            from .model import process_rows

            detail = "; ".join(f"{label}: {value}" for label, value in process_rows(process))
            ok = process.get("state") == "ready"
            fix = str(process.get("fix") or ("" if ok else "repolens model restart"))
            return ok, detail, fix

        def cpu_check() -> tuple[bool, str, str]:
            # what the probe found on this llama.cpp build and CPU
            process = statuses[0].details.get("process") if statuses else None
            probe = process.get("probe") if isinstance(process, dict) else None
            if not probe:
                return True, "not probed yet (the model process probes on its first start)", ""
            crashed = {m: r for m, r in probe.items() if not r.get("ok")}
            working = [m for m, r in probe.items() if r.get("ok")]
            if not crashed:
                return True, f"{', '.join(working)} mode works on this CPU", ""
            detail = "; ".join(f"{m} mode crashes ({r.get('signal')})" for m, r in crashed.items())
            if working:
                detail += (
                    f"; {working[0]} mode works and is used. This CPU advertises instructions "
                    "it traps (often AMX on a VM); the safe mode costs some prompt speed"
                )
                return False, detail, "nothing to do; repolens model restart --reprobe retries"
            return False, detail, "see the model process check"

        statuses: list[Any] = []
        checks.append(_check("model", model_check))
        if settings.model.backend == "embedded":
            checks.append(_check("model process", process_check))
            checks.append(_check("cpu modes", cpu_check, required=False))
        checks.append(_check("template", template_check, required=False))

    if args.json:
        print_json({"root": str(root), "checks": [c.as_json() for c in checks]})
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("FAIL" if c.required else "note")
            print(f"[{mark}] {c.name:<16} {c.detail}")
            if not c.ok and c.fix:
                print(f"       fix: {c.fix}")
    failed = [c for c in checks if c.required and not c.ok]
    return 1 if failed else 0
