"""The words repolens says to the model for questions and code actions (pure functions).

Context blocks come first and the request last, each block headed by ``path:start-end`` so
the model can cite ``path:line``; the system prompts ask for those citations.
"""

from __future__ import annotations

import re

from ..backends.base import ChatMessage

__all__ = [
    "CHAT_TEMPLATE_RESERVE",
    "OVERVIEW_QUESTION",
    "comments_messages",
    "context_prefix",
    "explain_messages",
    "extract_code",
    "qa_messages",
    "qa_system",
    "question_suffix",
    "translate_messages",
]

#: tokens a chat template adds around messages (role markers, turn ends, the assistant turn)
CHAT_TEMPLATE_RESERVE = 24

OVERVIEW_QUESTION = (
    "What does this project do? Explain its purpose, how it is organised (the main modules "
    "and what each is for) and where its entry points are."
)


def qa_system(repo: str) -> str:
    return (
        f"You answer questions about the software repository {repo!r}. The user message "
        "holds excerpts of its files, each headed by its path and line range "
        "(path:start-end), followed by the question. Answer from those excerpts. Cite the "
        "code you rely on as path:line, using a path and a line number from the headers, "
        "for example `src/app.py:12`. If the excerpts do not contain the answer, say so "
        "instead of guessing."
    )


def context_prefix() -> str:
    return "Repository excerpts:\n\n"


def question_suffix(question: str) -> str:
    return f"\nQuestion: {question.strip()}\n"


def qa_messages(repo: str, context: str, question: str) -> list[ChatMessage]:
    """System prompt, then one user message: the context blocks and the question last."""
    user = context_prefix() + context + question_suffix(question)
    return [ChatMessage("system", qa_system(repo)), ChatMessage("user", user)]


_ACTION_SYSTEM = (
    "You are a careful senior engineer working in the repository {repo!r}. Context from the "
    "repository comes first, each excerpt headed by path:start-end; the code to work on "
    "comes last."
)


def _action_user(context: str, path: str, start: int, end: int, language: str, code: str) -> str:
    parts = []
    if context:
        parts.append("Repository context (definitions this code uses):\n\n" + context)
    parts.append(f"The code ({path}:{start}-{end}):\n```{language}\n{code}\n```\n")
    return "\n".join(parts)


def explain_messages(
    repo: str, context: str, path: str, start: int, end: int, language: str, code: str
) -> list[ChatMessage]:
    user = _action_user(context, path, start, end, language, code) + (
        "\nExplain what this code does and why, step by step, for a developer new to the "
        "repository. Mention the repository definitions it relies on, citing them as "
        "path:line."
    )
    return [ChatMessage("system", _ACTION_SYSTEM.format(repo=repo)), ChatMessage("user", user)]


def comments_messages(
    repo: str, context: str, path: str, start: int, end: int, language: str, code: str
) -> list[ChatMessage]:
    user = _action_user(context, path, start, end, language, code) + (
        "\nAdd helpful comments and docstrings to this code. Do not change the code itself "
        "in any way: keep every line of code, its order and its indentation exactly as it "
        "is, and only add comments or docstrings (or improve existing ones). Reply with the "
        f"whole commented code in one ```{language} block and nothing else."
    )
    return [ChatMessage("system", _ACTION_SYSTEM.format(repo=repo)), ChatMessage("user", user)]


def translate_messages(
    repo: str,
    context: str,
    path: str,
    start: int,
    end: int,
    language: str,
    code: str,
    target: str,
) -> list[ChatMessage]:
    user = _action_user(context, path, start, end, language, code) + (
        f"\nTranslate this code into {target}. Keep its behaviour, names (in {target}'s "
        f"conventions) and comments; use {target}'s idioms and standard library. Reply with "
        f"the translated code in one ``` block and nothing else."
    )
    return [ChatMessage("system", _ACTION_SYSTEM.format(repo=repo)), ChatMessage("user", user)]


_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n`]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_OPEN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n`]*\n", re.M)


def extract_code(answer: str) -> str:
    """The code of a model's answer: its first fenced block (an unclosed one up to the end),
    else the whole answer without surrounding blank lines."""
    m = _FENCE.search(answer)
    if m:
        return m.group(2).rstrip("\n")
    m2 = _OPEN_FENCE.search(answer)
    if m2:
        return answer[m2.end() :].rstrip().rstrip("`").rstrip("\n")
    return answer.strip("\n")
