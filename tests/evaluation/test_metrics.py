"""Scoring a completion against the hidden line, the figures over tasks, and the warnings
that read them."""

from __future__ import annotations

import pytest

from repolens.evaluation import EvalResult, EvalTask, Report, difference, score, summarize
from repolens.evaluation.report import table, warnings


def test_score() -> None:
    s = score("add(user)  \nmore lines", "add(user)")
    assert s.exact and s.first_identifier and s.edit_similarity == 1.0
    s = score("add(user, True)", "add(user)")
    assert not s.exact and s.first_identifier and 0.5 < s.edit_similarity < 1.0
    s = score("get_by_email(user)", "add(user)")
    assert not s.exact and not s.first_identifier
    assert score("", "add(user)").edit_similarity == 0.0


def test_summary_has_standard_errors() -> None:
    scores = [score("a", "a"), score("b", "a"), score("a", "a"), score("c", "a")]
    s = summarize(scores, [10, 20, 30, 400], [100, 100, 200, 200], [0.5, 0.5, 0.0, 0.0])
    assert s.n == 4 and s.exact == 0.5
    assert s.exact_se == pytest.approx(0.2887, abs=1e-3)  # stdev 0.577 / sqrt(4)
    assert s.latency_p50_ms in (20, 30) and s.latency_p95_ms == 400
    assert s.prompt_tokens == 150 and s.prefix_reuse == 0.25


def _report(none_right: int, ours_right: int, n: int = 20, wrong: str = "y)") -> Report:
    tasks = [EvalTask("call", f"f{i}.py", 1, 5, "f(", "x)", False) for i in range(n)]
    report = Report(("none", "repolens"), tasks)
    for i, t in enumerate(tasks):
        for mode, right in (("none", none_right), ("repolens", ours_right)):
            text = "x)" if i < right else wrong
            report.results.append(
                EvalResult(t, mode, text, score(text, t.expected), 5.0, 9, 0.0, 0)
            )
    return report


def test_warnings_read_the_numbers() -> None:
    chatty = _report(0, 0, wrong="Sure! Here is the code you asked for")
    assert any("wrong template" in w for w in warnings(chatty, "qwen2.5-coder", True))
    # near-zero exact match with answers close to the line: hard tasks, not a wrong template
    close = _report(0, 0, wrong="x, y)")
    assert not any("wrong template" in w for w in warnings(close, "qwen2.5-coder", True))
    assert any(
        "worse than no context" in w for w in warnings(_report(12, 2), "qwen2.5-coder", True)
    )
    assert warnings(_report(5, 9), "qwen2.5-coder", True) == []
    assert any("no fill-in-the-middle" in w for w in warnings(_report(5, 9), "prefix-only", False))
    text = table(_report(5, 9))
    assert "deciding, answer not in the file" in text and "0.45" in text


def test_differences_are_paired_over_the_same_tasks() -> None:
    # repolens gets every task none gets, and four more: the modes' own standard errors
    # (about 0.11 each) overlap, the paired one (0.09) says the +0.20 is real
    report = _report(5, 9)
    d = report.differences()["all"]["none"]
    assert d.n == 20 and d.exact == pytest.approx(0.20)
    summary = report.summary()["all"]
    assert d.exact_se < min(summary["none"].exact_se, summary["repolens"].exact_se)
    assert d.exact_se == pytest.approx(0.0918, abs=1e-3)  # stdev of 4 ones in 20 / sqrt(20)
    assert "repolens - none: exact +0.20±0.09" in table(report)
    # a mode missing from a task pairs nothing there; unequal inputs are a bug, not a figure
    assert Report(("none",), report.tasks, report.results).differences() == {}
    with pytest.raises(ValueError, match="differ in length"):
        difference([score("a", "a")], [])
