"""``repolens ask``: answer a question from the repository, or explain the whole project."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RepolensError
from .common import find_repo_root, print_json, settings_for
from .complete import print_withheld
from .index import update_with_progress

if TYPE_CHECKING:
    from ..app import QuestionService

__all__ = ["register"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ask",
        help="answer a question about the repository (no question: explain the project)",
        description="Answer a question from the repository: hybrid search (full text, symbols, "
        "vectors when an embedder is configured) expanded along the symbol graph, packed by "
        "whole functions and classes up to the model's context window, with path:line "
        "citations. Without a question (or with --overview) it explains what the project "
        "does from its README, manifests, repository map and entry points.",
    )
    p.add_argument("question", nargs="*", help="the question (quote it, or several words)")
    p.add_argument("--repo", type=Path, default=None, help="repository root (default: git root)")
    p.add_argument(
        "--budget",
        type=int,
        default=None,
        help="prompt tokens (default: the model's context window minus room for the answer)",
    )
    p.add_argument(
        "--context-only",
        action="store_true",
        help="print the context the model would get, without calling the model",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help='JSON: {"question", "snippets", "sources", "prompt_tokens", "timings_ms"} '
        '(+ "answer", "citations"; + "withheld", "redactions" when secrets were kept out)',
    )
    p.add_argument("--overview", action="store_true", help="explain what the project does")
    p.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        help="longest answer, in tokens (chat.answer_tokens)",
    )
    p.add_argument("--prompt", action="store_true", help="with --context-only: the whole prompt")
    p.set_defaults(func=run_ask)


class _Total:
    total = 1 << 62  # no sync finished yet: assume there is work left


def _estimate_tokenizer() -> Any:
    from ..backends.openai_http import estimate_tokens

    class Estimate:
        def count(self, text: str) -> int:
            return estimate_tokens(text)

        def count_many(self, texts: Any) -> list[int]:
            return [estimate_tokens(t) for t in texts]

    return Estimate()


def run_ask(args: argparse.Namespace) -> int:
    from ..app import Indexing, QuestionService
    from ..backends.base import ModelUnavailable
    from ..chat.qa import QAEngine
    from ..workspace import Workspace

    question = " ".join(args.question).strip()
    if args.overview:
        question = ""
    if args.max_tokens is not None and args.max_tokens < 1:
        raise RepolensError("--max-tokens must be at least 1")
    root = find_repo_root(args.repo or Path("."))
    ws = Workspace(root, settings_for(root))
    update_with_progress(Indexing(ws, lambda: None), quiet=args.json)
    tokenizer = None
    if args.context_only:
        try:
            ws.model  # noqa: B018 - the tokenizer of the configured model, when it loads
        except ModelUnavailable as exc:
            if args.budget is None:
                raise
            print(f"repolens: {exc}; counting tokens by estimate", file=sys.stderr)
            tokenizer = _estimate_tokenizer()
    engine = QAEngine(ws, tokenizer=tokenizer)
    try:
        return _run(QuestionService(lambda: engine, lambda: ws.index), args, question)
    finally:
        vectors = engine.vectors
        if vectors is not None and vectors.count < (vectors.last_report or _Total()).total:
            engine.close(wait_s=1.0)  # embed a little more; what is done is saved
            print(
                f"repolens: semantic search covers {vectors.count} of "
                f"{vectors.last_report.total if vectors.last_report else '?'} chunks so far "
                "(built in the background; the language server finishes it)",
                file=sys.stderr,
            )
        else:
            engine.close(wait_s=0.0)


def _run(service: QuestionService, args: argparse.Namespace, question: str) -> int:
    if args.context_only:
        ctx = service.context(question, args.budget)
        if args.json:
            print_json(ctx.as_json())
            return 0
        print(
            f"{len(ctx.snippets)} snippets, {ctx.prompt_tokens} prompt tokens "
            f"(budget {ctx.budget}) in {ctx.timings_ms['total']:.0f} ms"
        )
        for s in ctx.snippets:
            what = f"  {s.symbol}" if s.symbol else ""
            print(f"  {s.source:<11} {s.path}:{s.start_line}-{s.end_line}  {s.tokens} tokens{what}")
        print_withheld(ctx.withheld, ctx.redactions, ctx.prompt if args.prompt else None)
        return 0
    return asyncio.run(_answer(service, args, question))


async def _answer(service: QuestionService, args: argparse.Namespace, question: str) -> int:
    from ..app import Piece, Retrieved

    out: dict[str, Any] = {}
    async for event in service.ask(question, budget=args.budget, max_tokens=args.max_tokens):
        if isinstance(event, Retrieved):
            out = event.as_json()
            if not args.json:
                ctx = event.context
                print(
                    f"repolens: {len(ctx.snippets)} snippets, {ctx.prompt_tokens} prompt tokens",
                    file=sys.stderr,
                )
        elif isinstance(event, Piece):
            if not args.json:
                sys.stdout.write(event.text)
                sys.stdout.flush()
        else:
            out.update(answer=event.answer, citations=[c.as_json() for c in event.citations])
            unknown = [c for c in event.citations if not c.indexed]
            if args.json:
                print_json(out)
            else:
                sys.stdout.write("\n")
                for c in unknown[:5]:
                    print(
                        f"repolens: the answer cites {c.path}:{c.start_line}, which is not in "
                        "the index",
                        file=sys.stderr,
                    )
    return 0
