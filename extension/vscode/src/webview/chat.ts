// The chat panel's page: sends questions to the extension, renders streamed answers and
// the context's sources, turns `path:line` citations into links that open the file.
import { renderAnswer, renderSources } from "../citations";
import type { FromWebview, ToWebview } from "../chatPanel";

declare function acquireVsCodeApi(): { postMessage(msg: FromWebview): void };

const vscode = acquireVsCodeApi();
const log = document.getElementById("log") as HTMLElement;
const form = document.getElementById("ask") as HTMLFormElement;
const question = document.getElementById("question") as HTMLTextAreaElement;
const stop = document.getElementById("stop") as HTMLButtonElement;

interface TurnView {
  el: HTMLElement;
  sources: HTMLElement;
  answer: HTMLElement;
  text: string;
}
const turns = new Map<string, TurnView>();
let streaming: string | undefined;

function turnView(id: string, q: string, folder?: string): TurnView {
  const el = document.createElement("section");
  el.className = "turn";
  el.dataset.id = id;
  el.dataset.state = "streaming";
  el.dataset.chunks = "0";
  el.innerHTML = `<div class="question"></div><div class="sources"></div><div class="answer"><span class="thinking">thinking…</span></div>`;
  (el.querySelector(".question") as HTMLElement).textContent = folder ? `${q}  (${folder})` : q;
  log.appendChild(el);
  const view = { el, sources: el.querySelector(".sources") as HTMLElement, answer: el.querySelector(".answer") as HTMLElement, text: "" };
  turns.set(id, view);
  return view;
}

window.addEventListener("message", (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  if (msg.type === "turn") {
    turnView(msg.id, msg.question, msg.folder).el.scrollIntoView({ block: "end" });
    streaming = msg.id;
    stop.disabled = false;
    return;
  }
  const turn = turns.get(msg.id);
  if (!turn) {
    return;
  }
  if (msg.type === "sources") {
    const tokens = msg.promptTokens !== undefined ? `, ${msg.promptTokens} prompt tokens` : "";
    turn.sources.innerHTML = msg.sources.length
      ? `<span class="label">Sources (${msg.sources.length} snippets${tokens}):</span> ${renderSources(msg.sources)}`
      : `<span class="label">No sources found in the index.</span>`;
  } else if (msg.type === "chunk") {
    turn.text += msg.text;
    turn.el.dataset.chunks = String(Number(turn.el.dataset.chunks) + 1);
    turn.answer.innerHTML = renderAnswer(turn.text);
  } else if (msg.type === "done") {
    if (turn.el.dataset.state !== "streaming") {
      return; // the notification and the command's result both say done
    }
    if (msg.error) {
      turn.el.dataset.state = msg.error === "stopped" || msg.error === "cancelled" ? "stopped" : "error";
      turn.answer.innerHTML = renderAnswer(turn.text) + `<div class="error"></div>`;
      (turn.answer.querySelector(".error") as HTMLElement).textContent = msg.error;
    } else {
      turn.text = msg.answer ?? turn.text;
      turn.answer.innerHTML = turn.text.trim() ? renderAnswer(turn.text) : `<span class="empty">(the model gave no answer)</span>`;
      turn.el.dataset.state = "done";
    }
    if (streaming === msg.id) {
      streaming = undefined;
      stop.disabled = true;
    }
  }
});

log.addEventListener("click", (event) => {
  const link = (event.target as HTMLElement).closest("a.cite") as HTMLAnchorElement | null;
  if (!link) {
    return;
  }
  event.preventDefault();
  const id = (link.closest(".turn") as HTMLElement | null)?.dataset.id ?? "";
  vscode.postMessage({ type: "open", id, path: link.dataset.path ?? "", line: Number(link.dataset.line) });
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const q = question.value.trim();
  if (q) {
    vscode.postMessage({ type: "ask", question: q });
    question.value = "";
  }
});

question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});

stop.addEventListener("click", () => {
  if (streaming) {
    vscode.postMessage({ type: "cancel", id: streaming });
  }
});

vscode.postMessage({ type: "ready" });
