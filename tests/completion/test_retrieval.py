"""The definition a completion needs is in its context when it lives in another file —
resolved through imports, re-exports and local types, in Python, TypeScript, Go and Java."""

from __future__ import annotations

from tests.completion.conftest import covers, typing_at


def test_python_call_through_a_renamed_reexport(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("python_app"))
    ctx = at("main.py", 11, "    print(welcome(")
    assert (ctx.trigger, ctx.target) == ("call", "welcome")
    assert covers(ctx, "app/services/mail.py", 5)  # def send_welcome
    target = next(s for s in ctx.snippets if s.path == "app/services/mail.py")
    assert target.source == "definition" and "def send_welcome(" in target.text


def test_python_member_of_a_variable_built_from_an_imported_class(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("python_app"))
    ctx = at("main.py", 10, "    repo.")
    assert (ctx.trigger, ctx.target) == ("member", "repo")
    outline = next(
        s for s in ctx.snippets if s.path == "app/models/repository.py" and s.source == "type"
    )
    assert outline.start_line == 6  # class UserRepository
    assert "def get_by_email(self, email: str) -> User | None:" in outline.text


def test_python_member_shows_inherited_methods(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("python_app"))
    ctx = at("main.py", 10, "    user.")
    user = next(s for s in ctx.snippets if s.source == "type")
    assert (user.path, user.start_line) == ("app/models/user.py", 18)  # @dataclass class User
    assert "inherited from Person" in user.text and "def display_name(self) -> str:" in user.text


def test_python_statement_start_offers_the_files_imports(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("python_app"))
    ctx = at("main.py", 11, "    ")
    assert ctx.trigger == "statement"
    for path, line in [
        ("app/util.py", 11),
        ("app/services/mail.py", 5),
        ("app/models/repository.py", 6),
    ]:
        assert covers(ctx, path, line), (path, line)


def test_python_module_attribute(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("python_app"))
    ctx = at("app/services/mail.py", 7, "    return util.")
    assert covers(ctx, "app/util.py", 6)  # render_template in the module's outline


def test_typescript_member_through_barrel_and_base_class(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("ts_app"))
    ctx = at("src/app.ts", 11, "  user.")
    user = next(s for s in ctx.snippets if s.source == "type")
    assert (user.path, user.start_line <= 13 <= user.end_line) == ("src/models/user.ts", True)
    assert "touch()" in user.text  # inherited from BaseEntity in models/base.ts


def test_typescript_method_of_an_imported_class_instance(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("ts_app"))
    ctx = at("src/app.ts", 10, "  const user: User = service.register(")
    assert covers(ctx, "src/services/userService.ts", 13)  # register(name, email): User


def test_go_package_function_and_struct_methods_across_files(engine_for) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for("go_app")
    at = typing_at(engine)
    ctx = at("main.go", 12, "\tconf := cfg.Load(")
    assert covers(ctx, "internal/config/config.go", 13)
    ctx = at("main.go", 14, "\ts.")
    store = next(s for s in ctx.snippets if s.source == "type")
    assert store.path == "internal/store/store.go" and store.start_line <= 7 <= store.end_line
    assert "Put(key, value string)" in store.text  # a method defined in ops.go


def test_java_member_and_static_call(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("java_app"))
    main = "src/main/java/com/example/app/Main.java"
    ctx = at(main, 13, "        String text = Strings.joinAll(")
    assert covers(ctx, "src/main/java/com/example/util/Strings.java", 10)
    ctx = at(main, 13, "        String text = circle.")
    circle = next(s for s in ctx.snippets if s.source == "type")
    assert circle.path == "src/main/java/com/example/model/Circle.java" and circle.start_line <= 6


def test_context_never_exceeds_the_budget(engine_for) -> None:  # type: ignore[no-untyped-def]
    engine = engine_for("python_app")
    at = typing_at(engine)
    for budget in (0, 40, 120, 400, 2048):
        lines = (engine.index.text("main.py") or "").split("\n")
        lines[10] = "    "
        ctx = engine.context("main.py", 11, 5, text="\n".join(lines), budget=budget)
        header = sum(engine.count(engine._header_text(s.path)) for s in ctx.snippets)
        assert ctx.context_tokens + header <= budget
    assert at("main.py", 11, "    ").context_tokens > 0


def test_definitions_already_in_the_prompt_are_not_repeated(engine_for) -> None:  # type: ignore[no-untyped-def]
    at = typing_at(engine_for("python_app"))
    ctx = at("app/models/repository.py", 17, "        return self._users.get(")
    assert not any(
        s.path == "app/models/repository.py" and s.source != "similar" for s in ctx.snippets
    )


def test_python_module_members_survive_many_imports_before_the_module(  # type: ignore[no-untyped-def]
    fixture_repo,
) -> None:
    # dozens of typing imports come first in big modules (sqlalchemy's decl_base.py has 53);
    # they must not push `from app import util` past the import limit, or util.render_template,
    # the file's most used call, is missing at the start of a statement
    from tests.completion.conftest import make_engine

    root = fixture_repo("python_app")
    names = [f"T{i}" for i in range(50)]
    typing_lines = "".join(f"from typing import Any as {n}\n" for n in names)
    (root / "app" / "pages.py").write_text(
        typing_lines
        + "from app import util\n\n\n"
        + "def home(name):\n    return util.render_template('home', name=name)\n\n\n"
        + "def about(name):\n    return util.render_template('about', name=name)\n\n\n"
        # far from the cursor: the uses are not in its neighbourhood, only in the file
        + "".join(f"def filler{i}(v):\n    w = v + {i}\n    return w\n\n\n" for i in range(40))
        + "def contact(name):\n    x = name.strip()\n    return x\n"
    )
    at = typing_at(make_engine(root, "qwen2.5-coder"))
    line = 50 + 11 + 40 * 5 + 3  # `return x` in contact()
    ctx = at("app/pages.py", line, "    ")
    assert ctx.trigger == "statement"
    assert "x = name.strip()" in ctx.prompt.split("<|fim_suffix|>")[0][-40:]
    render = [s for s in ctx.snippets if s.path == "app/util.py" and s.source != "repo_map"]
    assert any(s.start_line <= 6 <= s.end_line for s in render)  # def render_template
