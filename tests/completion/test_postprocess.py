"""Post-processing of raw model output (pure functions)."""

from __future__ import annotations

from repolens.completion.postprocess import decide_mode, postprocess


def test_mode_by_cursor_context() -> None:
    assert decide_mode("    x = foo(", ")").multiline is False  # only a closer follows
    assert not decide_mode("    x = foo(a", ", b)").multiline  # mid-line
    assert decide_mode("    ", "").multiline  # empty line
    assert decide_mode("def f(x):", "").multiline  # opens a block
    assert decide_mode("function f() {", "").multiline
    assert not decide_mode("    return x +", "").multiline  # end of a statement


def test_single_line_keeps_the_first_line_only() -> None:
    assert postprocess("add(user)\n    repo.save()\n", "    repo.", "", "\n", False) == "add(user)"


def test_single_line_takes_the_next_line_when_the_model_starts_with_a_newline() -> None:
    assert postprocess("\nadd(user)\n", "    repo.", "", "\n", False) == "add(user)"


def test_closing_brackets_already_in_the_line_are_not_duplicated() -> None:
    assert postprocess("user, role)", "    check(", ")", ")\n", False) == "user, role"
    assert postprocess("x']", "    d['", "']", "']\n", False) == "x"


def test_block_stops_when_indentation_leaves_the_block() -> None:
    raw = (
        "    total = 0\n    for x in xs:\n        total += x\n    return total\n"
        "\ndef other():\n    pass\n"
    )
    out = postprocess(raw, "", "", "\n", True)
    assert out == "    total = 0\n    for x in xs:\n        total += x\n    return total"


def test_block_in_brace_language_stops_at_the_closing_brace() -> None:
    raw = "\n  return a + b;\n}\n\nfunction other() {\n}\n"
    out = postprocess(raw, "function add(a, b) {", "", "\n", True)
    assert out == "\n  return a + b;\n}"


def test_repeated_suffix_is_dropped() -> None:
    suffix = "\n    return result\n\n\ndef after():\n"
    raw = "result = compute(x)\n    return result\n"
    assert postprocess(raw, "    ", "", suffix, True) == "result = compute(x)"


def test_re_emitted_indentation_is_removed_on_an_empty_line() -> None:
    assert postprocess("    x = 1", "    ", "", "\n", True) == "x = 1"


def test_whitespace_only_means_no_suggestion() -> None:
    assert postprocess("  \n\n ", "x = ", "", "\n", False) == ""
