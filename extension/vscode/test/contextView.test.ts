import { describe, expect, it } from "vitest";
import { fenceLanguage, renderContext } from "../src/contextView";

describe("renderContext", () => {
  const ctx = {
    file: "register.py",
    line: 7,
    column: 10,
    template: "prefix-only",
    prompt: "# Path: app/models/repository.py\nclass UserRepository:\n\n# Path: register.py\n    repo.",
    snippets: [
      { path: "app/models/repository.py", start_line: 6, end_line: 20, text: "class UserRepository:", tokens: 5, source: "type", score: 10 },
      { path: "docs/x.md", start_line: 1, end_line: 3, text: "```py\ncode\n```", source: "similar" },
    ],
    context_tokens: 27,
    timings_ms: { total: 6.41 },
  };

  it("shows the snippets with why they were chosen, then the exact prompt", () => {
    const md = renderContext(ctx);
    expect(md).toContain("# repolens context: register.py:7:10");
    expect(md).toContain("Template **prefix-only**; 2 cross-file snippet(s), 27 context tokens, assembled in 6.4 ms.");
    expect(md).toContain("### 1. app/models/repository.py:6-20 (type, 5 tokens, score 10)");
    expect(md).toContain("```python\nclass UserRepository:\n```");
    expect(md).toContain("## The prompt, exactly as the model gets it\n\n```\n# Path: app/models/repository.py");
    expect(md).toContain("no fill-in-the-middle template");
  });

  it("fences text that has fences of its own with a longer fence", () => {
    expect(renderContext(ctx)).toContain("````markdown\n```py\ncode\n```\n````");
  });

  it("says when there is no cross-file context", () => {
    expect(renderContext({ ...ctx, template: "qwen2.5-coder", snippets: [] })).toContain("_None: the prompt has only the current file._");
    expect(renderContext({ ...ctx, template: "qwen2.5-coder" })).not.toContain("no fill-in-the-middle");
  });

  it("knows fence languages by extension", () => {
    expect(fenceLanguage("a/b.tsx")).toBe("tsx");
    expect(fenceLanguage("Makefile")).toBe("");
  });
});
