// Drives real VS Code (code-server) with the repolens extension installed, in Debian's headless
// Chromium: ghost text from repolens while typing in a Python file, Tab accepts it, Control+S
// saves it; "Show Context for the Cursor" shows the prompt; the chat panel answers a question
// about the fixture and a path:line source opens the right file at that line.
// Prints a JSON report on stdout; exits 1 when a step fails. Screenshots go to ARTIFACTS.
//
// usage: node e2e/drive.mjs URL WORKSPACE ARTIFACTS
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, workspace, artifacts] = process.argv.slice(2);
const QUESTION = "How is a user's welcome mail composed?";
const report = { steps: [] };
const started = Date.now();
const step = (name, extra = {}) => {
  report.steps.push({ name, seconds: Math.round((Date.now() - started) / 100) / 10, ...extra });
  console.error(`[e2e] ${name} ${JSON.stringify(extra)}`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
const shot = (name) => page.screenshot({ path: join(artifacts, name) });

async function statusText() {
  return page.evaluate(() => {
    const item = [...document.querySelectorAll(".statusbar-item")].find((e) => (e.id || "").endsWith("repolens.status"));
    return item ? item.textContent.trim() : "";
  });
}

async function runCommand(title) {
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget .quick-input-box input", { state: "visible" });
  await page.keyboard.type(title, { delay: 10 });
  await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${title}")`, { timeout: 15000 });
  await page.keyboard.press("Enter");
}

async function activeTab() {
  return page.evaluate(() => document.querySelector(".editor-group-container.active .tab.active")?.getAttribute("aria-label") ?? "");
}

async function cursorLine() {
  const text = await page.evaluate(() =>
    [...document.querySelectorAll(".statusbar-item")].map((e) => e.textContent ?? "").find((t) => /Ln \d+, Col \d+/.test(t)) ?? "");
  const m = /Ln (\d+), Col (\d+)/.exec(text);
  return m ? Number(m[1]) : -1;
}

let failed;
try {
  page.on("pageerror", (err) => { report.pageErrors = [...(report.pageErrors ?? []), String(err)].slice(-5); });
  await page.goto(`${base}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 120000 });
  step("workbench");

  // -- inline completion ---------------------------------------------------------------------
  const file = join(workspace, "register.py");
  await page.click('.explorer-folders-view .monaco-list-row:has-text("register.py")', { timeout: 60000 });
  await page.waitForSelector(".monaco-editor .view-lines", { timeout: 60000 });
  step("file opened");
  await page.waitForFunction(() => {
    const item = [...document.querySelectorAll(".statusbar-item")].find((e) => (e.id || "").endsWith("repolens.status"));
    return item && /repolens: (embedded|model down|not installed|failed|stopped)/.test(item.textContent ?? "");
  }, null, { timeout: 240000 });
  report.status = await statusText();
  step("server ready", { status: report.status });
  if (!report.status.includes("embedded")) {
    throw new Error(`the status bar says "${report.status}"`);
  }

  // complete `repo.` at the end of register.py (UserRepository is defined in another file)
  await page.click(".monaco-editor .view-lines");
  await page.keyboard.press("Control+End");
  // to the end of `    repo.`, then type the `.` again: the request comes at `repo.`
  await page.keyboard.press("Backspace");
  await page.keyboard.press("Backspace");
  let typed = "";
  let ghost = "";
  for (const key of [".", "a"]) {
    await page.keyboard.type(key, { delay: 80 });
    typed += key;
    try {
      await page.waitForSelector(".monaco-editor .ghost-text-decoration", { timeout: 90000 });
      ghost = await page.evaluate(() =>
        [...document.querySelectorAll(".monaco-editor .ghost-text-decoration")].map((e) => e.textContent).join(""));
      break;
    } catch {
      step("no ghost text yet", { typed });
    }
  }
  if (!ghost) {
    throw new Error("no ghost text appeared");
  }
  ghost = ghost.replace(/\u00a0/g, " ");
  report.ghostText = ghost;
  await shot("vscode-suggestion.png");
  step("ghost text", { typed, ghost });
  const expected = `repo${typed}${ghost}`.trimEnd();
  await page.keyboard.press("Tab");
  await page.waitForFunction((text) => [...document.querySelectorAll(".monaco-editor .view-line")]
    .some((line) => (line.textContent ?? "").replace(/\u00a0/g, " ").includes(text)), expected, { timeout: 15000 });
  step("accepted");
  await page.keyboard.press("Escape"); // dismiss the next suggestion, if any
  await page.keyboard.press("Control+S");
  const deadline = Date.now() + 20000;
  let saved = readFileSync(file, "utf8");
  while (!saved.includes(expected) && Date.now() < deadline) {
    await page.waitForTimeout(250);
    saved = readFileSync(file, "utf8");
  }
  report.savedTail = saved.trimEnd().split("\n").slice(-2).join("\n");
  step("saved", { tail: report.savedTail });
  if (!saved.includes(expected)) {
    throw new Error(`the file on disk does not have the suggestion ${JSON.stringify(expected)}: ${JSON.stringify(report.savedTail)}`);
  }
  await shot("vscode-accepted.png");

  // -- what the model sees ---------------------------------------------------------------------
  await runCommand("repolens: Show Context for the Cursor");
  await page.waitForFunction(() => (document.querySelector(".editor-group-container.active .tab.active")?.getAttribute("aria-label") ?? "").includes("register.py-L"),
                             null, { timeout: 60000 });
  await page.waitForFunction(() => (document.querySelector(".editor-group-container.active .view-lines")?.textContent ?? "")
    .replace(/\u00a0/g, " ").includes("repolens context: register."), null, { timeout: 30000 });
  report.contextTab = await activeTab();
  await shot("vscode-context.png");
  step("context shown", { tab: report.contextTab });

  await runCommand("View: Close All Editors");

  // -- the chat panel --------------------------------------------------------------------------
  await runCommand("repolens: Ask the Repository");
  const chat = page.frameLocator("iframe.webview.ready").frameLocator("#active-frame");
  await chat.locator("#question").waitFor({ timeout: 60000 });
  await chat.locator("#question").fill(QUESTION);
  await chat.locator("#question").press("Enter");
  step("question sent");
  await chat.locator(".turn .sources a.cite").first().waitFor({ timeout: 120000 });
  step("sources shown");
  await chat.locator('.turn[data-state="done"], .turn[data-state="error"]').first().waitFor({ timeout: 300000 });
  report.chatState = await chat.locator(".turn").first().getAttribute("data-state");
  report.chunks = Number(await chat.locator(".turn").first().getAttribute("data-chunks"));
  report.answer = await chat.locator(".turn .answer").first().textContent();
  report.sources = await chat.locator(".turn .sources a.cite").evaluateAll((links) => links.map((a) => `${a.dataset.path}:${a.dataset.line}`));
  report.answerCitations = await chat.locator(".turn .answer a.cite").evaluateAll((links) => links.map((a) => `${a.dataset.path}:${a.dataset.line}`));
  await shot("vscode-chat.png");
  step("answered", { state: report.chatState, chunks: report.chunks, answer: report.answer, sources: report.sources });
  if (report.chatState !== "done" || !report.answer.trim()) {
    throw new Error(`the chat turn ended as ${report.chatState}: ${report.answer}`);
  }
  if (!(report.chunks > 1)) {
    throw new Error(`the answer was not streamed (${report.chunks} chunks)`);
  }
  const target = report.sources.find((s) => s.startsWith("app/services/mail.py:")) ?? report.sources[0];
  if (!target) {
    throw new Error("the answer has no sources");
  }
  const [path, line] = target.split(":");
  await chat.locator(`.turn .sources a.cite[data-path="${path}"][data-line="${line}"]`).first().click();
  const name = path.split("/").pop();
  await page.waitForFunction((n) => (document.querySelector(".editor-group-container.active .tab.active")?.getAttribute("aria-label") ?? "").startsWith(n),
                             name, { timeout: 30000 });
  await page.waitForTimeout(500);
  report.opened = { tab: await activeTab(), line: await cursorLine(), expected: target };
  await shot("vscode-citation.png");
  step("citation opened", report.opened);
  if (report.opened.line !== Number(line)) {
    throw new Error(`the citation ${target} opened line ${report.opened.line}`);
  }

  // -- explain a selection: the answer's source opens at its first line --------------------------
  await page.click(".editor-group-container.active .monaco-editor .view-lines");
  await page.keyboard.press("Control+G");
  await page.keyboard.type("5");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Shift+ArrowDown");
  }
  await runCommand("repolens: Explain the Selection");
  const explained = chat.locator(".turn").nth(1);
  await explained.locator('.sources a.cite').first().waitFor({ timeout: 180000 });
  await chat.locator('.turn[data-state="done"]').nth(1).waitFor({ timeout: 180000 });
  report.explainQuestion = await explained.locator(".question").textContent();
  report.explanation = await explained.locator(".answer").textContent();
  step("explained", { question: report.explainQuestion, answer: report.explanation });
  const link = explained.locator(".sources a.cite").first();
  const explainedAt = Number(await link.getAttribute("data-line"));
  await link.click(); // the cursor was at the selection's end, line 8
  await page.waitForFunction((want) => {
    const text = [...document.querySelectorAll(".statusbar-item")].map((e) => e.textContent ?? "").find((t) => /Ln \d+, Col \d+/.test(t)) ?? "";
    return text.includes(`Ln ${want},`);
  }, explainedAt, { timeout: 15000 }).catch(() => {});
  report.explainOpened = { tab: await activeTab(), line: await cursorLine(), expected: explainedAt };
  await shot("vscode-explain.png");
  step("explanation source opened", report.explainOpened);
  if (!report.explainQuestion.includes("app/services/mail.py:5-7") || explainedAt !== 5 || report.explainOpened.line !== 5) {
    throw new Error(`explain: ${JSON.stringify({ q: report.explainQuestion, explainedAt, opened: report.explainOpened })}`);
  }

  // -- a commit message for the staged change, into the Source Control input box ----------------
  execFileSync("git", ["-C", workspace, "add", "register.py"]);
  await page.keyboard.press("Control+Shift+G");
  await page.waitForSelector(".scm-view .scm-editor .monaco-editor", { timeout: 30000 });
  await runCommand("repolens: Generate a Commit Message");
  await page.waitForFunction(() => (document.querySelector(".scm-view .scm-editor .view-lines")?.textContent ?? "").replace(/\u00a0/g, " ").trim().length > 0,
                             null, { timeout: 180000 });
  report.commitMessage = await page.evaluate(() => [...document.querySelectorAll(".scm-view .scm-editor .view-line")]
    .map((l) => (l.textContent ?? "").replace(/\u00a0/g, " ")).join("\n"));
  await shot("vscode-commit-message.png");
  step("commit message", { message: report.commitMessage });
} catch (err) {
  failed = err;
  report.error = String(err?.message ?? err);
  await shot("vscode-failure.png").catch(() => {});
} finally {
  report.seconds = Math.round((Date.now() - started) / 1000);
  await browser.close();
}
console.log(JSON.stringify(report));
process.exit(failed ? 1 : 0);
