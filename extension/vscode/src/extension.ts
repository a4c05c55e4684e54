// The extension: starts the language server, keeps the status bar item current, registers the
// commands. Features live in their own modules (client, chatPanel, actions, status).
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  type FeatureState,
  type LanguageClient,
  MessageType,
  ShowMessageNotification,
  type StaticFeature,
  State,
  WorkDoneProgress,
  WorkDoneProgressCreateRequest,
  type ProgressToken,
} from "vscode-languageclient/node";
import { registerActions } from "./actions";
import { ChatPanel, type ChatChunk } from "./chatPanel";
import { SECTION, createClient, findServer, serverSettings } from "./client";
import { RESTART_KEYS } from "./settings";
import { describeStatus, type Progress, type ServerStatus } from "./status";

const STATUS_POLL_MS = 15_000;

/** Shows the server's `$/progress` in our status bar item instead of a separate indicator. */
class ProgressTracker implements StaticFeature {
  private readonly running = new Map<ProgressToken, Progress>();

  constructor(
    private readonly client: LanguageClient,
    private readonly changed: (running: Progress[]) => void,
  ) {}

  getState(): FeatureState {
    return { kind: "static" };
  }

  fillClientCapabilities(capabilities: { window?: { workDoneProgress?: boolean } }): void {
    (capabilities.window ??= {}).workDoneProgress = true;
  }

  initialize(): void {
    // registered after the client's own progress feature, so this handler is the one used
    this.client.onRequest(WorkDoneProgressCreateRequest.type, ({ token }) => {
      const listener = this.client.onProgress(WorkDoneProgress.type, token, (value) => {
        if (value.kind === "begin") {
          this.running.set(token, { title: value.title, message: value.message, percentage: value.percentage });
        } else if (value.kind === "report") {
          const now = this.running.get(token);
          if (now) {
            this.running.set(token, { ...now, message: value.message ?? now.message, percentage: value.percentage ?? now.percentage });
          }
        } else {
          this.running.delete(token);
          listener.dispose();
        }
        this.changed([...this.running.values()]);
      });
    });
  }

  clear(): void {
    this.running.clear();
  }
}

export class Repolens implements vscode.Disposable {
  client: LanguageClient | undefined;
  readonly output = vscode.window.createOutputChannel("repolens", { log: true });
  private readonly item = vscode.window.createStatusBarItem("repolens.status", vscode.StatusBarAlignment.Right, 100);
  private progress: Progress[] = [];
  private status: ServerStatus | undefined;
  private poll: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.item.name = "repolens";
    this.show("$(sync~spin) repolens: starting", "Starting the repolens language server", "busy");
    this.item.show();
  }

  private show(text: string, tooltip: string, level: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.backgroundColor = level === "error" ? new vscode.ThemeColor("statusBarItem.errorBackground") : undefined;
    this.item.command = level === "error" ? "repolens.showOutput" : "repolens.showStatus";
  }

  private render(): void {
    const view = describeStatus(this.status, this.progress);
    this.show(view.text, view.tooltip, view.level);
  }

  start(): Promise<void> {
    this.starting ??= this.doStart().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const cwd = this.context.extensionPath;
    const found = await findServer(cwd);
    if (!found.ok) {
      this.output.error(`repolens is not installed. Tried:\n  ${found.tried.join("\n  ") || "no Python interpreter found"}`);
      this.show("$(error) repolens: not installed", `Install it with: ${found.install}\nClick to open the log.`, "error");
      void this.offerInstall(found.install, found.python);
      return;
    }
    this.output.info(`starting ${found.command} ${found.args.join(" ")} (${found.origin}${found.version ? `, repolens ${found.version}` : ""})`);
    const client = createClient(found, cwd, this.output);
    client.registerFeature(
      new ProgressTracker(client, (running) => {
        this.progress = running;
        this.render();
        if (running.length === 0) {
          void this.refresh();
        }
      }),
    );
    client.onNotification(ShowMessageNotification.type, ({ type, message }) => {
      if (type === MessageType.Error) {
        void vscode.window.showErrorMessage(message, "Show Log").then((pick) => pick && this.output.show());
        void this.refresh();
      } else if (type === MessageType.Warning) {
        void vscode.window.showWarningMessage(message);
      } else {
        void vscode.window.showInformationMessage(message);
      }
    });
    client.onNotification("repolens/chatChunk", (chunk: ChatChunk) => ChatPanel.current?.onChunk(chunk));
    client.onDidChangeState(({ newState }) => {
      void vscode.commands.executeCommand("setContext", "repolens.running", newState === State.Running);
      if (newState === State.Stopped) {
        this.show("$(error) repolens: stopped", "The language server stopped. Click to open the log.", "error");
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.output.error(`the language server did not start: ${String(err)}`);
      this.show("$(error) repolens: failed to start", `${String(err)}\nClick to open the log.`, "error");
      const pick = await vscode.window.showErrorMessage(`repolens: the language server did not start (${found.command}).`, "Show Log");
      if (pick) {
        this.output.show();
      }
      return;
    }
    this.poll = setInterval(() => void this.refresh(), STATUS_POLL_MS);
    await this.refresh();
  }

  private async offerInstall(install: string, python: string): Promise<void> {
    const pick = await vscode.window.showErrorMessage(
      `repolens is not installed for ${python}. Install it with: ${install}`,
      "Install in Terminal",
      "Copy Command",
      "Choose Interpreter",
    );
    if (pick === "Install in Terminal") {
      const terminal = vscode.window.createTerminal("repolens install");
      terminal.show();
      terminal.sendText(install);
      const again = await vscode.window.showInformationMessage("When the install has finished, start repolens.", "Start repolens");
      if (again) {
        await this.restart();
      }
    } else if (pick === "Copy Command") {
      await vscode.env.clipboard.writeText(install);
    } else if (pick === "Choose Interpreter") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "repolens.server");
    }
  }

  async refresh(): Promise<void> {
    if (this.client?.state !== State.Running) {
      return;
    }
    try {
      this.status = await this.execute<ServerStatus>("repolens.status", {});
    } catch (err) {
      this.output.warn(`repolens.status failed: ${String(err)}`);
    }
    this.render();
  }

  /** Runs a server command (`workspace/executeCommand`); cancelling the token cancels it. */
  async execute<T>(command: string, args: object, token?: vscode.CancellationToken): Promise<T> {
    if (this.client?.state !== State.Running) {
      await this.start();
    }
    const client = this.client;
    if (client?.state !== State.Running) {
      throw new Error("the repolens language server is not running (see the log)");
    }
    return client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [args] }, token) as Promise<T>;
  }

  async stop(): Promise<void> {
    clearInterval(this.poll);
    const client = this.client;
    this.client = undefined;
    this.status = undefined;
    this.progress = [];
    if (client) {
      try {
        await client.dispose(5_000);
      } catch (err) {
        this.output.warn(`stopping the language server: ${String(err)}`);
      }
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    this.show("$(sync~spin) repolens: starting", "Starting the repolens language server", "busy");
    await this.start();
  }

  async settingsChanged(e: vscode.ConfigurationChangeEvent): Promise<void> {
    if (RESTART_KEYS.some((key) => e.affectsConfiguration(`${SECTION}.${key}`))) {
      await this.restart();
    } else if (e.affectsConfiguration(SECTION) && this.client?.state === State.Running) {
      await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { [SECTION]: serverSettings() } });
    }
  }

  dispose(): void {
    void this.stop();
    this.item.dispose();
    this.output.dispose();
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<Repolens> {
  const repolens = new Repolens(context);
  context.subscriptions.push(
    repolens,
    vscode.workspace.onDidChangeConfiguration((e) => repolens.settingsChanged(e)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => repolens.restart()),
    vscode.commands.registerCommand("repolens.showOutput", () => repolens.output.show()),
    vscode.commands.registerCommand("repolens.restartServer", () => repolens.restart()),
    vscode.commands.registerCommand("repolens.askRepository", (question?: string) => ChatPanel.show(context, repolens, question)),
  );
  registerActions(context, repolens);
  void repolens.start();
  return repolens;
}

export function deactivate(): void {}
