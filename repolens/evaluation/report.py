"""What ``repolens eval`` prints: a table per group of tasks, warnings that read the numbers,
and the JSON for scripts."""

from __future__ import annotations

from typing import Any

from .metrics import Summary
from .run import Report

__all__ = ["as_json", "table", "warnings"]

_NEAR_ZERO = 0.05
_FAR = 0.25  # edit similarity below which completions are not attempts at the hidden line
_MIN_TASKS = 10  # below this a warning would read noise


def warnings(report: Report, template: str, supports_suffix: bool) -> list[str]:
    """What the figures say is wrong with the set-up (empty when nothing is)."""
    out: list[str] = []
    if not supports_suffix:
        out.append(
            f"template {template!r} has no fill-in-the-middle tokens: the model sees only the "
            "code before the cursor and cross-file context barely changes its answers; pull a "
            "code model (repolens model pull qwen2.5-coder-1.5b) or set model.template"
        )
    overall = report.summary().get("all", {})
    none, ours = overall.get("none"), overall.get("repolens")
    if (
        none is not None
        and ours is not None
        and none.n >= _MIN_TASKS
        and none.exact < _NEAR_ZERO
        and ours.exact < _NEAR_ZERO
        # hard tasks also score near zero exact; an answer that does not infill is also far
        # from the line (the first httpx run, 0.03 exact at 0.37-0.42 similarity, is not this)
        and none.edit_similarity < _FAR
        and ours.edit_similarity < _FAR
    ):
        out.append(
            f"exact match is near zero with and without context ({none.exact:.2f} and "
            f"{ours.exact:.2f}): this looks like a wrong template ({template}) or a chat model "
            "that does not infill; check model.template and that the model is a FIM code model"
        )
    worse = report.differences().get("all", {}).get("none")
    if (
        none is not None
        and ours is not None
        and worse is not None
        and worse.n >= _MIN_TASKS
        and worse.exact + 2 * worse.exact_se < 0  # paired: the same tasks, fewer right
    ):
        out.append(
            f"repolens's context made exact match worse than no context ({ours.exact:.2f} vs "
            f"{none.exact:.2f}): try a smaller --budget, and report it with --json output"
        )
    return out


def _cell(value: float, se: float) -> str:
    return f"{value:.2f}±{se:.2f}"


def table(report: Report) -> str:
    lines: list[str] = []
    header = (
        f"{'mode':<9} {'n':>4} {'exact':>10} {'first id':>10} {'edit sim':>10} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'tokens':>7} {'reuse':>6}"
    )
    differences = report.differences()
    for group, per_mode in report.summary().items():
        lines.append(f"{group}")
        lines.append("  " + header)
        for mode, s in per_mode.items():
            lines.append("  " + _row(mode, s))
        for other, d in differences.get(group, {}).items():
            lines.append(
                f"  repolens - {other}: exact {_signed(d.exact, d.exact_se)}, "
                f"first id {_signed(d.first_identifier, d.first_identifier_se)} (paired)"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _signed(value: float, se: float) -> str:
    return f"{value:+.2f}±{se:.2f}"


def _row(mode: str, s: Summary) -> str:
    return (
        f"{mode:<9} {s.n:>4} {_cell(s.exact, s.exact_se):>10} "
        f"{_cell(s.first_identifier, s.first_identifier_se):>10} "
        f"{_cell(s.edit_similarity, s.edit_similarity_se):>10} "
        f"{s.latency_p50_ms:>7.0f} {s.latency_p95_ms:>7.0f} {s.prompt_tokens:>7.0f} "
        f"{s.prefix_reuse:>6.2f}"
    )


def as_json(report: Report, meta: dict[str, Any], warned: list[str]) -> dict[str, Any]:
    return {
        **meta,
        "modes": list(report.modes),
        "tasks": len(report.tasks),
        "seconds": round(report.seconds, 1),
        "summary": {
            group: {mode: s.as_json() for mode, s in per_mode.items()}
            for group, per_mode in report.summary().items()
        },
        "differences": {
            group: {f"repolens-{other}": d.as_json() for other, d in row.items()}
            for group, row in report.differences().items()
        },
        "warnings": warned,
        "task_list": [t.as_json() for t in report.tasks],
        "results": [r.as_json() for r in report.results],
    }
