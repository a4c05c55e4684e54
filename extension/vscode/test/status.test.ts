import { describe, expect, it } from "vitest";
import { type FolderStatus, describeStatus, modelLabel } from "../src/status";

const folder = (extra: Partial<FolderStatus> = {}): FolderStatus => ({
  root: "/w/proj",
  indexing: false,
  indexed: true,
  index: { files: 11, symbols: 22 },
  model: { backend: "embedded", loaded: true, name: "SmolLM2-135M-Instruct.Q4_1.gguf" },
  settings: { model: { backend: "embedded" } },
  ...extra,
});

describe("modelLabel", () => {
  it("says embedded, the server's address, or down", () => {
    expect(modelLabel(folder())).toBe("embedded");
    expect(modelLabel(folder({ settings: { model: { backend: "openai", url: "http://127.0.0.1:8000/v1" } } }))).toBe("127.0.0.1:8000");
    expect(modelLabel(folder({ model_problem: "connection refused" }))).toBe("down");
  });
});

describe("describeStatus", () => {
  it("shows the model when all is well", () => {
    const view = describeStatus({ version: "0.1.0", folders: [folder()] });
    expect(view).toMatchObject({ text: "$(check) repolens: embedded", level: "ok" });
    expect(view.tooltip).toContain("proj: 11 files, 22 symbols; model embedded (SmolLM2-135M-Instruct.Q4_1.gguf)");
  });

  it("shows running progress with its percentage", () => {
    const view = describeStatus({ folders: [folder({ indexing: true })] }, [{ title: "repolens: indexing proj", message: "40/100 files", percentage: 40 }]);
    expect(view).toMatchObject({ text: "$(sync~spin) repolens: indexing proj 40%", level: "busy" });
    expect(view.tooltip).toContain("repolens: indexing proj: 40/100 files");
  });

  it("falls back to the index counts while indexing without progress", () => {
    expect(describeStatus({ folders: [folder({ indexing: true, index_progress: { done: 3, total: 12 } })] }).text).toBe("$(sync~spin) repolens: indexing 25%");
  });

  it("is busy until the first index update has finished", () => {
    expect(describeStatus({ folders: [folder({ indexed: false, index_progress: { done: 0, total: 0 } })] })).toMatchObject({
      text: "$(sync~spin) repolens: indexing",
      level: "busy",
    });
  });

  it("puts errors first, with a pointer to the log", () => {
    const view = describeStatus({ folders: [folder({ model_problem: "cannot reach http://127.0.0.1:8000/v1" })] }, [{ title: "indexing" }]);
    expect(view).toMatchObject({ text: "$(error) repolens: model down", level: "error" });
    expect(view.tooltip).toContain("cannot reach http://127.0.0.1:8000/v1");
    expect(view.tooltip).toContain("Click to open the log.");
    expect(describeStatus({ folders: [folder({ index_error: "disk full" })] }).text).toBe("$(error) repolens: index failed");
  });

  it("says when no folder is open", () => {
    expect(describeStatus({ folders: [] }).level).toBe("off");
    expect(describeStatus(undefined).level).toBe("off");
  });
});
