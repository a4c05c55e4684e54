// VS Code settings (`repolens.*`) -> the language server's settings (lsp/README.md).
//
// Only settings the user actually set are sent, so repolens' own layers (the user config file,
// the repository's .repolens.toml, REPOLENS_* variables) still apply to everything else. Pure:
// the caller passes the explicitly set values (from `WorkspaceConfiguration.inspect`).

/** VS Code key (below `repolens.`) -> the server's dotted key. */
export const SERVER_KEYS: Readonly<Record<string, string>> = {
  "model.backend": "model.backend",
  "model.url": "model.url",
  "model.name": "model.model",
  "model.apiKey": "model.api_key",
  "model.gguf": "model.gguf",
  "model.template": "model.template",
  "model.contextWindow": "model.context_window",
  "model.threads": "model.threads",
  "model.timeoutSeconds": "model.timeout_s",
  "completion.budgetTokens": "completion.budget_tokens",
  "completion.prefixTokens": "completion.prefix_tokens",
  "completion.suffixTokens": "completion.suffix_tokens",
  "completion.maxTokens": "completion.max_tokens",
  "completion.temperature": "completion.temperature",
  "completion.debounceMs": "completion.debounce_ms",
  "chat.budgetTokens": "chat.budget_tokens",
  "chat.answerTokens": "chat.answer_tokens",
  "chat.temperature": "chat.temperature",
  "index.excludeDirs": "index.exclude_dirs",
  "index.maxFileBytes": "index.max_file_bytes",
};

/** The per-language switch; not a server key as such (see {@link toServerSettings}). */
export const ENABLE_KEY = "completion.enable";

/** VS Code language ids -> repolens' language names (indexer/languages.toml). */
export const LANGUAGES: Readonly<Record<string, string>> = {
  python: "python",
  javascript: "javascript",
  javascriptreact: "javascript",
  typescript: "typescript",
  typescriptreact: "tsx",
  go: "go",
  rust: "rust",
  java: "java",
  c: "c",
  cpp: "cpp",
};

export type ServerSettings = { [section: string]: { [key: string]: unknown } };

function isUnset(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim() === "");
}

/** Whether inline completion is on for `languageId` under a `{"*": true, "go": false}` map. */
export function languageEnabled(enable: unknown, languageId: string): boolean {
  if (!enable || typeof enable !== "object") {
    return true;
  }
  const map = enable as Record<string, unknown>;
  if (typeof map[languageId] === "boolean") {
    return map[languageId] as boolean;
  }
  return typeof map["*"] === "boolean" ? (map["*"] as boolean) : true;
}

/**
 * The nested settings object the server takes as `initializationOptions` and as the
 * `repolens` section of `workspace/configuration` / `workspace/didChangeConfiguration`.
 *
 * `explicit` maps VS Code keys below `repolens.` (`completion.maxTokens`) to the values the
 * user set; unknown keys, `null` and empty strings are left out.
 */
export function toServerSettings(explicit: Readonly<Record<string, unknown>>): ServerSettings {
  const out: ServerSettings = {};
  const put = (dotted: string, value: unknown) => {
    const [section, key] = dotted.split(".");
    (out[section] ??= {})[key] = value;
  };
  for (const [key, value] of Object.entries(explicit)) {
    const target = SERVER_KEYS[key];
    if (target === undefined || isUnset(value)) {
      continue;
    }
    put(target, typeof value === "string" ? value.trim() : value);
  }
  const enable = explicit[ENABLE_KEY];
  if (enable && typeof enable === "object") {
    // a repolens language is off when every VS Code language that maps to it is off
    const names = [...new Set(Object.values(LANGUAGES))].sort();
    const off = names.filter((name) =>
      Object.keys(LANGUAGES)
        .filter((id) => LANGUAGES[id] === name)
        .every((id) => !languageEnabled(enable, id)),
    );
    if (off.length === names.length) {
      put("completion.enabled", false);
    } else if (off.length > 0) {
      put("completion.disabled_languages", off);
    }
  }
  return out;
}

/** Changing these restarts the server (they choose which server runs). */
export const RESTART_KEYS = ["server.command", "server.python"] as const;
