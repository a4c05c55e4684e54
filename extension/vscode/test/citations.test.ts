import { describe, expect, it } from "vitest";
import { findCitations, isSafeRelativePath, renderAnswer, renderSources, sourceLabel } from "../src/citations";

describe("findCitations", () => {
  it("finds path:line and path:line-line", () => {
    const text = "See app/services/mail.py:5 and (app/util.py:3-9); also `main.py:12`.";
    expect(findCitations(text).map((c) => [c.path, c.line, c.endLine, text.slice(c.start, c.end)])).toEqual([
      ["app/services/mail.py", 5, 5, "app/services/mail.py:5"],
      ["app/util.py", 3, 9, "app/util.py:3-9"],
      ["main.py", 12, 12, "main.py:12"],
    ]);
  });

  it("ignores addresses, URLs, paths leaving the repository and line 0", () => {
    const text = "http://127.0.0.1:8080/v1 at 127.0.0.1:8080, ../etc/passwd.txt:1, /abs/file.py:3, x.py:0, a/b:12";
    expect(findCitations(text)).toEqual([]);
  });
});

describe("isSafeRelativePath", () => {
  it("accepts repository paths only", () => {
    expect(isSafeRelativePath("app/models/user.py")).toBe(true);
    expect(isSafeRelativePath(".github/workflows/ci.yml")).toBe(true);
    for (const bad of ["", "/etc/passwd", "../x.py", "a/../../x.py", "C:/x.py", "a\\b.py", "a//b.py"]) {
      expect(isSafeRelativePath(bad)).toBe(false);
    }
  });
});

describe("renderAnswer", () => {
  it("escapes model output before adding links", () => {
    const html = renderAnswer('<img src=x onerror="alert(1)"> see app/x.py:2');
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(html).toContain('<a class="cite" href="#" data-path="app/x.py" data-line="2">app/x.py:2</a>');
  });

  it("renders code blocks verbatim (no links inside) and inline citations in backticks as links", () => {
    const html = renderAnswer("Use `send_welcome` from `app/services/mail.py:5`:\n```python\nx = 'a.py:1' < 2\n```\ndone");
    expect(html).toContain("<code>send_welcome</code>");
    expect(html).toContain('data-path="app/services/mail.py" data-line="5"');
    expect(html).toContain("<pre>x = &#39;a.py:1&#39; &lt; 2\n</pre>");
    expect(html.match(/class="cite"/g)).toHaveLength(1);
  });

  it("renders an unfinished fence while streaming", () => {
    expect(renderAnswer("```py\ndef f(")).toBe("<pre>def f(</pre>");
  });
});

describe("sources", () => {
  it("labels spans and links each distinct one", () => {
    expect(sourceLabel({ path: "a.py", start_line: 3, end_line: 3 })).toBe("a.py:3");
    expect(sourceLabel({ path: "a.py", start_line: 3, end_line: 8 })).toBe("a.py:3-8");
    const html = renderSources([
      { path: "app/services/mail.py", start_line: 5, end_line: 7 },
      { path: "app/services/mail.py", start_line: 5, end_line: 7 },
      { path: "../secret.py", start_line: 1, end_line: 2 },
      { path: "app/util.py", start_line: 1, end_line: 4 },
    ]);
    expect(html).toBe(
      '<a class="cite" href="#" data-path="app/services/mail.py" data-line="5">app/services/mail.py:5-7</a> ' +
        '<a class="cite" href="#" data-path="app/util.py" data-line="1">app/util.py:1-4</a>',
    );
  });

  it("says how many were left out", () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}.py`, start_line: 1, end_line: 1 }));
    expect(renderSources(many, 2)).toMatch(/\+3 more<\/span>$/);
  });
});
