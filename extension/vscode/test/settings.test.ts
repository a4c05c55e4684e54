import { describe, expect, it } from "vitest";
import { LANGUAGES, SERVER_KEYS, languageEnabled, toServerSettings } from "../src/settings";

describe("toServerSettings", () => {
  it("maps VS Code keys onto the server's nested snake_case settings", () => {
    expect(
      toServerSettings({
        "model.backend": "openai",
        "model.url": " http://127.0.0.1:8000/v1 ",
        "model.name": "qwen2.5-coder-7b",
        "model.template": "qwen2.5-coder",
        "model.contextWindow": 32768,
        "completion.budgetTokens": 1024,
        "completion.maxTokens": 48,
        "completion.debounceMs": 100,
        "chat.answerTokens": 512,
        "index.excludeDirs": ["generated"],
      }),
    ).toEqual({
      model: { backend: "openai", url: "http://127.0.0.1:8000/v1", model: "qwen2.5-coder-7b", template: "qwen2.5-coder", context_window: 32768 },
      completion: { budget_tokens: 1024, max_tokens: 48, debounce_ms: 100 },
      chat: { answer_tokens: 512 },
      index: { exclude_dirs: ["generated"] },
    });
  });

  it("leaves out unset values and keys the server does not know", () => {
    expect(toServerSettings({ "model.url": "", "model.gguf": "   ", "completion.maxTokens": null, "server.python": "/usr/bin/python3", "trace.server": "verbose" })).toEqual({});
  });

  it("keeps falsy values that were set on purpose", () => {
    expect(toServerSettings({ "completion.temperature": 0, "completion.debounceMs": 0, "index.excludeDirs": [] })).toEqual({
      completion: { temperature: 0, debounce_ms: 0 },
      index: { exclude_dirs: [] },
    });
  });

  it("maps every declared setting to a documented server key", () => {
    const documented = /^(model|completion|chat|index)\.[a-z_]+$/;
    for (const target of Object.values(SERVER_KEYS)) {
      expect(target).toMatch(documented);
    }
  });

  it("turns the per-language switch into disabled languages", () => {
    expect(toServerSettings({ "completion.enable": { "*": true, go: false, rust: false } })).toEqual({
      completion: { disabled_languages: ["go", "rust"] },
    });
    // javascript stays on while javascriptreact (the same repolens language) is on
    expect(toServerSettings({ "completion.enable": { javascript: false } })).toEqual({});
    expect(toServerSettings({ "completion.enable": { javascript: false, javascriptreact: false } })).toEqual({
      completion: { disabled_languages: ["javascript"] },
    });
    expect(toServerSettings({ "completion.enable": { "*": false, python: true } }).completion?.disabled_languages).toEqual(
      [...new Set(Object.values(LANGUAGES))].filter((l) => l !== "python").sort(),
    );
    expect(toServerSettings({ "completion.enable": { "*": false } })).toEqual({ completion: { enabled: false } });
    expect(toServerSettings({ "completion.enable": { "*": true } })).toEqual({});
  });
});

describe("languageEnabled", () => {
  it("uses the language's own switch, then '*', then on", () => {
    expect(languageEnabled({ "*": false, python: true }, "python")).toBe(true);
    expect(languageEnabled({ "*": false, python: true }, "go")).toBe(false);
    expect(languageEnabled({ markdown: false }, "markdown")).toBe(false);
    expect(languageEnabled({ markdown: false }, "python")).toBe(true);
    expect(languageEnabled(undefined, "python")).toBe(true);
  });
});
