import { describe, expect, it } from "vitest";
import { type Environment, candidates, discover, findOnPath, pipInstallCommand } from "../src/interpreter";

function env(files: string[], overrides: Partial<Environment> = {}): Environment {
  const set = new Set(files);
  return {
    platform: "linux",
    env: { PATH: "/home/u/.local/bin:/usr/bin" },
    folders: ["/w/proj"],
    trusted: true,
    isFile: (f) => set.has(f),
    ...overrides,
  };
}
const none = { command: [], python: "" };

describe("candidates", () => {
  it("uses a configured command as it is, and nothing else", () => {
    expect(candidates({ command: ["/opt/rl/bin/repolens", "lsp", "-v"], python: "/x/python" }, env(["/w/proj/.venv/bin/python"]))).toEqual([
      { command: "/opt/rl/bin/repolens", args: ["lsp", "-v"], origin: "setting repolens.server.command" },
    ]);
  });

  it("runs a configured interpreter with -m repolens.cli lsp", () => {
    expect(candidates({ command: [], python: " /x/python " }, env([]))).toEqual([
      { command: "/x/python", args: ["-m", "repolens.cli", "lsp"], python: "/x/python", origin: "setting repolens.server.python" },
    ]);
  });

  it("looks in the project's virtualenvs, then the active one, then PATH", () => {
    const found = candidates(
      none,
      env(["/w/proj/.venv/bin/python", "/w/proj/venv/bin/python", "/envs/a/bin/python", "/usr/bin/repolens", "/usr/bin/python3", "/usr/bin/python"], {
        env: { PATH: "/home/u/.local/bin:/usr/bin", VIRTUAL_ENV: "/envs/a" },
      }),
    );
    expect(found.map((c) => [c.command, c.origin])).toEqual([
      ["/w/proj/.venv/bin/python", "virtualenv /w/proj/.venv"],
      ["/w/proj/venv/bin/python", "virtualenv /w/proj/venv"],
      ["/envs/a/bin/python", "$VIRTUAL_ENV"],
      ["/usr/bin/repolens", "repolens on PATH"],
      ["/usr/bin/python3", "python3 on PATH"],
      ["/usr/bin/python", "python on PATH"],
    ]);
    expect(found[3].args).toEqual(["lsp"]);
    expect(found[3].python).toBeUndefined();
  });

  it("does not run an untrusted workspace's virtualenv", () => {
    const found = candidates(none, env(["/w/proj/.venv/bin/python", "/usr/bin/python3"], { trusted: false }));
    expect(found.map((c) => c.command)).toEqual(["/usr/bin/python3"]);
  });

  it("knows Windows' layout", () => {
    const files = ["C:\\w\\proj\\.venv\\Scripts\\python.exe", "C:\\Python311\\python.exe"];
    const found = candidates(none, env(files, { platform: "win32", folders: ["C:\\w\\proj"], env: { Path: "C:\\Python311;C:\\Windows" } }));
    expect(found.map((c) => c.command)).toEqual(files);
  });
});

describe("findOnPath", () => {
  it("takes the first directory that has it and skips empty entries", () => {
    const e = env(["/usr/bin/python3", "/opt/bin/python3"], { env: { PATH: "::/usr/bin:/opt/bin" } });
    expect(findOnPath("python3", e)).toBe("/usr/bin/python3");
    expect(findOnPath("repolens", e)).toBeUndefined();
  });
});

describe("discover", () => {
  it("takes the first interpreter with repolens", async () => {
    const found = candidates(none, env(["/w/proj/.venv/bin/python", "/usr/bin/python3"]));
    const probed: string[] = [];
    const result = await discover(found, async (python) => {
      probed.push(python);
      return python === "/usr/bin/python3" ? { ok: true, version: "0.1.0" } : { ok: false, error: "ModuleNotFoundError: No module named 'repolens'" };
    });
    expect(probed).toEqual(["/w/proj/.venv/bin/python", "/usr/bin/python3"]);
    expect(result).toEqual({ ok: true, command: "/usr/bin/python3", args: ["-m", "repolens.cli", "lsp"], origin: "python3 on PATH", version: "0.1.0" });
  });

  it("takes a repolens script without probing", async () => {
    const result = await discover(candidates(none, env(["/usr/bin/repolens", "/usr/bin/python3"])), async () => {
      throw new Error("not probed");
    });
    expect(result).toMatchObject({ ok: true, command: "/usr/bin/repolens", args: ["lsp"] });
  });

  it("says how to install repolens into the project's virtualenv when it is missing", async () => {
    const result = await discover(candidates(none, env(["/w/proj/.venv/bin/python", "/usr/bin/python3"])), async () => ({ ok: false }));
    expect(result).toEqual({
      ok: false,
      python: "/w/proj/.venv/bin/python",
      install: "/w/proj/.venv/bin/python -m pip install repolens",
      tried: [
        "/w/proj/.venv/bin/python (virtualenv /w/proj/.venv): repolens is not installed",
        "/usr/bin/python3 (python3 on PATH): repolens is not installed",
      ],
    });
  });

  it("falls back to python3 when there is no interpreter at all", async () => {
    const result = await discover(candidates(none, env([])), async () => ({ ok: true }));
    expect(result).toMatchObject({ ok: false, python: "python3", install: "python3 -m pip install repolens" });
  });
});

describe("pipInstallCommand", () => {
  it("quotes interpreters with spaces", () => {
    expect(pipInstallCommand("/home/me/my proj/.venv/bin/python", "linux")).toBe("'/home/me/my proj/.venv/bin/python' -m pip install repolens");
    expect(pipInstallCommand("C:\\Program Files\\Python\\python.exe", "win32")).toBe('& "C:\\Program Files\\Python\\python.exe" -m pip install repolens');
  });
});
