// Commands on the selection, the repository and the cursor: explain / add comments / translate,
// a commit message into the Source Control input box, reindex, show context, show status.
import * as vscode from "vscode";
import type { WorkspaceEdit } from "vscode-languageclient/node";
import { ChatPanel } from "./chatPanel";
import { type ContextResult, renderContext } from "./contextView";
import type { Repolens } from "./extension";
import { describeStatus, type ServerStatus } from "./status";

const CONTEXT_SCHEME = "repolens-context";
const TRANSLATE_TARGETS = ["python", "typescript", "javascript", "go", "rust", "java", "c", "cpp", "kotlin", "csharp"];

/** The parts of the git extension's API (extensions/git/src/api/git.d.ts) used here. */
interface GitRepository {
  rootUri: vscode.Uri;
  inputBox: { value: string };
}
interface GitApi {
  repositories: GitRepository[];
  getRepository(uri: vscode.Uri): GitRepository | null;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function selectionArgs(editor: vscode.TextEditor): { uri: string; range: object; path: string; start: number; end: number } {
  const sel = editor.selection;
  // an empty selection means the cursor's line
  const range = sel.isEmpty ? new vscode.Range(sel.active.line, 0, sel.active.line + 1, 0) : sel;
  const endLine = range.end.character === 0 && range.end.line > range.start.line ? range.end.line : range.end.line + 1;
  return {
    uri: editor.document.uri.toString(),
    range: { start: { line: range.start.line, character: range.start.character }, end: { line: range.end.line, character: range.end.character } },
    path: vscode.workspace.asRelativePath(editor.document.uri, false),
    start: range.start.line + 1,
    end: endLine,
  };
}

/** Runs `fn` with a cancellable progress notification; errors become a message. */
async function withProgress<T>(title: string, fn: (token: vscode.CancellationToken) => Promise<T>): Promise<T | undefined> {
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_p, token) =>
      fn(token),
    );
  } catch (err) {
    void vscode.window.showWarningMessage(`${title.replace(/…$/, "")}: ${errorText(err)}`);
    return undefined;
  }
}

function editorOrWarn(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage("repolens: open a file and select some code first.");
  }
  return editor;
}

async function gitApi(): Promise<GitApi | undefined> {
  const git = vscode.extensions.getExtension<{ getAPI(version: 1): GitApi }>("vscode.git");
  if (!git) {
    return undefined;
  }
  const exports = git.isActive ? git.exports : await git.activate();
  return exports.getAPI(1);
}

export function registerActions(context: vscode.ExtensionContext, repolens: Repolens): void {
  const contexts = new Map<string, string>();
  const changed = new vscode.EventEmitter<vscode.Uri>();
  let shown = 0;

  context.subscriptions.push(
    changed,
    vscode.workspace.registerTextDocumentContentProvider(CONTEXT_SCHEME, {
      onDidChange: changed.event,
      provideTextDocumentContent: (uri) => contexts.get(uri.toString()) ?? "",
    }),

    vscode.commands.registerCommand("repolens.explainSelection", async () => {
      const editor = editorOrWarn();
      if (!editor) {
        return;
      }
      const sel = selectionArgs(editor);
      const result = await withProgress(`repolens: explaining ${sel.path}:${sel.start}-${sel.end}…`, (token) =>
        repolens.execute<{ path: string; start_line: number; end_line: number; text: string }>(
          "repolens.explain",
          { uri: sel.uri, range: sel.range },
          token,
        ),
      );
      if (result) {
        ChatPanel.show(context, repolens).showAnswer(`Explain ${result.path}:${result.start_line}-${result.end_line}`, result.text, [
          { path: result.path, start_line: result.start_line, end_line: result.end_line },
        ]);
      }
    }),

    vscode.commands.registerCommand("repolens.addCommentsToSelection", async () => {
      const editor = editorOrWarn();
      if (!editor) {
        return;
      }
      const sel = selectionArgs(editor);
      const edit = await withProgress(`repolens: adding comments to ${sel.path}:${sel.start}-${sel.end}…`, (token) =>
        repolens.execute<WorkspaceEdit>("repolens.addComments", { uri: sel.uri, range: sel.range }, token),
      );
      if (edit && repolens.client) {
        const applied = await vscode.workspace.applyEdit(await repolens.client.protocol2CodeConverter.asWorkspaceEdit(edit));
        if (!applied) {
          void vscode.window.showWarningMessage("repolens: the file changed meanwhile; comments were not applied.");
        }
      }
    }),

    vscode.commands.registerCommand("repolens.translateSelection", async (target?: string) => {
      const editor = editorOrWarn();
      if (!editor) {
        return;
      }
      const sel = selectionArgs(editor);
      const language =
        target ??
        (await vscode.window.showQuickPick(
          TRANSLATE_TARGETS.filter((l) => l !== editor.document.languageId),
          { placeHolder: `Translate ${sel.path}:${sel.start}-${sel.end} to…` },
        ));
      if (!language) {
        return;
      }
      const result = await withProgress(`repolens: translating to ${language}…`, (token) =>
        repolens.execute<{ text: string }>("repolens.translate", { uri: sel.uri, range: sel.range, targetLanguage: language }, token),
      );
      if (result) {
        const doc = await vscode.workspace.openTextDocument({ content: result.text, language });
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside });
      }
    }),

    vscode.commands.registerCommand("repolens.generateCommitMessage", async (scm?: { rootUri?: vscode.Uri }) => {
      const git = await gitApi();
      if (!git) {
        void vscode.window.showWarningMessage("repolens: the Git extension (vscode.git) is not available.");
        return;
      }
      const active = vscode.window.activeTextEditor?.document.uri;
      const repo =
        (scm?.rootUri && git.getRepository(scm.rootUri)) ||
        (active && git.getRepository(active)) ||
        (git.repositories.length === 1 ? git.repositories[0] : undefined);
      if (!repo) {
        void vscode.window.showInformationMessage("repolens: open a file of the git repository to describe (or use the button in Source Control).");
        return;
      }
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.SourceControl, title: "repolens: writing a commit message" },
        () =>
          withProgress("repolens: writing a commit message for the staged changes…", (token) =>
            repolens.execute<{ text: string; fallback?: boolean; fallback_reason?: string }>(
              "repolens.commitMessage",
              { uri: repo.rootUri.toString(), staged: true },
              token,
            ),
          ),
      );
      if (result) {
        repo.inputBox.value = result.text;
        if (result.fallback) {
          repolens.output.warn(`commit message built without the model: ${result.fallback_reason ?? "unknown reason"}`);
        }
      }
    }),

    vscode.commands.registerCommand("repolens.reindexWorkspace", async () => {
      const result = await withProgress("repolens: reindexing…", (token) =>
        repolens.execute<{ folders: { uri: string; files: number; symbols: number; files_changed: number; seconds: number }[] }>(
          "repolens.reindex",
          {},
          token,
        ),
      );
      if (result) {
        const summary = result.folders
          .map((f) => `${vscode.Uri.parse(f.uri).path.split("/").pop()}: ${f.files} files (${f.files_changed} changed), ${f.symbols} symbols in ${f.seconds.toFixed(1)} s`)
          .join("; ");
        void vscode.window.showInformationMessage(`repolens: reindexed ${summary}`);
        void repolens.refresh();
      }
    }),

    vscode.commands.registerCommand("repolens.showContext", async () => {
      const editor = editorOrWarn();
      if (!editor) {
        return;
      }
      const pos = editor.selection.active;
      const result = await withProgress("repolens: building the context…", (token) =>
        repolens.execute<ContextResult>(
          "repolens.context",
          { uri: editor.document.uri.toString(), position: { line: pos.line, character: pos.character } },
          token,
        ),
      );
      if (result) {
        const name = `${result.file.replace(/[\\/]/g, "_")}-L${result.line}-C${result.column}-${++shown}.md`;
        const uri = vscode.Uri.from({ scheme: CONTEXT_SCHEME, path: `/${name}` });
        contexts.set(uri.toString(), renderContext(result));
        changed.fire(uri);
        const doc = await vscode.workspace.openTextDocument(uri);
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true });
      }
    }),

    vscode.commands.registerCommand("repolens.showStatus", async () => {
      try {
        const status = await repolens.execute<ServerStatus & { completion?: Record<string, unknown> }>("repolens.status", {});
        repolens.output.info(`status:\n${describeStatus(status).tooltip}\n${JSON.stringify(status, null, 2)}`);
      } catch (err) {
        repolens.output.error(`status: ${errorText(err)}`);
      }
      repolens.output.show(true);
    }),
  );
}
