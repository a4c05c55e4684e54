// Drives the chat page served by `repolens serve` in Debian's headless Chromium:
// ask a question, wait for the streamed answer, click a path:line citation, check the file
// viewer shows that file with that line highlighted. Prints a JSON report; saves screenshots.
//
// usage: node chat_page.mjs URL QUESTION SCREENSHOT_DIR
import { chromium } from "playwright-core";

const [url, question, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const report = {};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", err => { report.pageError = String(err); });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("status").textContent === "connected");
  await page.fill("#question", question);
  await page.click("#send");
  // streaming: tokens arrive while the turn is still marked as streaming
  await page.waitForFunction(() => document.querySelector(".turn .answer")?.textContent.length > 0,
                             null, { timeout: 180000 });
  report.streamingSeen = await page.evaluate(() => document.querySelector(".turn").dataset.state === "streaming");
  await page.waitForFunction(() => ["done", "stopped", "error"].includes(document.querySelector(".turn").dataset.state),
                             null, { timeout: 300000 });
  report.state = await page.evaluate(() => document.querySelector(".turn").dataset.state);
  report.answer = await page.evaluate(() => document.querySelector(".turn .answer").textContent);
  report.citations = await page.evaluate(() => [...document.querySelectorAll(".turn a.cite")].map(a => `${a.dataset.path}:${a.dataset.line}`));
  await page.screenshot({ path: `${shots}/chat-answer.png` });
  if (report.citations.length) {
    await page.click(".turn a.cite");
    await page.waitForFunction(() => document.querySelector("#source .hit") !== null);
    report.viewerTitle = await page.textContent("#viewer-title");
    report.highlighted = await page.evaluate(() => {
      const hit = document.querySelector("#source .hit");
      return { line: Number(hit.dataset.n), text: hit.textContent };
    });
    await page.screenshot({ path: `${shots}/chat-citation.png` });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
