// "Ask the repository": a webview panel that streams answers (`repolens/chatChunk`) and opens
// `path:line` citations (in the answer, and the context's sources) at that line.
import * as vscode from "vscode";
import { isSafeRelativePath, type Source } from "./citations";
import type { Repolens } from "./extension";

/** `repolens/chatChunk` params (lsp/commands.py). */
export interface ChatChunk {
  id: string | number;
  sources?: Source[];
  prompt_tokens?: number;
  text?: string;
  done?: boolean;
  answer?: string;
  error?: string;
}

/** Messages to the webview (src/webview/chat.ts). */
export type ToWebview =
  | { type: "turn"; id: string; question: string; folder?: string }
  | { type: "sources"; id: string; sources: Source[]; promptTokens?: number }
  | { type: "chunk"; id: string; text: string }
  | { type: "done"; id: string; answer?: string; error?: string };

/** Messages from the webview. */
export type FromWebview =
  | { type: "ready" }
  | { type: "ask"; question: string }
  | { type: "cancel"; id: string }
  | { type: "open"; id: string; path: string; line: number };

interface Turn {
  folder: vscode.Uri;
  cancel: vscode.CancellationTokenSource;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ChatPanel {
  static current: ChatPanel | undefined;
  private readonly turns = new Map<string, Turn>();
  private ready = false;
  private readonly queue: ToWebview[] = [];
  private next = 1;

  static show(context: vscode.ExtensionContext, repolens: Repolens, question?: string): ChatPanel {
    if (!ChatPanel.current) {
      const panel = vscode.window.createWebviewPanel("repolens.chat", "repolens: Ask", vscode.ViewColumn.Beside, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, "dist"), vscode.Uri.joinPath(context.extensionUri, "media")],
      });
      ChatPanel.current = new ChatPanel(panel, context, repolens);
    } else {
      ChatPanel.current.panel.reveal(undefined, false);
    }
    if (question?.trim()) {
      void ChatPanel.current.ask(question.trim());
    }
    return ChatPanel.current;
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    private readonly repolens: Repolens,
  ) {
    panel.webview.html = this.html(context);
    panel.webview.onDidReceiveMessage((msg: FromWebview) => this.receive(msg));
    panel.onDidDispose(() => {
      for (const turn of this.turns.values()) {
        turn.cancel.cancel();
      }
      ChatPanel.current = undefined;
    });
  }

  private post(msg: ToWebview): void {
    if (this.ready) {
      void this.panel.webview.postMessage(msg);
    } else {
      this.queue.push(msg);
    }
  }

  private receive(msg: FromWebview): void {
    if (msg.type === "ready") {
      this.ready = true;
      for (const queued of this.queue.splice(0)) {
        void this.panel.webview.postMessage(queued);
      }
    } else if (msg.type === "ask") {
      void this.ask(msg.question);
    } else if (msg.type === "cancel") {
      this.turns.get(msg.id)?.cancel.cancel();
    } else if (msg.type === "open") {
      void this.open(msg.id, msg.path, msg.line);
    }
  }

  /** The folder a question is about: the active editor's, else the first. */
  private folder(): vscode.WorkspaceFolder | undefined {
    const active = vscode.window.activeTextEditor?.document.uri;
    return (active && vscode.workspace.getWorkspaceFolder(active)) || vscode.workspace.workspaceFolders?.[0];
  }

  private begin(question: string): { id: string; turn: Turn } | undefined {
    const folder = this.folder();
    if (!folder) {
      void vscode.window.showWarningMessage("repolens: open a folder to ask about it.");
      return undefined;
    }
    const id = `q${this.next++}`;
    const turn = { folder: folder.uri, cancel: new vscode.CancellationTokenSource() };
    this.turns.set(id, turn);
    this.post({ type: "turn", id, question, folder: folder.name });
    return { id, turn };
  }

  async ask(question: string): Promise<void> {
    const started = this.begin(question);
    if (!started) {
      return;
    }
    const { id, turn } = started;
    try {
      const result = await this.repolens.execute<{ answer: string; sources?: Source[] }>(
        "repolens.ask",
        { question, uri: turn.folder.toString(), streamId: id },
        turn.cancel.token,
      );
      if (result.sources) {
        this.post({ type: "sources", id, sources: result.sources });
      }
      this.post({ type: "done", id, answer: result.answer });
    } catch (err) {
      this.post({ type: "done", id, error: turn.cancel.token.isCancellationRequested ? "stopped" : errorText(err) });
    } finally {
      turn.cancel.dispose();
    }
  }

  /** Shows a finished answer (an explanation) as a turn, with the code it is about as a source. */
  showAnswer(title: string, answer: string, sources: Source[]): void {
    const started = this.begin(title);
    if (started) {
      this.post({ type: "sources", id: started.id, sources });
      this.post({ type: "done", id: started.id, answer });
    }
  }

  onChunk(chunk: ChatChunk): void {
    const id = String(chunk.id);
    if (!this.turns.has(id)) {
      return;
    }
    if (chunk.sources) {
      this.post({ type: "sources", id, sources: chunk.sources, promptTokens: chunk.prompt_tokens });
    }
    if (chunk.text) {
      this.post({ type: "chunk", id, text: chunk.text });
    }
    if (chunk.done) {
      this.post({ type: "done", id, answer: chunk.answer, error: chunk.error });
    }
  }

  private async open(id: string, path: string, line: number): Promise<void> {
    const folder = this.turns.get(id)?.folder ?? this.folder()?.uri;
    if (!folder || !isSafeRelativePath(path) || !Number.isInteger(line) || line < 1) {
      return;
    }
    const uri = vscode.Uri.joinPath(folder, ...path.split("/"));
    try {
      const doc = await vscode.workspace.openTextDocument(uri);
      const at = new vscode.Position(Math.min(line - 1, doc.lineCount - 1), 0);
      // next to the panel, not over it
      const column = this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
      const editor = await vscode.window.showTextDocument(doc, {
        viewColumn: column,
        selection: new vscode.Range(at, at),
        preserveFocus: false,
      });
      editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenter);
    } catch (err) {
      void vscode.window.showWarningMessage(`repolens: cannot open ${path}: ${errorText(err)}`);
    }
  }

  private html(context: vscode.ExtensionContext): string {
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, "dist", "chat.js"));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(context.extensionUri, "media", "chat.css"));
    const nonce = Array.from({ length: 32 }, () => Math.floor(Math.random() * 36).toString(36)).join("");
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>repolens: Ask</title>
</head>
<body>
<main id="log" aria-live="polite">
  <p class="hint">Ask about this repository. Answers cite <code>path:line</code>; click a citation or a source to open the file there.</p>
</main>
<form id="ask">
  <textarea id="question" rows="3" placeholder="How is a user's welcome mail composed?"></textarea>
  <div class="buttons"><button id="send" type="submit">Ask</button><button id="stop" type="button" class="secondary" disabled>Stop</button></div>
</form>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
}
