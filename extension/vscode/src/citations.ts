// `path:line` citations in model answers and the context's sources, rendered as links that
// open the file at that line. Pure; shared by the extension and the chat webview.

export interface Citation {
  /** Where the citation starts and ends in the text. */
  start: number;
  end: number;
  path: string;
  line: number;
  endLine: number;
}

/** A context snippet as `repolens/chatChunk` reports it. */
export interface Source {
  path: string;
  start_line: number;
  end_line: number;
  source?: string;
  score?: number;
}

// A path with an extension, then :LINE or :LINE-LINE; not inside a longer word or URL.
const CITATION = /(^|[\s(\[`>"'])((?:[\w.-]+\/)*[\w.-]*\w\.[A-Za-z]\w*):(\d+)(?:-(\d+))?/g;

/** The `path:line` citations in `text`, in order. */
export function findCitations(text: string): Citation[] {
  const out: Citation[] = [];
  for (const m of text.matchAll(CITATION)) {
    const start = (m.index ?? 0) + m[1].length;
    const line = Number(m[3]);
    const endLine = m[4] !== undefined ? Number(m[4]) : line;
    if (line < 1 || !isSafeRelativePath(m[2])) {
      continue;
    }
    out.push({ start, end: start + m[0].length - m[1].length, path: m[2], line, endLine: Math.max(line, endLine) });
  }
  return out;
}

/** A repository-relative path that cannot leave the repository (no `..`, not absolute). */
export function isSafeRelativePath(p: string): boolean {
  if (!p || p.startsWith("/") || p.startsWith("\\") || /^[a-zA-Z]:/.test(p) || p.includes("\\")) {
    return false;
  }
  return p.split("/").every((part) => part !== ".." && part !== "");
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}

function citeLink(label: string, path: string, line: number): string {
  return `<a class="cite" href="#" data-path="${escapeHtml(path)}" data-line="${line}">${escapeHtml(label)}</a>`;
}

function renderProse(text: string): string {
  let html = "";
  let at = 0;
  for (const c of findCitations(text)) {
    html += renderInline(text.slice(at, c.start));
    html += citeLink(text.slice(c.start, c.end), c.path, c.line);
    at = c.end;
  }
  return html + renderInline(text.slice(at));
}

function renderInline(text: string): string {
  return escapeHtml(text).replace(/`([^`\n]+)`/g, "<code>$1</code>");
}

/**
 * An answer as HTML: escaped first (model output never becomes markup), fenced code blocks
 * as `<pre>`, inline code, and `path:line` citations as links. An unfinished fence (while
 * streaming) renders as code too.
 */
export function renderAnswer(text: string): string {
  const parts = text.split("```");
  return parts
    .map((part, i) => {
      if (i % 2 === 1) {
        return `<pre>${escapeHtml(part.replace(/^[\w+#.-]*\n/, ""))}</pre>`;
      }
      // citations inside inline code (`app/x.py:3`) are links too
      return renderProse(part.replace(/`([\w./-]+\.[A-Za-z]\w*:\d+(?:-\d+)?)`/g, "$1"));
    })
    .join("");
}

/** `path:start-end` (or `path:line` for one line). */
export function sourceLabel(s: Source): string {
  return s.end_line > s.start_line ? `${s.path}:${s.start_line}-${s.end_line}` : `${s.path}:${s.start_line}`;
}

/** The sources as links, one per distinct span, the first `limit` of them. */
export function renderSources(sources: readonly Source[], limit = 12): string {
  const seen = new Set<string>();
  const links: string[] = [];
  for (const s of sources) {
    const label = sourceLabel(s);
    if (seen.has(label) || !isSafeRelativePath(s.path) || s.start_line < 1) {
      continue;
    }
    seen.add(label);
    if (links.length < limit) {
      links.push(citeLink(label, s.path, s.start_line));
    }
  }
  const more = seen.size > links.length ? ` <span class="more">+${seen.size - links.length} more</span>` : "";
  return links.join(" ") + more;
}
