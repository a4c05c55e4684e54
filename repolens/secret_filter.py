"""The secret filter in front of every prompt: secret files never enter one, secret values are
redacted in the rest.

Two questions, asked wherever a prompt is assembled (completion snippets and the current
buffer, Q&A and overview packing, code actions, commit-message diffs), whatever the model URL:

- :func:`secret_file`: is this file a secret as a whole, by name or by content (private keys,
  ``.env*``, credential and secrets files, cloud credentials, service-account JSON, ``.netrc``,
  ``.npmrc``/``.pypirc`` with tokens, kubeconfig, keystores, Terraform state)? Such a file is
  *withheld*: its content never enters a prompt; its name may (a commit prompt says
  "credentials.json (secret file: content withheld)").
- :func:`redact`: which values in an ordinary text look like secrets (API keys and tokens,
  passwords in assignments, passwords in connection strings, private key blocks)? Each value is
  replaced by ``<redacted:kind>`` on its own line, so line numbers and citations still hold.

Where: completion (:mod:`repolens.completion.engine`: every rendered snippet, the buffer's
prefix and suffix), packing (:func:`repolens.chat.packing.pack`: Q&A, the overview, the code
actions' context), the code actions' own range (:mod:`repolens.chat.actions`) and the commit
prompt (:func:`repolens.commit.prompt.build_prompt`): each where its final text is assembled
and before its tokens are counted, so budgets hold and existing indexes are covered too.

Detection. The values are found by `detect-secrets`_' plugins, run on single lines through
their ``analyze_string`` or their ``denylist`` patterns (never ``analyze_line``: that may call
a plugin's ``verify``, which sends the secret to its vendor; no baseline, settings or filters
machinery is used):
``KeywordDetector`` (with the regexes for the file's type), ``AWSKeyDetector``,
``BasicAuthDetector`` and the token-format plugins with a literal prefix (GitHub, GitLab,
Slack, Stripe, SendGrid, JWT, npm, PyPI, OpenAI, Azure storage, Square, Mailchimp), filtered
by detect-secrets' own false-positive heuristics. Measured with ``python
benchmarks/secret_filter.py /work/bench/flask /work/bench/httpx`` (figures in its docstring),
the library alone is neither cheap nor quiet enough for a prompt:

- all plugins on every line cost ~2 ms per KB (``KeywordDetector`` alone ~0.8 ms/KB), and a
  completion's budget is a few ms per keystroke: so a cheap pre-filter comes first. A text is
  lower-cased once and scanned with one regex for the literal triggers of the plugins used
  (``key``, ``pass``, ``secret``, ``://``, ``akia``, ``ghp_``, ...); only lines holding a
  trigger go to the plugins that trigger names, and only then is detect-secrets imported
  (~140-300 ms, once; :func:`preload` does it off the hot path). Results are cached per text
  and per line: ~80 µs per 40-line snippet the first time, ~3 µs after. Plugins without a
  literal trigger (Twilio, Discord, Telegram, IBM, SoftLayer, Cloudant, Artifactory) are not
  run, nor ``IPPublicDetector`` (an address is not a secret).
- the high-entropy plugins fire on every hash, nonce and test cookie of ordinary code (35 hits
  in flask + httpx, none a secret): their entropy test is used only for values assigned to a
  token-like name (``token``, ``bearer``, ``credential``, ``auth``), which ``KeywordDetector``
  does not know (with 3.5 bits for base64: its 4.5 is more than a 22-character string can
  reach).
- plugins whose pattern captures a prefix (GitHub's ``(ghp|gho|...)_``) yield only that prefix
  from ``analyze_string``: their patterns are run here, the whole match taken as the secret.
- ``KeywordDetector`` and ``BasicAuthDetector`` also flag ``password="test"``,
  ``SECRET_KEY = "dev"``, ``http://user:password@example.org``: in source files a value must
  also look like a credential (no spaces, not a placeholder, an identifier-like word or a
  spelling of "password", at least 6 characters); config files (YAML, TOML, INI, ...) only
  drop placeholders. With this, flask + httpx have 0 redactions in source and test files
  (``benchmarks/secret_filter.py``; 10 in docs, which show example keys that look real).
- detect-secrets 1.5 knows neither today's OpenAI/Anthropic keys (``sk-proj-...``,
  ``sk-ant-...``) nor Google (``AIza...``) and Hugging Face (``hf_...``) keys; its
  ``PrivateKeyDetector`` flags a ``BEGIN ... PRIVATE KEY`` line (not PKCS#8's ``ENCRYPTED
  PRIVATE KEY``) but not the key's body, which is what must go: those few patterns are ours
  (a block's body is redacted line by line, up to its END line).

Importing detect-secrets turns on ``logging.captureWarnings`` for the whole process: the
previous warning hook is put back (and urllib3's warning about SOCKS support, which its import
of ``requests`` raises, is ignored). Nothing here touches the network or the disk.

.. _detect-secrets: https://github.com/Yelp/detect-secrets
"""

from __future__ import annotations

import functools
import posixpath
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import unquote

__all__ = [
    "MARKER",
    "Redaction",
    "Replacement",
    "count_redactions",
    "preload",
    "redact",
    "redact_lines",
    "secret_file",
]

#: What a redacted value becomes: ``<redacted:password>``, ``<redacted:aws_key>``, ...
MARKER = "<redacted:{kind}>"
_MARKER_START = "<redacted:"

_TEXT_CACHE = 2048
_LINE_CACHE = 8192
_CACHE_MAX_CHARS = 256_000  # longer texts are scanned every time (commit diffs, whole files)


# -- files that are secrets as a whole ---------------------------------------------------------

#: Extensions of files that are data or configuration, not source code: a credentials or
#: secrets file is recognised by a name that holds the word among these (``credential_store.py``
#: is code; ``credentials.py`` and ``secrets.py`` are not, see ``_SECRET_MODULES``).
_DATA_EXTENSIONS = frozenset(
    {
        "",
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".ini",
        ".cfg",
        ".conf",
        ".cnf",
        ".properties",
        ".xml",
        ".txt",
        ".env",
        ".csv",
        ".plist",
        ".tfvars",
    }
)
#: Source files that are secrets by name: a project's ``secrets.py`` holds its secrets.
_SECRET_MODULES = frozenset(
    {"secrets", "secret", "credentials", "credential", "local_secrets", "client_secrets"}
)
_KEY_EXTENSIONS = {
    ".pem": "private key or certificate",
    ".key": "private key",
    ".p8": "private key",
    ".ppk": "private key",
    ".p12": "keystore",
    ".pfx": "keystore",
    ".jks": "keystore",
    ".keystore": "keystore",
    ".kdbx": "password database",
}
_ALWAYS_SECRET_NAMES = {
    ".netrc": "netrc credentials",
    "_netrc": "netrc credentials",
    ".git-credentials": "git credentials",
    ".pgpass": "password file",
    ".htpasswd": "password file",
    ".boto": "cloud credentials",
    ".s3cfg": "cloud credentials",
    ".dockercfg": "docker credentials",
    "kubeconfig": "kubeconfig",
    "terraform.tfstate": "terraform state",
    "terraform.tfstate.backup": "terraform state",
    "secring.gpg": "private key",
}
#: ``.env`` files that are conventionally documentation (their values are still redacted).
_ENV_EXAMPLES = (".example", ".sample", ".template", ".dist", ".defaults")
_SSH_KEY_NAME = re.compile(r"id_[a-z0-9_]+")
_SERVICE_ACCOUNT = re.compile(r'"type"\s*:\s*"service_account"')
_JSON_PRIVATE_KEY = re.compile(r'"private_key"\s*:\s*"-----BEGIN')
_KUBECONFIG = re.compile(r"^kind:\s*Config\s*$", re.M)
_KUBE_SECRET = re.compile(r"^\s*(client-key-data|token|password|auth-provider):", re.M)
_NPM_TOKEN = re.compile(r"_(authToken|auth|password)\s*=", re.I)
_PYPIRC_PASSWORD = re.compile(r"^\s*password\s*[=:]", re.M | re.I)
_DOCKER_AUTH = re.compile(r'"auths"\s*:.*"auth"\s*:', re.S)
_KEY_FILE_START = re.compile(
    r"\s*(-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|PuTTY-User-Key-File-)"
)


def secret_file(path: str, text: str | None = None) -> str | None:
    """Why the file at ``path`` (repository-relative, ``/``) is a secret as a whole, or None.

    ``text``, when given, is checked too (a private key, a service account or a kubeconfig
    under any name; ``.npmrc``/``.pypirc`` only when they hold a token or password). By name
    alone the answer is cached: completion asks for every candidate at every keystroke."""
    reason = _by_name(path)
    if reason is not None or text is None:
        return reason
    return _by_content(path, text)


@functools.lru_cache(maxsize=16384)
def _by_name(path: str) -> str | None:
    lowered = path.lower()
    base = posixpath.basename(lowered)
    parts = lowered.split("/")[:-1]
    stem, ext = posixpath.splitext(base)
    env = base.startswith(".env") or ext == ".env" or base == ".envrc"
    if env and not base.endswith(_ENV_EXAMPLES):
        return "environment file"
    if ".ssh" in parts and not base.endswith(".pub"):
        return "SSH key or configuration"
    if ".gnupg" in parts:
        return "GnuPG keyring"
    if ".aws" in parts and base in ("credentials", "config"):
        return "cloud credentials"
    if (".kube" in parts and base == "config") or ext == ".kubeconfig":
        return "kubeconfig"
    if ext in _KEY_EXTENSIONS:
        return _KEY_EXTENSIONS[ext]
    if base in _ALWAYS_SECRET_NAMES:
        return _ALWAYS_SECRET_NAMES[base]
    if base.endswith(".tfstate") or base.endswith(".tfstate.backup"):
        return "terraform state"
    if not ext and _SSH_KEY_NAME.fullmatch(base):
        return "SSH private key"
    if ext in _DATA_EXTENSIONS or stem in _SECRET_MODULES:
        if "credential" in stem:
            return "credentials file"
        if "secret" in stem:
            return "secrets file"
    return None


def _by_content(path: str, text: str) -> str | None:
    lowered = path.lower()
    base = posixpath.basename(lowered)
    parts = lowered.split("/")[:-1]
    ext = posixpath.splitext(base)[1]
    head = text[:8192]
    if base == ".npmrc":
        return "npm token" if _NPM_TOKEN.search(text) else None
    if base == ".pypirc":
        return "PyPI credentials" if _PYPIRC_PASSWORD.search(text) else None
    if _KEY_FILE_START.match(head):
        return "private key"
    if ext == ".json" or head.lstrip().startswith("{"):
        if _SERVICE_ACCOUNT.search(head) and '"private_key"' in text:
            return "service account key"
        if _JSON_PRIVATE_KEY.search(text):
            return "private key"
        if base == "config.json" and "docker" in parts and _DOCKER_AUTH.search(head):
            return "docker credentials"
    if "kind:" in head and _KUBECONFIG.search(head) and _KUBE_SECRET.search(text):
        return "kubeconfig"
    return None


# -- values inside ordinary text --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replacement:
    """One redacted piece: ``original`` became ``redacted`` (a marker)."""

    kind: str
    original: str
    redacted: str


@dataclass(frozen=True, slots=True)
class Redaction:
    """A text with its secret values replaced; ``replacements`` in text order."""

    text: str
    replacements: tuple[Replacement, ...] = ()

    @property
    def count(self) -> int:
        return len(self.replacements)

    @property
    def kinds(self) -> list[str]:
        return [r.kind for r in self.replacements]

    def restore(self, answer: str) -> str:
        """``answer`` (a model's rewrite of :attr:`text`) with the markers put back to the
        original values, in order: local use only (an added-comments check, a translation
        shown to the user). Markers the answer dropped or moved are left as they are."""
        out: list[str] = []
        pos = 0
        for r in self.replacements:
            at = answer.find(r.redacted, pos)
            if at < 0:
                continue
            out.append(answer[pos:at])
            out.append(r.original)
            pos = at + len(r.redacted)
        out.append(answer[pos:])
        return "".join(out)


def count_redactions(text: str) -> int:
    """How many values :func:`redact` replaced in ``text`` (markers it holds)."""
    return text.count(_MARKER_START)


def _marker(kind: str) -> str:
    return MARKER.format(kind=kind)


class _Style(NamedTuple):
    """How a file's text is read: detect-secrets' file type name, and config or not."""

    filetype: str
    config: bool


_CONFIG_TYPES = frozenset({"YAML", "CONFIG", "INI", "PROPERTIES", "TOML"})
_CONFIG_EXTENSIONS = frozenset(
    {".json", ".env", ".xml", ".tfvars", ".cnf", ".conf", ".cfg", ".plist", ".properties"}
)


@functools.lru_cache(maxsize=4096)
def _style(path: str) -> _Style:
    base = posixpath.basename(path.lower())
    ext = posixpath.splitext(base)[1]
    filetype = _FILETYPES.get(ext, "OTHER")
    config = (
        filetype in _CONFIG_TYPES
        or ext in _CONFIG_EXTENSIONS
        or base.startswith(".env")
        or (not ext and base.startswith("."))  # dotfiles: .npmrc, .pypirc, .netrc, ...
    )
    return _Style(filetype, config)


# detect-secrets' ``determine_file_type`` table, by name (looked up without importing it).
_FILETYPES = {
    ".cls": "CLS",
    ".example": "EXAMPLE",
    ".eyaml": "YAML",
    ".go": "GO",
    ".java": "JAVA",
    ".js": "JAVASCRIPT",
    ".m": "OBJECTIVE_C",
    ".php": "PHP",
    ".py": "PYTHON",
    ".pyi": "PYTHON",
    ".swift": "SWIFT",
    ".tf": "TERRAFORM",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".cs": "C_SHARP",
    ".c": "C",
    ".cpp": "C_PLUS_PLUS",
    ".cnf": "CONFIG",
    ".conf": "CONFIG",
    ".cfg": "CONFIG",
    ".cf": "CONFIG",
    ".ini": "INI",
    ".properties": "PROPERTIES",
    ".toml": "TOML",
}

#: Lower-case literals -> the detectors a line holding one goes to. Every detector's pattern
#: needs one of its triggers, so a text without any trigger has nothing to find.
_GENERIC = ("api_key", "token", "keyword")  # after the precise ones, in this order
_TRIGGERS: dict[str, tuple[str, ...]] = {
    # KeywordDetector's deny-list (api_?key, db_?pass, password, pwd, secret, contraseña...)
    "key": ("keyword",),
    "pass": ("keyword",),
    "pwd": ("keyword",),
    "secret": ("keyword",),
    "contrase": ("keyword",),
    "token": ("token",),
    "bearer": ("token",),
    "credential": ("token",),
    "auth": ("token",),
    "aws": ("aws",),
    "akia": ("aws",),
    "asia": ("aws",),
    "abia": ("aws",),
    "acca": ("aws",),
    "a3t": ("aws",),
    "://": ("basic_auth",),
    "ghp_": ("github",),
    "gho_": ("github",),
    "ghu_": ("github",),
    "ghs_": ("github",),
    "ghr_": ("github",),
    "glpat-": ("gitlab",),
    "gldt-": ("gitlab",),
    "glft-": ("gitlab",),
    "glsoat-": ("gitlab",),
    "glrt-": ("gitlab",),
    "gr1348941": ("gitlab",),
    "glcbt-": ("gitlab",),
    "glimt-": ("gitlab",),
    "glptt-": ("gitlab",),
    "glagent-": ("gitlab",),
    "gloas-": ("gitlab",),
    "xox": ("slack",),
    "hooks.slack.com": ("slack",),
    "k_live_": ("stripe",),
    "sg.": ("sendgrid",),
    "eyj": ("jwt",),
    "_authtoken": ("npm",),
    "pypi-": ("pypi",),
    "t3blbkfj": ("openai",),
    "accountkey=": ("azure",),
    "sq0csp-": ("square",),
    "-us": ("mailchimp",),
    "sk-": ("api_key",),
    "aiza": ("api_key",),
    "hf_": ("api_key",),
}
_TRIGGER_LIST = tuple(_TRIGGERS)


def _alternation(words: Iterable[str]) -> str:
    """``words`` as one regex, grouped by first character: twice as fast to scan with as a
    flat alternation (sre tries every branch at every position)."""
    groups: dict[str, list[str]] = {}
    for w in sorted(words, key=len, reverse=True):
        groups.setdefault(w[0], []).append(re.escape(w[1:]))
    return "|".join(f"{re.escape(c)}(?:{'|'.join(rest)})" for c, rest in groups.items())


_TRIGGER_RX = re.compile(_alternation(_TRIGGERS))
#: Where two detectors find the same value, the more specific one names it.
_PRIORITY = {
    name: rank
    for rank, name in enumerate(
        [*dict.fromkeys(d for ds in _TRIGGERS.values() for d in ds if d not in _GENERIC), *_GENERIC]
    )
}

#: What a marker calls each detector's finding.
_KINDS = {
    "aws": "aws_key",
    "basic_auth": "password",
    "github": "github_token",
    "gitlab": "gitlab_token",
    "slack": "slack_token",
    "stripe": "stripe_key",
    "sendgrid": "sendgrid_key",
    "jwt": "jwt",
    "npm": "npm_token",
    "pypi": "pypi_token",
    "openai": "api_key",
    "azure": "azure_key",
    "square": "square_secret",
    "mailchimp": "mailchimp_key",
    "api_key": "api_key",
    "token": "token",
}

# Ours, where detect-secrets 1.5 has nothing: today's API key formats.
_API_KEYS = (
    re.compile(r"\bsk-(?:proj-|ant-(?:api\d\d-)?|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    re.compile(r"\bhf_[A-Za-z]{34}\b"),
)
# A token-like name assigned a value: the value is a secret when its entropy is high
# (detect-secrets' entropy test; KeywordDetector's deny-list has no "token").
_TOKEN_ASSIGNMENT = re.compile(
    r"(?i)(?:token|bearer|credential|auth)\w*[\"'\]]{0,2}\s*(?:=>|:=|[:=])\s*"
    r"[\"'`]?([A-Za-z0-9+/=_\-.~]{16,})"
)
_TOKEN_ENTROPY = 3.5
_BEARER = re.compile(r"(?i)\bbearer\s+([A-Za-z0-9+/=_\-.~]{16,})")
# Private key blocks: the body between the markers, which the plugin does not delimit.
_BLOCK_BEGIN = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----")
_BLOCK_END = re.compile(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
_BLOCK_RUN = re.compile(r"[A-Za-z0-9/][A-Za-z0-9+/]{15,}={0,2}")  # not a diff's leading "+"
_ESCAPED_NEWLINE = "\\n"

# What a value must not look like to be taken for a secret.
_PLACEHOLDERS = (
    "example",
    "sample",
    "dummy",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "xxxx",
    "****",
    "...",
    "redacted",
    "%s",
    "%(",
)
_PLACEHOLDER_WORDS = frozenset(
    {"password", "passwd", "pass", "secret", "none", "null", "nil", "true", "false", "test"}
)
_LEET = str.maketrans("@4310$5", "aaeloss")
_IDENTIFIER_LIKE = re.compile(r"[a-z][a-z_.\-]*|[A-Z][A-Z_.\-]*")
_LOCATION = re.compile(r"(?:/|\./|~/|[a-z]+://)", re.I)


class _Plugins:
    """detect-secrets' plugins and heuristics, imported on first need."""

    def __init__(self) -> None:
        before = warnings.showwarning
        # requests, which detect-secrets imports, warns that urllib3 has no SOCKS support
        warnings.filterwarnings("ignore", message="SOCKS support in urllib3", module="urllib3")
        try:
            from detect_secrets.filters import heuristic
            from detect_secrets.plugins.aws import AWSKeyDetector
            from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
            from detect_secrets.plugins.basic_auth import BasicAuthDetector
            from detect_secrets.plugins.github_token import GitHubTokenDetector
            from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
            from detect_secrets.plugins.high_entropy_strings import (
                Base64HighEntropyString,
                HexHighEntropyString,
            )
            from detect_secrets.plugins.jwt import JwtTokenDetector
            from detect_secrets.plugins.keyword import (
                DENYLIST,
                QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
                REGEX_BY_FILETYPE,
                KeywordDetector,
            )
            from detect_secrets.plugins.mailchimp import MailchimpDetector
            from detect_secrets.plugins.npm import NpmDetector
            from detect_secrets.plugins.openai import OpenAIDetector
            from detect_secrets.plugins.pypi_token import PypiTokenDetector
            from detect_secrets.plugins.sendgrid import SendGridDetector
            from detect_secrets.plugins.slack import SlackDetector
            from detect_secrets.plugins.square_oauth import SquareOAuthDetector
            from detect_secrets.plugins.stripe import StripeDetector
            from detect_secrets.util.filetype import FileType
        finally:
            warnings.showwarning = before  # its logger turns on logging.captureWarnings
        self.heuristic = heuristic
        self.keyword = KeywordDetector()
        self.keyword_stems = re.compile("|".join(DENYLIST), re.I)
        self.keyword_regexes: dict[str, Any] = {
            name: REGEX_BY_FILETYPE.get(FileType[name], QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP)
            for name in {*_FILETYPES.values(), "OTHER"}
        }
        self.base64 = Base64HighEntropyString()
        self.hex = HexHighEntropyString()
        self.regex_plugins: dict[str, Any] = {
            "aws": AWSKeyDetector(),
            "basic_auth": BasicAuthDetector(),
            "github": GitHubTokenDetector(),
            "gitlab": GitLabTokenDetector(),
            "slack": SlackDetector(),
            "stripe": StripeDetector(),
            "sendgrid": SendGridDetector(),
            "jwt": JwtTokenDetector(),
            "npm": NpmDetector(),
            "pypi": PypiTokenDetector(),
            "openai": OpenAIDetector(),
            "azure": AzureStorageKeyDetector(),
            "square": SquareOAuthDetector(),
            "mailchimp": MailchimpDetector(),
        }

    def filtered(self, value: str, line: str, keyword: bool) -> bool:
        """detect-secrets' own false-positive heuristics (those that need no file)."""
        h = self.heuristic
        return bool(
            h.is_sequential_string(value)
            or h.is_potential_uuid(value)
            or h.is_templated_secret(value)
            or h.is_not_alphanumeric_string(value)
            or (keyword and h.is_prefixed_with_dollar_sign(value))
            or (keyword and h.is_indirect_reference(line))
            or (keyword and h.is_likely_id_string(value, line, self.keyword))
        )

    def random_looking(self, value: str) -> bool:
        """A token's value: letters and digits mixed, entropy above detect-secrets' hex
        limit (3.0), or, for other characters, above 3.5 bits. (Its base64 limit, 4.5, is
        more than a string shorter than 23 characters can have.)"""
        if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
            return False
        if all(c in "0123456789abcdefABCDEF" for c in value):
            return bool(self.hex.calculate_shannon_entropy(value) > self.hex.entropy_limit)
        return bool(self.base64.calculate_shannon_entropy(value) > _TOKEN_ENTROPY)


_plugins: _Plugins | None = None
_plugins_lock = threading.Lock()


def _load() -> _Plugins:
    global _plugins
    if _plugins is None:
        with _plugins_lock:
            if _plugins is None:
                _plugins = _Plugins()
    return _plugins


def preload(background: bool = True) -> None:
    """Import detect-secrets now (~170 ms), in a daemon thread unless ``background`` is false,
    so the first prompt that needs it does not wait."""
    if _plugins is not None:
        return
    if not background:
        _load()
        return
    threading.Thread(target=_load, name="repolens-secret-filter", daemon=True).start()


def _plausible(value: str, config: bool) -> bool:
    """Whether a value named like a password/secret looks like a real one."""
    if len(value) < 3 or any(c.isspace() for c in value):
        return False
    lowered = value.lower()
    if lowered in _PLACEHOLDER_WORDS or any(p in lowered for p in _PLACEHOLDERS):
        return False
    if value.startswith(("<", "{", "$")) or _LOCATION.match(value):
        return False
    if config:
        return True
    # in code, "password123" and "p@ssw0rd" are what tests and examples use
    plain = lowered.translate(_LEET)
    if any(word in plain for word in ("password", "passwd", "secret")):
        return False
    return len(value) >= 6 and not _IDENTIFIER_LIKE.fullmatch(value)


def _line_findings(line: str, detectors: Iterable[str], style: _Style) -> list[tuple[str, str]]:
    """(kind, value) for the secrets in one line, by the detectors its triggers name."""
    p = _load()
    found: list[tuple[str, str]] = []
    for name in detectors:
        if name == "keyword":
            stem = p.keyword_stems.search(line)
            if stem is None:
                continue
            regexes = p.keyword_regexes.get(style.filetype, p.keyword_regexes["OTHER"])
            lowered = stem.group(0).lower()
            kind = "password" if ("pass" in lowered or "pwd" in lowered) else "secret"
            if lowered.endswith("key"):
                kind = "key"
            for value in p.keyword.analyze_string(line, denylist_regex_to_group=regexes):
                value = value.strip()
                if (
                    value
                    and not p.filtered(value, line, keyword=True)
                    and _plausible(value, style.config)
                ):
                    found.append((kind, value))
        elif name == "token":
            for rx in (_TOKEN_ASSIGNMENT, _BEARER):
                for m in rx.finditer(line):
                    value = m.group(1).rstrip(".")
                    if p.random_looking(value) and not p.filtered(value, line, keyword=True):
                        found.append(("token", value))
        elif name == "api_key":
            for rx in _API_KEYS:
                found.extend(("api_key", m.group(0)) for m in rx.finditer(line))
        else:
            for value in _regex_plugin_values(p.regex_plugins[name], name, line):
                if name == "basic_auth":
                    plain = unquote(value)
                    if p.filtered(plain, line, keyword=False) or not _plausible(
                        plain, style.config
                    ):
                        continue
                found.append((_KINDS[name], value))
    return found


#: Plugins whose pattern captures the secret itself (the password of ``scheme://user:pw@``,
#: the key after ``aws..._key = ``, the npm token); the others capture a prefix, if anything
#: (``(ghp|gho|...)_``): their whole match is the secret. ``analyze_string`` would yield the
#: captured prefix ("ghp").
_CAPTURES_SECRET = frozenset({"basic_auth", "aws", "npm"})


def _regex_plugin_values(plugin: Any, name: str, line: str) -> Iterator[str]:
    """The secrets a regex-based plugin's own patterns find in ``line``."""
    for rx in plugin.denylist:
        for m in rx.finditer(line):
            groups = [g for g in m.groups() if g]
            value = max(groups, key=len) if groups and name in _CAPTURES_SECRET else m.group(0)
            if name == "jwt" and not plugin.is_formally_valid(value):
                continue  # what JwtTokenDetector.analyze_string checks
            yield value


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict[Any, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            hit = self.data.get(key)
            if hit is not None:
                self.data.move_to_end(key)
            return hit

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)


_texts = _LRU(_TEXT_CACHE)
_lines = _LRU(_LINE_CACHE)


def redact(text: str, path: str = "") -> Redaction:
    """``text`` (of the file at ``path``, which picks the rules for its type) with every
    secret-looking value replaced by ``<redacted:kind>``; lines and their number unchanged.

    Cached per text. A text seen for the first time costs one lower-casing and one regex scan
    for the trigger words (~12 µs per KB); only the lines holding one go to the plugins, whose
    findings are cached per line."""
    if not text:
        return Redaction(text)
    style = _style(path)
    key = (style, text)
    cacheable = len(text) <= _CACHE_MAX_CHARS
    if cacheable:
        cached = _texts.get(key)
        if cached is not None:
            return cached
    result = _redact(text, style)
    if cacheable:
        _texts.put(key, result)
    return result


def _candidate_lines(lowered: str) -> list[int]:
    """Indices of the lines of ``lowered`` that hold a trigger word."""
    out: list[int] = []
    pos = counted = line = 0
    while True:
        m = _TRIGGER_RX.search(lowered, pos)
        if m is None:
            return out
        line += lowered.count("\n", counted, m.start())
        counted = m.start()
        out.append(line)
        nl = lowered.find("\n", m.start())
        if nl < 0:
            return out
        pos = nl + 1


def _redact(text: str, style: _Style) -> Redaction:
    lowered = text.lower()
    candidates = _candidate_lines(lowered)
    if not candidates:
        return Redaction(text)
    lines = text.split("\n")
    low_lines = lowered.split("\n")  # lower() never adds or removes a newline
    done: set[int] = set()
    per_line: dict[int, list[tuple[int, int, str, str]]] = {}
    if "private key" in lowered:
        done, per_line = _blocks(lines)
    values: dict[str, str] = {}
    for i in candidates:
        if i in done:
            continue
        line = lines[i]
        found = _cached_findings(line, low_lines[i], style)
        if found:
            for kind, value in found:
                values.setdefault(value, kind)
            per_line[i] = _spans(line, found)
    if values:  # the same values elsewhere, without the name that gave them away
        for i, line in enumerate(lines):
            if i in done:
                continue
            extra = [(k, v) for v, k in values.items() if len(v) >= 8 and v in line]
            if extra:
                merged = {(s, e): (s, e, k, v) for s, e, k, v in per_line.get(i, [])}
                for s, e, k, v in _spans(line, extra):
                    if not any(s < e2 and s2 < e for s2, e2 in merged):
                        merged[(s, e)] = (s, e, k, v)
                per_line[i] = sorted(merged.values())
    if not per_line:
        return Redaction(text)
    replacements: list[Replacement] = []
    for i in sorted(per_line):
        line = lines[i]
        out: list[str] = []
        pos = 0
        for start, end, kind, _ in per_line[i]:
            marker = _marker(kind)
            out.append(line[pos:start])
            out.append(marker)
            replacements.append(Replacement(kind, line[start:end], marker))
            pos = end
        out.append(line[pos:])
        lines[i] = "".join(out)
    return Redaction("\n".join(lines), tuple(replacements))


def _cached_findings(line: str, lowered: str, style: _Style) -> list[tuple[str, str]]:
    key = (style, line)
    hit = _lines.get(key)
    if hit is None:
        detectors = {d for t in _TRIGGER_LIST if t in lowered for d in _TRIGGERS[t]}
        ordered = sorted(detectors, key=_PRIORITY.__getitem__)
        hit = _line_findings(line, ordered, style) if ordered else []
        _lines.put(key, hit)
    return hit


def _spans(line: str, found: list[tuple[str, str]]) -> list[tuple[int, int, str, str]]:
    """Non-overlapping (start, end, kind, value) of every occurrence, longest value first."""
    taken: list[tuple[int, int, str, str]] = []
    for kind, value in sorted(found, key=lambda f: -len(f[1])):
        start = line.find(value)
        while start >= 0:
            end = start + len(value)
            if not any(start < e and s < end for s, e, _, _ in taken):
                taken.append((start, end, kind, value))
            start = line.find(value, end)
    return sorted(taken)


def _blocks(lines: list[str]) -> tuple[set[int], dict[int, list[tuple[int, int, str, str]]]]:
    """The body of every private key block (base64 runs between BEGIN and END), by line."""
    done: set[int] = set()
    parts: dict[int, list[tuple[int, int, str, str]]] = {}
    inside = False
    for i, line in enumerate(lines):
        pos = 0
        spans: list[tuple[int, int, str, str]] = []
        touched = inside
        while True:
            if not inside:
                m = _BLOCK_BEGIN.search(line, pos)
                if m is None:
                    break
                inside, touched, pos = True, True, m.end()
            end = _BLOCK_END.search(line, pos)
            stop = end.start() if end else len(line)
            spans += _block_runs(line, pos, stop)
            if end is None:
                break
            inside, pos = False, end.end()
        if touched:
            done.add(i)
            if spans:
                parts[i] = spans
    return done, parts


def _block_runs(line: str, start: int, stop: int) -> list[tuple[int, int, str, str]]:
    """Base64 runs of a key body in ``line[start:stop]`` (an escaped ``\\n`` is no part)."""
    out = []
    segment = line[start:stop]
    offset = start
    for piece in segment.split(_ESCAPED_NEWLINE):
        for m in _BLOCK_RUN.finditer(piece):
            out.append((offset + m.start(), offset + m.end(), "private_key", m.group(0)))
        offset += len(piece) + len(_ESCAPED_NEWLINE)
    return out


def redact_lines(lines: Iterable[str], path: str = "") -> tuple[list[str], int]:
    """``lines`` redacted as one text: (lines, number of values replaced)."""
    items = list(lines)
    result = redact("\n".join(items), path)
    if not result.replacements:
        return items, 0
    return result.text.split("\n"), result.count
