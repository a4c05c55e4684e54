"""``repolens context`` (what the model would see) and ``repolens complete`` (what it says)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .common import find_repo_root, print_json, settings_for
from .index import update_with_progress

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..app import Services
    from ..types import Withheld

__all__ = ["parse_position", "print_withheld", "register"]


def parse_position(text: str) -> tuple[str, int, int]:
    """``FILE:LINE:COL`` (1-based line and column) -> (file, line, column)."""
    file, sep1, rest = text.rpartition(":")
    file2, sep2, line = file.rpartition(":")
    if not sep1 or not sep2 or not file2:
        raise UsageError(f"{text!r}: positions are FILE:LINE:COL (1-based), e.g. src/app.py:12:5")
    try:
        line_no, col_no = int(line), int(rest)
    except ValueError:
        raise UsageError(f"{text!r}: LINE and COL must be numbers (FILE:LINE:COL)") from None
    if line_no < 1 or col_no < 1:
        raise UsageError(f"{text!r}: LINE and COL start at 1")
    return file2, line_no, col_no


def register(sub: Any) -> None:
    c = sub.add_parser(
        "context",
        help="show the context and prompt a completion at FILE:LINE:COL would use",
        description="The cross-file context repolens retrieves for completion positions and "
        "the exact prompt it builds: the same code path the editor's completion uses.",
    )
    c.add_argument("positions", nargs="+", metavar="FILE:LINE:COL")
    c.add_argument("--repo", type=Path, default=None, help="repository root (default: git root)")
    c.add_argument("--budget", type=int, default=None, help="tokens of cross-file context")
    c.add_argument("--json", action="store_true", help="one JSON object per position")
    c.add_argument("--prompt", action="store_true", help="also print the whole prompt")
    c.set_defaults(func=run_context)

    p = sub.add_parser("complete", help="print the completion the model gives at FILE:LINE:COL")
    p.add_argument("position", metavar="FILE:LINE:COL")
    p.add_argument("--repo", type=Path, default=None)
    p.add_argument("--budget", type=int, default=None)
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_complete)


def _services(
    repo_arg: Path | None, first_file: str, overrides: dict[str, Any] | None = None
) -> Services:
    from ..app import Services
    from ..workspace import Workspace

    start = repo_arg
    if start is None:
        f = Path(first_file)
        start = f.parent if f.is_absolute() else Path(".")
    root = find_repo_root(start)
    return Services(Workspace(root, settings_for(root, overrides)))


def _relative(services: Services, file: str) -> str:
    from ..completion.engine import resolve_position

    return resolve_position(services.root, file)


def run_context(args: argparse.Namespace) -> int:
    positions = [parse_position(p) for p in args.positions]
    services = _services(args.repo, positions[0][0])
    update_with_progress(services.indexing, quiet=args.json)
    engine = services.engine
    for file, line, col in positions:
        ctx = engine.context(_relative(services, file), line, col, budget=args.budget)
        if args.json:
            print_json(ctx.as_json())
            continue
        print(
            f"{ctx.file}:{ctx.line}:{ctx.column}  template {ctx.template}  "
            f"{ctx.context_tokens} context tokens in {len(ctx.snippets)} snippets  "
            f"({ctx.timings_ms['total']:.1f} ms)"
        )
        for s in ctx.snippets:
            print(f"  {s.source:<10} {s.path}:{s.start_line}-{s.end_line}  {s.tokens} tokens")
        print_withheld(ctx.withheld, ctx.redactions, ctx.prompt if args.prompt else None)
    return 0


def print_withheld(
    withheld: Sequence[Withheld], redactions: int, prompt: str | None = None
) -> None:
    """The end of a context's human output: what the secret filter kept out of the prompt,
    then the prompt itself when asked for (``--prompt``)."""
    if withheld:
        names = ", ".join(f"{w.path} ({w.reason})" for w in withheld)
        print(f"  withheld (secret files, never in a prompt): {names}")
    if redactions:
        values = "value" if redactions == 1 else "values"
        print(f"  {redactions} secret-looking {values} redacted as <redacted:kind>")
    if prompt is not None:
        print("---- prompt ----")
        print(prompt)
        print("---- end ----")


def run_complete(args: argparse.Namespace) -> int:
    import asyncio

    from ..app import CompletionRequest

    file, line, col = parse_position(args.position)
    overrides = {"completion": {"max_tokens": args.max_tokens}} if args.max_tokens else None
    services = _services(args.repo, file, overrides)
    update_with_progress(services.indexing, quiet=args.json)
    request = CompletionRequest(_relative(services, file), line, col, budget=args.budget)
    outcome = asyncio.run(services.completions.suggest(request))
    if outcome.error is not None:
        raise outcome.error
    if outcome.result is None:
        print(f"repolens: no completion: {outcome.skipped}", file=sys.stderr)
        return 1
    if args.json:
        print_json(outcome.result.as_json())
        return 0
    if not outcome.text:
        print("repolens: the model suggested nothing here", file=sys.stderr)
        return 0
    sys.stdout.write(outcome.text + "\n")
    return 0
