// Starting `repolens lsp`: find the command (interpreter discovery), then a LanguageClient
// whose settings come from `repolens.*` (initializationOptions, workspace/configuration).
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as vscode from "vscode";
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from "vscode-languageclient/node";
import { candidates, discover, type Discovery } from "./interpreter";
import { ENABLE_KEY, LANGUAGES, SERVER_KEYS, languageEnabled, toServerSettings, type ServerSettings } from "./settings";

export const SECTION = "repolens";
export const DOCUMENT_SELECTOR = Object.keys(LANGUAGES).map((language) => ({ scheme: "file", language }));

// Where code goes, what binary loads, resources and size limits: user settings only (see
// package.json "scope"), as a repository's own .repolens.toml cannot set them either.
const USER_ONLY = new Set([
  "model.backend",
  "model.url",
  "model.name",
  "model.apiKey",
  "model.gguf",
  "model.contextWindow",
  "model.threads",
  "model.timeoutSeconds",
  "index.maxFileBytes",
]);

/** The server settings for `scope`: only what the user set in VS Code. */
export function serverSettings(scope?: vscode.Uri): ServerSettings {
  const config = vscode.workspace.getConfiguration(SECTION, scope);
  const explicit: Record<string, unknown> = {};
  for (const key of [...Object.keys(SERVER_KEYS), ENABLE_KEY]) {
    const seen = config.inspect(key);
    const value = USER_ONLY.has(key)
      ? seen?.globalValue
      : (seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue);
    if (value !== undefined) {
      explicit[key] = value;
    }
  }
  return toServerSettings(explicit);
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Finds the command that starts the server (probing interpreters for repolens). */
export async function findServer(cwd: string): Promise<Discovery> {
  const config = vscode.workspace.getConfiguration(SECTION);
  const found = candidates(
    { command: config.get<string[]>("server.command", []), python: config.get<string>("server.python", "") },
    {
      platform: process.platform,
      env: process.env,
      folders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      trusted: vscode.workspace.isTrusted,
      isFile,
    },
  );
  return discover(found, (python) =>
    new Promise((resolve) => {
      execFile(python, ["-c", "import repolens; print(repolens.__version__)"], { cwd, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve(err ? { ok: false, error: (stderr.trim().split("\n").pop() || err.message).slice(0, 300) } : { ok: true, version: stdout.trim() }),
      );
    }),
  );
}

/** A client for the discovered server; `cwd` is a directory without Python packages. */
export function createClient(found: Extract<Discovery, { ok: true }>, cwd: string, output: vscode.LogOutputChannel): LanguageClient {
  const serverOptions: ServerOptions = { command: found.command, args: found.args, options: { cwd } };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    initializationOptions: serverSettings(),
    middleware: {
      workspace: {
        // the server pulls the "repolens" section: answer with mapped settings, not raw ones
        // the extension pushes mapped settings itself (extension.ts), not the raw section
        didChangeConfiguration: async () => undefined,
        configuration: async (params, token, next) => {
          const answer = await next(params, token);
          if (!Array.isArray(answer)) {
            return answer;
          }
          return params.items.map((item, i) =>
            item.section === SECTION ? serverSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined) : answer[i],
          );
        },
      },
      provideInlineCompletionItems: (document, position, context, token, next) => {
        const enable = vscode.workspace.getConfiguration(SECTION, document).get(ENABLE_KEY);
        return languageEnabled(enable, document.languageId) ? next(document, position, context, token) : null;
      },
    },
  };
  return new LanguageClient("repolens", "repolens", serverOptions, clientOptions);
}
