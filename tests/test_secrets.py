"""No secret leaves in a prompt (issue 12, item 2): a real git repository with fake secrets of
each kind, really indexed, and every prompt repolens builds from it, without a model call —
completion, Q&A, the project overview, the code actions — must hold none of the secret values,
while saying which files were withheld. The commit-message prompt is tested in
``tests/commit/test_secrets.py``; the filter's own rules and its cost on real code are in
``benchmarks/secret_filter.py``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from repolens.backends.base import (
    CancelToken,
    ChatMessage,
    GenerationParams,
    ModelInfo,
    Tokenizer,
)
from repolens.chat.qa import QAEngine
from repolens.completion.engine import CompletionEngine
from repolens.completion.templates import TEMPLATES
from repolens.errors import UsageError
from repolens.indexer import RepoIndex
from repolens.secret_filter import count_redactions, redact, secret_file
from repolens.settings import CompletionSettings, Settings
from tests.completion.conftest import EstimateTokenizer
from tests.conftest import FIXTURES, git, repolens_cli

# -- a repository with fake secrets of each kind ----------------------------------------------

GITHUB_TOKEN = "ghp_R7mK2pX9vL4qT8wZ3nB6cY1dF5gH0jS2aQ4e"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
SSH_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
SA_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7saQk2"

#: Every value that must never be in a prompt (each appears in exactly one file below).
SECRETS = {
    "hunter2": "connection string password (app/config.py)",
    "Zq3vT8pLw2mXr5Yb9NcH1jKf4GdS7aQe6UoI0tRy": "AWS secret access key (app/config.py)",
    KEY_BODY: "private key block inside a source file (app/tls.py)",
    "tok-Gh72kLmQ9xZpW4": "a secrets module (app/secrets.py)",
    "sk-proj-Q7vN2xK9mL4pR8tW3yZ6bC1d": "api_key in settings.yaml",
    "streamlit-Pw-8841": ".streamlit/secrets.toml",
    "Ini-pw-5512": "password in database.ini",
    "AKIAQX7R2M5T8W3Y6Z9B": "credentials.yml",
    "Cr3dYml0123456789abcdefABCDEFghijKLMNopq": "credentials.yml",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc": ".env",
    "env-Pw-3390": ".env",
    SSH_BODY: "id_rsa",
    SA_BODY: "service account credentials.json",
    "5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6": "service account key id",
}

CODE = {
    "README.md": "# Billing\n\nThe billing service: it connects to the database and bills.\n",
    "app/__init__.py": "",
    "app/config.py": (
        '"""Where the billing service connects."""\n'
        "\n"
        'DB_URL = "postgres://u:hunter2@host/db"\n'
        'AWS_SECRET_ACCESS_KEY = "Zq3vT8pLw2mXr5Yb9NcH1jKf4GdS7aQe6UoI0tRy"\n'
        "\n"
        "\n"
        "def database_url():\n"
        '    """The database connection string."""\n'
        "    return DB_URL\n"
    ),
    "app/tls.py": (
        '"""The server\'s TLS key."""\n'
        "\n"
        'SERVER_KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
        f"{KEY_BODY}\n"
        "Q1Z2X3C4V5B6N7M8L9K0J1H2G3F4D5S6A7P8O9I0U1Y2T3R4E5W6Q7\n"
        '-----END RSA PRIVATE KEY-----"""\n'
        "\n"
        "\n"
        "def load_key(pem):\n"
        '    """The key object for a PEM text."""\n'
        "    return pem.strip()\n"
    ),
    "app/secrets.py": 'API_TOKEN = "tok-Gh72kLmQ9xZpW4"\n',
    "app/db.py": (
        "from app.config import AWS_SECRET_ACCESS_KEY, DB_URL, database_url\n"
        "from app.secrets import API_TOKEN\n"
        "from app.tls import SERVER_KEY, load_key\n"
        "\n"
        "\n"
        "def connect(session_factory):\n"
        '    """A database session for the billing service."""\n'
        "    url = database_url()\n"
        "    key = load_key(SERVER_KEY)\n"
        "    return session_factory(url, AWS_SECRET_ACCESS_KEY, DB_URL, API_TOKEN, key)\n"
    ),
}
# untracked but not ignored: indexed (the case), and staged in the commit tests
CONFIG = {
    "settings.yaml": (
        "service:\n  name: billing\n  api_key: sk-proj-Q7vN2xK9mL4pR8tW3yZ6bC1d\n  retries: 3\n"
    ),
    ".streamlit/secrets.toml": '[database]\npassword = "streamlit-Pw-8841"\n',
    "database.ini": "[postgres]\nhost = db.internal\nuser = billing\npassword = Ini-pw-5512\n",
    "credentials.yml": (
        "aws_access_key_id: AKIAQX7R2M5T8W3Y6Z9B\n"
        "aws_secret_access_key: Cr3dYml0123456789abcdefABCDEFghijKLMNopq\n"
    ),
    ".env": "STRIPE_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\nDATABASE_PASSWORD=env-Pw-3390\n",
    "id_rsa": (
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{SSH_BODY}\n"
        "QyNTUxOQAAACBfakefakefakefakefakefakefakefakefakefakefakefakeAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----\n"
    ),
    "credentials.json": json.dumps(
        {
            "type": "service_account",
            "project_id": "billing-prod",
            "private_key_id": "5f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6",
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{SA_BODY}\n-----END PRIVATE KEY-----\n",
            "client_email": "ci@billing-prod.iam.gserviceaccount.com",
        },
        indent=2,
    ),
}


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def secret_repo(tmp_path: Path) -> Path:
    """The code committed, the config files beside it untracked (indexed, as git lists them)."""
    root = tmp_path / "billing"
    write(root, CODE)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", *CODE)
    git(root, "commit", "-q", "-m", "billing")
    write(root, CONFIG)
    return root


def leaks(text: str) -> list[str]:
    """The secrets ``text`` holds, described."""
    return [f"{value!r} ({where})" for value, where in SECRETS.items() if value in text]


@pytest.fixture
def index(secret_repo: Path) -> Iterator[RepoIndex]:
    idx = RepoIndex(secret_repo)
    idx.update(workers=1)
    yield idx
    idx.close()


# -- stand-ins for what needs no model ----------------------------------------------------------


class RecordingModel:
    """The Model protocol without a model: records the messages it is sent and answers with
    ``reply(messages)``, to see exactly what would leave the machine."""

    def __init__(self, reply: object = None) -> None:
        self.sent: list[list[ChatMessage]] = []
        self._reply = reply

    @property
    def info(self) -> ModelInfo:
        return ModelInfo("openai", "recording", 8192, "https://models.example.invalid/v1")

    @property
    def tokenizer(self) -> Tokenizer:
        return EstimateTokenizer()

    def complete(
        self, prompt: str, params: GenerationParams, cancel: CancelToken | None = None
    ) -> Iterator[str]:
        raise AssertionError("no completion here")

    def acomplete(self, prompt: str, params: GenerationParams, cancel: object = None) -> object:
        raise AssertionError("no completion here")

    def chat(
        self,
        messages: Sequence[ChatMessage],
        params: GenerationParams,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        self.sent.append(list(messages))
        answer = self._reply(messages) if callable(self._reply) else "It connects."
        yield str(answer)

    def achat(
        self, messages: Sequence[ChatMessage], params: object, cancel: object = None
    ) -> object:
        raise AssertionError("not used")

    def close(self) -> None:
        pass

    def text(self) -> str:
        return "\n".join(m.content for messages in self.sent for m in messages)


@dataclass
class Repo:
    """What Q&A and the code actions need of an opened repository (chat.qa.Repository)."""

    root: Path
    index: RepoIndex
    model: RecordingModel
    settings: Settings

    @property
    def model_info(self) -> ModelInfo:
        return self.model.info

    @property
    def tokenizer(self) -> Tokenizer:
        return self.model.tokenizer


# -- completion ---------------------------------------------------------------------------------


def test_completion_prompt_holds_no_secret(index: RepoIndex) -> None:
    engine = CompletionEngine(
        index, CompletionSettings(), EstimateTokenizer(), TEMPLATES["qwen2.5-coder"]
    )
    lines = CODE["app/db.py"].split("\n")
    typed = f'    local_token = "{GITHUB_TOKEN}"'  # a secret typed in the buffer being edited
    lines[8:8] = [typed, "    session = "]
    ctx = engine.context("app/db.py", 10, len("    session = ") + 1, text="\n".join(lines))
    # the definitions the cursor needs did come from the files that hold the secrets
    assert {"app/config.py", "app/tls.py"} <= {s.path for s in ctx.snippets}
    assert leaks(ctx.prompt) == []
    assert GITHUB_TOKEN not in ctx.prompt and GITHUB_TOKEN not in ctx.prefix
    assert 'local_token = "<redacted:github_token>"' in ctx.prefix
    assert 'DB_URL = "postgres://u:<redacted:password>@host/db"' in ctx.prompt
    assert {(w.path, w.reason) for w in ctx.withheld} == {("app/secrets.py", "secrets file")}
    assert ctx.redactions == count_redactions(ctx.prompt) >= 4
    data = ctx.as_json()
    assert data["withheld"] == [{"path": "app/secrets.py", "reason": "secrets file"}]
    assert data["redactions"] == ctx.redactions


# -- Q&A and the overview ---------------------------------------------------------------------


def qa_engine(root: Path, index: RepoIndex) -> QAEngine:
    repo = Repo(root, index, RecordingModel(), Settings())
    return QAEngine(repo, tokenizer=EstimateTokenizer(), background_vectors=False)


def test_qa_context_holds_no_secret_and_names_the_files_withheld(
    secret_repo: Path, index: RepoIndex
) -> None:
    engine = qa_engine(secret_repo, index)
    ctx = engine.retrieve(
        "Which database password, api_key and aws secret access key settings does the "
        "billing connection use?",
        budget=6000,
    )
    assert leaks(ctx.prompt) == []
    withheld = {w.path: w.reason for w in ctx.withheld}
    assert withheld.get(".streamlit/secrets.toml") == "secrets file"
    assert withheld.get("credentials.yml") == "credentials file"
    shown = {s.path for s in ctx.snippets}
    # ordinary config files are still context, with their values redacted
    assert {"settings.yaml", "database.ini", "app/config.py"} <= shown
    assert "password = <redacted:password>" in ctx.prompt
    assert "api_key: <redacted:api_key>" in ctx.prompt
    assert not shown & set(withheld)
    assert ctx.redactions == count_redactions(ctx.prompt) > 0
    data = ctx.as_json()
    assert {w["path"] for w in data["withheld"]} == set(withheld)
    assert data["redactions"] == ctx.redactions


def test_overview_holds_no_secret(secret_repo: Path, index: RepoIndex) -> None:
    ctx = qa_engine(secret_repo, index).overview(budget=6000)
    assert any(s.source == "repo_map" and s.path == "app/config.py" for s in ctx.snippets)
    assert leaks(ctx.prompt) == []


# -- code actions --------------------------------------------------------------------------------


def repo_with(root: Path, index: RepoIndex, reply: object = None) -> Repo:
    return Repo(root, index, RecordingModel(reply), Settings())


def test_explain_sends_no_secret(secret_repo: Path, index: RepoIndex) -> None:
    from repolens.chat.actions import explain

    sent: dict[str, str] = {}
    for path, start, end in [("app/config.py", 1, 9), ("app/tls.py", 1, 11), ("app/db.py", 6, 10)]:
        repo = repo_with(secret_repo, index)
        answer = "".join(explain(repo, path, start, end))
        assert answer == "It connects."
        sent[path] = repo.model.text()
        assert path in sent[path]
        assert leaks(sent[path]) == [], path
    assert 'DB_URL = "postgres://u:<redacted:password>@host/db"' in sent["app/config.py"]
    assert "app/config.py:7-9 (database_url)" in sent["app/db.py"]  # the context still comes


def test_comments_and_translation_send_no_secret_and_give_the_values_back(
    secret_repo: Path, index: RepoIndex
) -> None:
    from repolens.chat.actions import add_comments, translate

    def echo_with_a_comment(messages: Sequence[ChatMessage]) -> str:
        code = messages[-1].content.split("```python\n", 1)[1].split("\n```", 1)[0]
        return f"```python\n# Connection settings\n{code}\n```"

    repo = repo_with(secret_repo, index, echo_with_a_comment)
    commented = add_comments(repo, "app/config.py", 3, 4)
    assert leaks(repo.model.text()) == []
    # what the user gets is their code, secrets included, with the comment
    assert commented == "# Connection settings\n" + "\n".join(
        CODE["app/config.py"].split("\n")[2:4]
    )

    repo = repo_with(secret_repo, index, echo_with_a_comment)
    translated = translate(repo, "app/config.py", 3, 4, "Python 2")
    assert leaks(repo.model.text()) == []
    assert "hunter2" in translated


def test_an_action_on_a_secret_file_is_refused(secret_repo: Path, index: RepoIndex) -> None:
    from repolens.chat.actions import explain

    for path in ("database.ini", "credentials.yml", ".env", "id_rsa", "app/secrets.py"):
        repo = repo_with(secret_repo, index)
        if path == "database.ini":  # an ordinary config file: explained, values redacted
            "".join(explain(repo, path, 1, 4))
            assert leaks(repo.model.text()) == []
            continue
        with pytest.raises(UsageError, match="secret file"):
            "".join(explain(repo, path, 1, 1))
        assert repo.model.sent == []


def test_action_prompts_are_built_without_a_model(secret_repo: Path, index: RepoIndex) -> None:
    from repolens.chat.actions import comments_prompt, explain_prompt, translate_prompt

    repo = repo_with(secret_repo, index)
    for prompt in (
        explain_prompt(repo, "app/db.py", 6, 10),
        comments_prompt(repo, "app/config.py", 1, 9),
        translate_prompt(repo, "app/tls.py", 1, 11, "Rust"),
    ):
        assert leaks("\n".join(m.content for m in prompt.messages)) == []
    assert repo.model.sent == []
    assert prompt.code.count == 2 and prompt.code.restore(prompt.code.text) == prompt.range.code


# -- the CLI shows what was withheld --------------------------------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*repolens_cli(), *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_ask_context_only_reports_what_was_withheld(secret_repo: Path) -> None:
    # no model can load: with --budget, the context is counted by estimate
    env = dict(os.environ, REPOLENS_MODEL_BACKEND="embedded", REPOLENS_GGUF="/nonexistent.gguf")
    question = "Which database password and api_key settings does the billing service use?"
    args = ("ask", question, "--repo", str(secret_repo), "--context-only", "--budget", "4000")
    data = json.loads(run(*args, "--json", env=env).stdout)
    assert list(data)[:4] == ["question", "snippets", "prompt_tokens", "timings_ms"]
    assert {w["path"]: w["reason"] for w in data["withheld"]} == {
        ".streamlit/secrets.toml": "secrets file",
        "credentials.yml": "credentials file",
        "app/secrets.py": "secrets file",
    }
    assert data["redactions"] > 0
    assert leaks(json.dumps(data)) == []
    human = run(*args, env=env).stdout
    assert "withheld (secret files, never in a prompt): " in human
    assert ".streamlit/secrets.toml (secrets file)" in human
    assert "secret-looking values redacted" in human


def test_context_reports_redactions_and_what_was_withheld(secret_repo: Path) -> None:
    pos = "app/db.py:10:5"
    out = run("context", pos, "--repo", str(secret_repo), "--budget", "800", "--json").stdout
    data = json.loads(out)
    assert data["withheld"] == [{"path": "app/secrets.py", "reason": "secrets file"}]
    assert data["redactions"] > 0
    assert leaks(data["prompt"]) == []
    human = run("context", pos, "--repo", str(secret_repo), "--budget", "800").stdout
    assert "withheld (secret files, never in a prompt): app/secrets.py (secrets file)" in human


# -- the filter's own rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (".env", "environment file"),
        ("deploy/.env.production", "environment file"),
        (".env.example", None),  # documentation: its values are redacted, not the file
        ("id_rsa", "SSH private key"),
        ("id_ed25519", "SSH private key"),
        ("id_rsa.pub", None),
        ("certs/server.pem", "private key or certificate"),
        ("tls/server.key", "private key"),
        ("credentials.json", "credentials file"),
        ("credentials.yml", "credentials file"),
        (".aws/credentials", "cloud credentials"),
        (".streamlit/secrets.toml", "secrets file"),
        ("config/client_secret.json", "secrets file"),
        ("app/secrets.py", "secrets file"),
        (".netrc", "netrc credentials"),
        (".kube/config", "kubeconfig"),
        ("infra/terraform.tfstate", "terraform state"),
        ("settings.yaml", None),
        ("database.ini", None),
        ("app/config.py", None),
        ("app/credential_store.py", None),
        ("id_utils.py", None),
    ],
)
def test_secret_files_by_name(path: str, reason: str | None) -> None:
    assert secret_file(path) == reason


def test_secret_files_by_content() -> None:
    assert secret_file("deploy/sa.json", CONFIG["credentials.json"]) == "service account key"
    assert secret_file("keys/deploy", CONFIG["id_rsa"]) == "private key"
    kube = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: abc\n"
    assert secret_file("ci/cluster.yaml", kube) == "kubeconfig"
    assert secret_file(".npmrc", "//registry.npmjs.org/:_authToken=npm_abc\n") == "npm token"
    assert secret_file(".npmrc", "registry=https://registry.npmjs.org/\n") is None
    assert secret_file(".pypirc", "[pypi]\nusername = __token__\npassword = pypi-x\n")
    assert secret_file("app/config.py", CODE["app/config.py"]) is None


def test_redaction_keeps_every_line_and_says_what_it_was() -> None:
    text = CODE["app/config.py"] + CODE["app/tls.py"]
    result = redact(text, "app/config.py")
    assert len(result.text.split("\n")) == len(text.split("\n"))
    assert leaks(result.text) == []
    assert result.kinds == ["password", "aws_key", "private_key", "private_key"]
    assert result.restore(result.text) == text


def test_ordinary_code_is_not_redacted() -> None:
    """Values in code that only sound like secrets, and every fixture repository."""
    code = (
        'def login(self, username="test", password="test"):\n'
        '    app.config.from_mapping(SECRET_KEY="dev", TEST_KEY="foo")\n'
        '    url = "http://username:password@example.org:80/echo_headers"\n'
        "    token = request.headers['Authorization']\n"
        "    password = os.environ.get('DB_PASSWORD')\n"
        "    digest = 'opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"'\n"
        '    sha = "ee96edced2a0b43e4869e96ebe27563f369c1205a049d06419bb51d8aeddf3d3"\n'
    )
    assert redact(code, "tests/test_auth.py").count == 0
    for path in sorted((FIXTURES / "repos").rglob("*")):
        if path.is_file() and path.suffix not in (".pyc",):
            rel = path.relative_to(FIXTURES / "repos").as_posix()
            text = path.read_text("utf-8", "replace")
            assert redact(text, rel).count == 0, rel
            assert secret_file(rel, text) is None, rel


def test_the_filter_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the secret filter opened a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    text = "\n".join([*CODE.values(), *CONFIG.values(), f"token = '{GITHUB_TOKEN}'"])
    for path in [*CODE, *CONFIG]:
        assert redact(text, path).count >= 8, path
