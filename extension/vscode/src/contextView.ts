// "What the model would see" at the cursor: the `repolens.context` JSON as Markdown. Pure.

export interface ContextSnippet {
  path: string;
  start_line: number;
  end_line: number;
  text: string;
  tokens?: number;
  source?: string;
  score?: number;
}

export interface ContextResult {
  file: string;
  line: number;
  column: number;
  template: string;
  prompt: string;
  prefix?: string;
  suffix?: string;
  snippets: ContextSnippet[];
  context_tokens?: number;
  timings_ms?: Record<string, number>;
}

/** A fence longer than any backtick run in `text`, so the text cannot close it. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return "`".repeat(longest + 1);
}

function block(text: string, language = ""): string {
  const f = fence(text);
  return `${f}${language}\n${text.replace(/\n$/, "")}\n${f}`;
}

const FENCE_LANGUAGES: Readonly<Record<string, string>> = {
  py: "python", pyi: "python", js: "javascript", jsx: "javascript", mjs: "javascript", cjs: "javascript",
  ts: "typescript", mts: "typescript", cts: "typescript", tsx: "tsx", go: "go", rs: "rust", java: "java",
  c: "c", h: "c", cc: "cpp", cpp: "cpp", cxx: "cpp", hpp: "cpp", hh: "cpp", md: "markdown",
};

/** The Markdown fence language for a file (empty when unknown). */
export function fenceLanguage(path: string): string {
  const ext = /\.([A-Za-z0-9+]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
  return FENCE_LANGUAGES[ext] ?? "";
}

export function renderContext(ctx: ContextResult): string {
  const out: string[] = [];
  out.push(`# repolens context: ${ctx.file}:${ctx.line}:${ctx.column}`);
  out.push("");
  const timing = ctx.timings_ms?.total !== undefined ? `, assembled in ${ctx.timings_ms.total.toFixed(1)} ms` : "";
  out.push(
    `Template **${ctx.template}**; ${ctx.snippets.length} cross-file snippet(s), ` +
      `${ctx.context_tokens ?? 0} context tokens${timing}.`,
  );
  if (ctx.template === "prefix-only") {
    out.push("");
    out.push(
      "> The model has no fill-in-the-middle template: it sees only the code before the cursor. " +
        "Use a code model trained for infilling (Qwen2.5-Coder, CodeGeeX4, StarCoder2, DeepSeek-Coder) " +
        "or set `repolens.model.template` if yours is served under another name.",
    );
  }
  out.push("");
  out.push("## Cross-file context");
  out.push("");
  if (ctx.snippets.length === 0) {
    out.push("_None: the prompt has only the current file._");
  }
  ctx.snippets.forEach((s, i) => {
    const why = [s.source, s.tokens !== undefined ? `${s.tokens} tokens` : "", s.score !== undefined ? `score ${s.score}` : ""]
      .filter(Boolean)
      .join(", ");
    out.push(`### ${i + 1}. ${s.path}:${s.start_line}-${s.end_line}${why ? ` (${why})` : ""}`);
    out.push("");
    out.push(block(s.text, fenceLanguage(s.path)));
    out.push("");
  });
  out.push("## The prompt, exactly as the model gets it");
  out.push("");
  out.push(block(ctx.prompt));
  out.push("");
  return out.join("\n");
}
