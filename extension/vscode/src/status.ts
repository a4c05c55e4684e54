// What the status bar item says: indexing progress (from `$/progress`), the model's state
// (embedded / the server's address / down) and errors. Pure: from `repolens.status` JSON and
// the progress sequences running now.

export interface FolderStatus {
  root: string;
  uri?: string;
  indexing?: boolean;
  indexed?: boolean;
  index?: { files?: number; symbols?: number; chunks?: number };
  index_progress?: { done: number; total: number };
  index_error?: string | null;
  model_problem?: string | null;
  model?: { backend?: string; loaded?: boolean; name?: string; error?: string };
  settings?: { model?: { backend?: string; url?: string | null; template?: string } };
}

export interface ServerStatus {
  version?: string;
  folders: FolderStatus[];
}

/** One running `$/progress` sequence. */
export interface Progress {
  title: string;
  message?: string;
  percentage?: number;
}

export type Level = "ok" | "busy" | "error" | "off";

export interface StatusView {
  text: string;
  tooltip: string;
  level: Level;
}

function basename(p: string): string {
  return p.replace(/[\\/]+$/, "").split(/[\\/]/).pop() ?? p;
}

/** `embedded`, the model server's `host:port`, or `down`. */
export function modelLabel(folder: FolderStatus): string {
  if (folder.model_problem || folder.model?.error) {
    return "down";
  }
  const backend = folder.settings?.model?.backend ?? folder.model?.backend ?? "embedded";
  if (backend === "embedded") {
    return "embedded";
  }
  const url = folder.settings?.model?.url;
  if (!url) {
    return backend;
  }
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

function folderLine(f: FolderStatus): string {
  const name = basename(f.root);
  const index = f.index_error
    ? `index failed: ${f.index_error}`
    : f.indexing
      ? `indexing ${f.index_progress?.done ?? 0}/${f.index_progress?.total ?? "?"} files`
      : `${f.index?.files ?? 0} files, ${f.index?.symbols ?? 0} symbols`;
  const model = f.model?.name ? `${modelLabel(f)} (${f.model.name})` : modelLabel(f);
  const problem = f.model_problem ?? f.model?.error;
  return `${name}: ${index}; model ${model}${problem ? ` — ${problem}` : ""}`;
}

export function describeStatus(status: ServerStatus | undefined, progress: readonly Progress[] = []): StatusView {
  const folders = status?.folders ?? [];
  const lines = folders.map(folderLine);
  const version = status?.version ? `repolens ${status.version}` : "repolens";
  const troubled = folders.find((f) => f.model_problem || f.model?.error || f.index_error);
  if (troubled) {
    const what = troubled.index_error ? "index failed" : "model down";
    return {
      text: `$(error) repolens: ${what}`,
      tooltip: [version, ...lines, "", "Click to open the log."].join("\n"),
      level: "error",
    };
  }
  const running = progress[progress.length - 1];
  if (running) {
    const pct = running.percentage !== undefined ? ` ${Math.round(running.percentage)}%` : "";
    const title = running.title.replace(/^repolens:\s*/, "");
    return {
      text: `$(sync~spin) repolens: ${title}${pct}`,
      tooltip: [version, `${running.title}${running.message ? `: ${running.message}` : ""}`, ...lines].join("\n"),
      level: "busy",
    };
  }
  // not yet indexed (the first update is about to start) counts as indexing
  const indexing = folders.find((f) => f.indexing || f.indexed === false);
  if (indexing) {
    const { done = 0, total = 0 } = indexing.index_progress ?? {};
    const pct = total > 0 ? ` ${Math.floor((100 * done) / total)}%` : "";
    return { text: `$(sync~spin) repolens: indexing${pct}`, tooltip: [version, ...lines].join("\n"), level: "busy" };
  }
  if (folders.length === 0) {
    return { text: "$(circle-outline) repolens", tooltip: `${version}: no workspace folder open`, level: "off" };
  }
  const labels = [...new Set(folders.map(modelLabel))];
  return {
    text: `$(check) repolens: ${labels.join(", ")}`,
    tooltip: [version, ...lines, "", "Click for details."].join("\n"),
    level: "ok",
  };
}
